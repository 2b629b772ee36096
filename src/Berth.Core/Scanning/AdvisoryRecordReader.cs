using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Berth.Core.Scanning;

/// <summary>The bounds the advisory store keeps; the API and the CLI check them before a record reaches it.</summary>
public static class AdvisoryLimits
{
    /// <summary>The largest record text (compact JSON, UTF-8 bytes): the largest published OSV records are a few hundred KB.</summary>
    public const int MaxRecordBytes = 1024 * 1024;

    /// <summary>The longest record id.</summary>
    public const int MaxIdLength = 256;

    /// <summary>The longest ecosystem or package name (Maven and Go names are long; nothing real is near this).</summary>
    public const int MaxNameLength = 1024;

    /// <summary>The most (ecosystem, name) pairs one record may name.</summary>
    public const int MaxPackagesPerRecord = 10_000;

    /// <summary>How many names one database query carries (<see cref="IAdvisoryStore.FindManyAsync"/> asks in chunks of this).</summary>
    public const int NamesPerQuery = 500;

    /// <summary>The longest source label.</summary>
    public const int MaxSourceLength = 200;
}

/// <summary>How a package name is compared: PyPI names by PEP 503 (lower case, runs of <c>-_.</c> as one <c>-</c>), NuGet names case-insensitively, all others exactly.</summary>
public static class AdvisoryNames
{
    /// <summary>The name as stored and looked up for <paramref name="ecosystem"/> (the part before <c>:</c> decides).</summary>
    public static string Lookup(string ecosystem, string name)
    {
        ArgumentNullException.ThrowIfNull(ecosystem);
        ArgumentNullException.ThrowIfNull(name);
        var colon = ecosystem.IndexOf(':', StringComparison.Ordinal);
        var family = colon < 0 ? ecosystem : ecosystem[..colon];
        if (family.Equals("PyPI", StringComparison.OrdinalIgnoreCase))
        {
            var builder = new StringBuilder(name.Length);
            var inRun = false;
            foreach (var ch in name)
            {
                if (ch is '-' or '_' or '.')
                {
                    if (!inRun)
                    {
                        builder.Append('-');
                    }

                    inRun = true;
                    continue;
                }

                inRun = false;
                builder.Append(char.ToLowerInvariant(ch));
            }

            return builder.ToString();
        }

        return family.Equals("NuGet", StringComparison.OrdinalIgnoreCase) ? name.ToLowerInvariant() : name;
    }
}

/// <summary>
/// Reads one OSV record (JSON text) into an <see cref="AdvisoryRecord"/>: checks it is an object with a string
/// <c>id</c> and a <c>modified</c> time, rewrites it as compact JSON, and collects the (ecosystem, name) of every
/// <c>affected[].package</c>. Bad input gives <see cref="FormatException"/> with a message fit to show the user.
/// </summary>
public static class AdvisoryRecordReader
{
    public static AdvisoryRecord Read(ReadOnlySpan<byte> utf8Json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw new FormatException("not valid JSON: " + ex.Message, ex);
        }

        using (document)
        {
            return Read(document.RootElement);
        }
    }

    public static AdvisoryRecord Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("a record must be a JSON object");
        }

        if (!root.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(idElement.GetString()))
        {
            throw new FormatException("a record must have a string \"id\"");
        }

        var id = idElement.GetString()!;
        if (id.Length > AdvisoryLimits.MaxIdLength || id.Any(char.IsControl) || id.Trim().Length != id.Length)
        {
            throw new FormatException($"record id is longer than {AdvisoryLimits.MaxIdLength} characters or holds spaces or control characters");
        }

        var modified = Time(root, "modified", id) ?? throw new FormatException($"record {id}: \"modified\" is missing");
        var withdrawn = Time(root, "withdrawn", id);

        var packages = new List<AdvisoryPackage>();
        var seen = new HashSet<(string, string)>();
        if (root.TryGetProperty("affected", out var affected))
        {
            if (affected.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException($"record {id}: \"affected\" is not an array");
            }

            foreach (var entry in affected.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("package", out var package) || package.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                if (!package.TryGetProperty("ecosystem", out var ecosystem) || ecosystem.ValueKind != JsonValueKind.String ||
                    !package.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                {
                    continue;
                }

                var e = ecosystem.GetString()!;
                var n = name.GetString()!;
                if (e.Length == 0 || n.Length == 0)
                {
                    continue;
                }

                if (e.Length > AdvisoryLimits.MaxNameLength || n.Length > AdvisoryLimits.MaxNameLength || e.Contains('\0', StringComparison.Ordinal) || n.Contains('\0', StringComparison.Ordinal))
                {
                    throw new FormatException($"record {id}: a package ecosystem or name is longer than {AdvisoryLimits.MaxNameLength} characters or holds U+0000");
                }

                if (seen.Add((e, n)))
                {
                    packages.Add(new AdvisoryPackage(e, n));
                }
            }
        }

        if (packages.Count > AdvisoryLimits.MaxPackagesPerRecord)
        {
            throw new FormatException($"record {id}: names more than {AdvisoryLimits.MaxPackagesPerRecord} packages");
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            root.WriteTo(writer);
        }

        if (buffer.WrittenCount > AdvisoryLimits.MaxRecordBytes)
        {
            throw new FormatException($"record {id}: larger than {AdvisoryLimits.MaxRecordBytes} bytes");
        }

        // Stored as text, not jsonb: an escaped U+0000 inside a string stays as written.
        var json = Encoding.UTF8.GetString(buffer.WrittenSpan);
        return new AdvisoryRecord(id, modified, withdrawn, json, packages);
    }

    private static DateTimeOffset? Time(JsonElement root, string property, string id)
    {
        if (!root.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String &&
            DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }

        throw new FormatException($"record {id}: \"{property}\" is not an RFC 3339 time");
    }
}
