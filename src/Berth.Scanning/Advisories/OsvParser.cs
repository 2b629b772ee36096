using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Berth.Scanning.Advisories;

/// <summary>Reads OSV JSON records. Never throws on bad input: a malformed record gives false and a reason.</summary>
public static class OsvParser
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = false,
        AllowTrailingCommas = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        MaxDepth = 64,
    };

    /// <summary>Parses one record from UTF-8 JSON. False (with <paramref name="error"/>) when it is not JSON, not an
    /// object, has no <c>id</c>, or a field has the wrong type.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Json, [NotNullWhen(true)] out OsvRecord? record, [NotNullWhen(false)] out string? error)
    {
        record = null;
        if (utf8Json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8Json = utf8Json[3..]; // a UTF-8 byte order mark, as some editors write
        }

        try
        {
            var parsed = JsonSerializer.Deserialize<OsvRecord>(utf8Json, Options);
            return Check(parsed, out record, out error);
        }
        catch (JsonException e)
        {
            error = "not a valid OSV record: " + e.Message;
            return false;
        }
    }

    /// <summary>Parses one record from JSON text (for example the YAML form converted to JSON).</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out OsvRecord? record, [NotNullWhen(false)] out string? error)
    {
        record = null;
        try
        {
            var parsed = JsonSerializer.Deserialize<OsvRecord>(json.AsSpan().TrimStart('\uFEFF'), Options);
            return Check(parsed, out record, out error);
        }
        catch (JsonException e)
        {
            error = "not a valid OSV record: " + e.Message;
            return false;
        }
    }

    /// <summary>Parses one record from a stream (read to its end).</summary>
    public static async Task<(OsvRecord? Record, string? Error)> ParseAsync(Stream utf8Json, CancellationToken cancellationToken = default)
    {
        try
        {
            var parsed = await JsonSerializer.DeserializeAsync<OsvRecord>(utf8Json, Options, cancellationToken);
            return Check(parsed, out var record, out var error) ? (record, null) : (null, error);
        }
        catch (JsonException e)
        {
            return (null, "not a valid OSV record: " + e.Message);
        }
    }

    private static bool Check(OsvRecord? parsed, [NotNullWhen(true)] out OsvRecord? record, [NotNullWhen(false)] out string? error)
    {
        record = null;
        if (parsed is null)
        {
            error = "not a valid OSV record: the document is null";
            return false;
        }

        if (string.IsNullOrWhiteSpace(parsed.Id))
        {
            error = "not a valid OSV record: it has no id";
            return false;
        }

        record = Normalize(parsed);
        error = null;
        return true;
    }

    // JSON null in a list field arrives as null despite the annotations; make every list non-null.
    private static OsvRecord Normalize(OsvRecord r) => r with
    {
        Aliases = Clean(r.Aliases),
        Related = Clean(r.Related),
        Severity = r.Severity?.Where(s => s is not null).ToArray() ?? [],
        References = r.References?.Where(s => s is not null).ToArray() ?? [],
        Affected = r.Affected?.Where(a => a is not null).Select(a => a with
        {
            Severity = a.Severity?.Where(s => s is not null).ToArray() ?? [],
            Versions = Clean(a.Versions),
            Ranges = a.Ranges?.Where(g => g is not null).Select(g => g with
            {
                Events = g.Events?.Where(e => e is not null).ToArray() ?? [],
            }).ToArray() ?? [],
        }).ToArray() ?? [],
    };

    private static string[] Clean(IReadOnlyList<string>? list) => list?.Where(s => s is not null).ToArray() ?? [];
}
