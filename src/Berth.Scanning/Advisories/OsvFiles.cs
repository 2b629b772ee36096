using System.IO.Compression;
using System.Text;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Berth.Scanning.Advisories;

/// <summary>One advisory file as found: its path in the folder or zip, and its record as JSON (YAML converted).</summary>
/// <param name="Path">Path relative to the folder, or the entry's name in the zip.</param>
/// <param name="Json">The record as UTF-8 JSON, or empty when <paramref name="Error"/> says why not.</param>
/// <param name="Error">Why the file could not be read as one record; null when it could.</param>
public sealed record OsvFile(string Path, ReadOnlyMemory<byte> Json, string? Error);

/// <summary>
/// Walks a folder tree or a .zip of OSV records as published (<c>*.json</c>, and <c>*.yaml</c>/<c>*.yml</c> as the PyPA
/// database writes them), one file at a time: files with other extensions are skipped (counted in
/// <see cref="Walk.Skipped"/>), a file larger than <see cref="MaxFileBytes"/> or not one record is reported with its
/// error, never thrown. YAML becomes JSON with every scalar a string except unquoted <c>true</c>/<c>false</c>/<c>null</c>
/// (so versions such as <c>1.10</c> keep their text: OSV has no numbers that matter).
/// </summary>
public static class OsvFiles
{
    /// <summary>An advisory record larger than this is not one (the largest published are a few hundred KB).</summary>
    public const int MaxFileBytes = 8 * 1024 * 1024;

    /// <summary>Nesting deeper than this is not an OSV record (and would only cost stack).</summary>
    private const int MaxDepth = 64;

    /// <summary>What a walk found besides the records.</summary>
    public sealed class Walk
    {
        public int Skipped { get; internal set; }
    }

    /// <summary>The records under <paramref name="path"/> (a folder, a .zip, or one file), in a stable order.</summary>
    public static IEnumerable<OsvFile> Read(string path, Walk? walk = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        walk ??= new Walk();
        if (Directory.Exists(path))
        {
            var files = Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint })
                .Order(StringComparer.Ordinal);
            foreach (var file in files)
            {
                var relative = System.IO.Path.GetRelativePath(path, file);
                if (!IsRecordName(relative))
                {
                    walk.Skipped++;
                    continue;
                }

                var info = new FileInfo(file);
                yield return info.Length > MaxFileBytes
                    ? new OsvFile(relative, default, $"larger than {MaxFileBytes / (1024 * 1024)} MiB")
                    : Convert(relative, File.ReadAllBytes(file));
            }

            yield break;
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file or folder", path);
        }

        if (!path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            yield return new FileInfo(path).Length > MaxFileBytes
                ? new OsvFile(System.IO.Path.GetFileName(path), default, $"larger than {MaxFileBytes / (1024 * 1024)} MiB")
                : Convert(System.IO.Path.GetFileName(path), File.ReadAllBytes(path));
            yield break;
        }

        using var zip = ZipFile.OpenRead(path);
        foreach (var entry in zip.Entries.OrderBy(e => e.FullName, StringComparer.Ordinal))
        {
            if (entry.FullName.EndsWith('/') || !IsRecordName(entry.FullName))
            {
                if (!entry.FullName.EndsWith('/'))
                {
                    walk.Skipped++;
                }

                continue;
            }

            if (entry.Length > MaxFileBytes)
            {
                yield return new OsvFile(entry.FullName, default, $"larger than {MaxFileBytes / (1024 * 1024)} MiB");
                continue;
            }

            // The size the zip states is not trusted: read at most one byte past the limit.
            using var stream = entry.Open();
            using var copy = new MemoryStream();
            var buffer = new byte[81920];
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0 && copy.Length <= MaxFileBytes)
            {
                copy.Write(buffer, 0, n);
            }

            yield return copy.Length > MaxFileBytes
                ? new OsvFile(entry.FullName, default, $"larger than {MaxFileBytes / (1024 * 1024)} MiB")
                : Convert(entry.FullName, copy.ToArray());
        }
    }

    private static bool IsRecordName(string name) =>
        name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || IsYaml(name);

    private static bool IsYaml(string name) =>
        name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

    private static OsvFile Convert(string name, byte[] content)
    {
        if (!IsYaml(name))
        {
            return new OsvFile(name, content, null);
        }

        try
        {
            return new OsvFile(name, YamlToJson(content), null);
        }
        catch (Exception ex) when (ex is YamlException or InvalidDataException)
        {
            return new OsvFile(name, default, "not valid YAML: " + ex.Message);
        }
    }

    /// <summary>One YAML document as JSON (see the class comment for scalars); anchors, tags and several documents are refused.</summary>
    public static byte[] YamlToJson(byte[] yaml)
    {
        var parser = new Parser(new StringReader(Encoding.UTF8.GetString(yaml)));
        using var output = new MemoryStream();
        using (var json = new Utf8JsonWriter(output))
        {
            parser.Consume<StreamStart>();
            if (!parser.TryConsume<DocumentStart>(out _))
            {
                throw new InvalidDataException("an empty document");
            }

            if (parser.Current is not MappingStart)
            {
                throw new InvalidDataException("a record must be one YAML mapping");
            }

            WriteNode(parser, json, 0);
            parser.Consume<DocumentEnd>();
            if (!parser.TryConsume<StreamEnd>(out _))
            {
                throw new InvalidDataException("more than one document");
            }
        }

        return output.ToArray();
    }

    private static void WriteNode(IParser parser, Utf8JsonWriter json, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidDataException($"nested deeper than {MaxDepth}");
        }

        if (parser.TryConsume<Scalar>(out var scalar))
        {
            if (scalar.IsPlainImplicit && scalar.Value is "true" or "false")
            {
                json.WriteBooleanValue(scalar.Value == "true");
            }
            else if (scalar.IsPlainImplicit && scalar.Value is "null" or "~" or "")
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteStringValue(scalar.Value);
            }
        }
        else if (parser.TryConsume<SequenceStart>(out _))
        {
            json.WriteStartArray();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                WriteNode(parser, json, depth + 1);
            }

            json.WriteEndArray();
        }
        else if (parser.TryConsume<MappingStart>(out _))
        {
            json.WriteStartObject();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var key = parser.Consume<Scalar>(); // OSV keys are plain words; a complex key is not a record
                if (!keys.Add(key.Value))
                {
                    throw new InvalidDataException($"the key '{key.Value}' appears twice in one mapping");
                }

                json.WritePropertyName(key.Value);
                WriteNode(parser, json, depth + 1);
            }

            json.WriteEndObject();
        }
        else if (parser.Current is AnchorAlias)
        {
            throw new InvalidDataException("YAML aliases are not used by OSV records");
        }
        else
        {
            throw new InvalidDataException($"unexpected YAML at {parser.Current?.Start}");
        }
    }
}
