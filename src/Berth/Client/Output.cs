using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Client;

/// <summary>A table column: its header and how to get its cell from one JSON item.</summary>
internal sealed record Column(string Header, Func<JsonNode, string> Cell);

/// <summary>
/// How the CLI prints: JSON pretty-printed as the server sent it, or tables with a header row and columns aligned
/// by spaces; times as <c>2026-11-29 06:30</c> UTC, booleans as yes/no, missing values as <c>-</c>.
/// </summary>
internal static class Output
{
    /// <summary>Pretty JSON that keeps <c>+</c>, <c>&lt;</c> and non-ASCII readable (this is a terminal, not HTML).</summary>
    public static readonly JsonSerializerOptions PrettyJson = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static readonly JsonSerializerOptions CompactJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Json(TextWriter writer, JsonNode? node) => writer.WriteLine(node?.ToJsonString(PrettyJson) ?? "null");

    public static void Table(TextWriter writer, IReadOnlyList<Column> columns, IEnumerable<JsonNode?> items)
    {
        var rows = items.Where(i => i is not null).Select(item => columns.Select(c => Clean(c.Cell(item!))).ToArray()).ToList();
        var widths = columns.Select((c, i) => rows.Select(r => r[i].Length).Prepend(c.Header.Length).Max()).ToArray();
        WriteRow(writer, widths, columns.Select(c => c.Header).ToArray());
        foreach (var row in rows)
        {
            WriteRow(writer, widths, row);
        }
    }

    private static void WriteRow(TextWriter writer, int[] widths, string[] cells)
    {
        var line = new StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            line.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i] + 3));
        }

        writer.WriteLine(line.ToString().TrimEnd());
    }

    /// <summary>A string or number as text; null for null, missing, objects and arrays.</summary>
    public static string? Scalar(JsonNode? node) => node switch
    {
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        JsonValue value when value.GetValueKind() is JsonValueKind.Number => value.ToJsonString(),
        JsonValue value when value.GetValueKind() is JsonValueKind.True => "true",
        JsonValue value when value.GetValueKind() is JsonValueKind.False => "false",
        _ => null,
    };

    /// <summary>A member as cell text: strings as they are, yes/no for booleans, compact JSON for the rest, <c>-</c> when null.</summary>
    public static string Text(JsonNode item, string name) => item[name] switch
    {
        null => "-",
        JsonValue value when value.GetValueKind() is JsonValueKind.True => "yes",
        JsonValue value when value.GetValueKind() is JsonValueKind.False => "no",
        JsonValue value when value.GetValueKind() is JsonValueKind.String => value.GetValue<string>() is { Length: > 0 } s ? s : "-",
        var other => other.ToJsonString(CompactJson),
    };

    /// <summary>An ISO 8601 member as <c>yyyy-MM-dd HH:mm</c> UTC; <c>-</c> when null; as sent when it does not parse.</summary>
    public static string Time(JsonNode item, string name)
    {
        var text = Scalar(item[name]);
        if (text is null)
        {
            return "-";
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)
            : text;
    }

    /// <summary>An array of strings joined by commas; <paramref name="whenNull"/> for null.</summary>
    public static string List(JsonNode item, string name, string whenNull) => item[name] switch
    {
        null => whenNull,
        JsonArray array => string.Join(',', array.Select(n => Scalar(n) ?? "?")),
        var other => Text(item, name) is var t && t == "-" ? whenNull : other.ToJsonString(CompactJson),
    };

    /// <summary>
    /// Text from the server made safe for a terminal: control characters (escape sequences, newlines that would break
    /// a table) become <c>?</c>.
    /// </summary>
    public static string Clean(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }

        return string.Create(text.Length, text, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }
}
