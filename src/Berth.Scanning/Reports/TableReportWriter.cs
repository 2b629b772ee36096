using System.Globalization;
using System.Text;
using Berth.Scanning.Text;
using Berth.Scanning.Findings;

namespace Berth.Scanning.Reports;

/// <summary>Options of the table report.</summary>
/// <param name="Severities">The severities the user asked for (<c>--severity</c>): the <c>Total:</c> line lists only
/// these, lowest first, as Trivy does; all five when null.</param>
/// <param name="TitleWidth">Longest title printed; longer titles are cut at a word and end with "...".</param>
public sealed record TableReportOptions(IReadOnlyCollection<Severity>? Severities = null, int TitleWidth = 60)
{
    /// <summary>Defaults: every severity in the Total line, titles up to 60 characters.</summary>
    public static TableReportOptions Default { get; } = new();
}

/// <summary>
/// The human report, in Trivy's look: per result a header (the target, and the type for language results) underlined
/// with '=', the line <c>Total: N (UNKNOWN: a, LOW: b, MEDIUM: c, HIGH: d, CRITICAL: e)</c>, then a box-drawn table with
/// Library, Vulnerability, Severity, Status, Installed Version, Fixed Version and Title (the title, then the record's first
/// reference URL). Rows of the same package and version share the Library and Installed Version cells. Every cell is
/// passed through <see cref="TerminalText"/>, so nothing read from an image or an advisory reaches the terminal raw.
/// </summary>
public static class TableReportWriter
{
    private const int MaxCell = 80;
    private const int MaxUrl = 120;
    private static readonly string[] Headers = ["Library", "Vulnerability", "Severity", "Status", "Installed Version", "Fixed Version", "Title"];

    /// <summary>Writes the table report for <paramref name="report"/> to <paramref name="output"/>.</summary>
    public static void Write(ScanReport report, TextWriter output, TableReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        options ??= TableReportOptions.Default;
        var first = true;
        foreach (var result in ReportResults.Build(report))
        {
            if (!first)
            {
                output.Write('\n');
            }

            first = false;
            WriteResult(result, output, options);
        }
    }

    /// <summary>The <c>Total:</c> line for <paramref name="findings"/> (without a line break).</summary>
    public static string TotalLine(IReadOnlyCollection<Finding> findings, IReadOnlyCollection<Severity>? severities = null)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var listed = SeverityNames.Ascending.Where(s => severities is null || severities.Contains(s));
        var parts = listed.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.ToName()}: {findings.Count(f => f.Severity == s)}"));
        return string.Create(CultureInfo.InvariantCulture, $"Total: {findings.Count} ({string.Join(", ", parts)})");
    }

    private static void WriteResult(ReportResult result, TextWriter output, TableReportOptions options)
    {
        var header = TerminalText.CleanAndTruncate(
            result.Class == ReportResult.OsClass ? result.Target : $"{result.Target} ({result.Type})", 200);
        output.Write(header);
        output.Write('\n');
        output.Write(new string('=', Math.Max(header.Length, 1)));
        output.Write('\n');
        output.Write(TotalLine(result.Findings, options.Severities));
        output.Write('\n');
        if (result.Findings.Count == 0)
        {
            return;
        }

        output.Write('\n');
        var rows = result.Findings.Select(f => Row(f, options.TitleWidth)).ToList();
        var merged = new bool[rows.Count][];
        for (var r = 0; r < rows.Count; r++)
        {
            merged[r] = new bool[Headers.Length];
            if (r > 0 && rows[r].Key == rows[r - 1].Key)
            {
                merged[r][0] = true;
                merged[r][4] = true;
            }
        }

        var widths = new int[Headers.Length];
        for (var c = 0; c < Headers.Length; c++)
        {
            widths[c] = Math.Max(Width(Headers[c]), rows.Count == 0 ? 0 : rows.Max(row => row.Cells[c].Max(Width)));
        }

        var sb = new StringBuilder();
        Border(sb, widths, '┌', '┬', '┐');
        Line(sb, widths, Headers.Select(h => new[] { h }).ToArray(), center: true);
        Border(sb, widths, '├', '┼', '┤');
        for (var r = 0; r < rows.Count; r++)
        {
            if (r > 0)
            {
                Separator(sb, widths, merged[r]);
            }

            var cells = rows[r].Cells.Select((cell, c) => merged[r][c] ? new[] { string.Empty } : cell).ToArray();
            Line(sb, widths, cells, center: false);
        }

        Border(sb, widths, '└', '┴', '┘');
        output.Write(sb.ToString());
    }

    private static (string Key, string[][] Cells) Row(Finding f, int titleWidth)
    {
        var title = new List<string>(2);
        var text = TerminalText.CleanAndTruncate(f.Title, titleWidth);
        if (text.Length > 0)
        {
            title.Add(text);
        }

        var url = f.References.Count > 0 ? TerminalText.CleanAndTruncate(f.References[0], MaxUrl) : string.Empty;
        if (url.Length > 0)
        {
            title.Add(url);
        }

        if (title.Count == 0)
        {
            title.Add(string.Empty);
        }

        var name = Cell(f.Package.Name);
        var installed = Cell(f.Package.Version);
        string[][] cells =
        [
            [name],
            [Cell(f.VulnerabilityId)],
            [f.Severity.ToName()],
            [string.IsNullOrEmpty(f.FixedVersion) ? "affected" : "fixed"],
            [installed],
            [Cell(f.FixedVersion)],
            [.. title],
        ];
        return (name + "\n" + installed, cells);
    }

    private static string Cell(string? text) => TerminalText.CleanAndTruncate(text, MaxCell);

    private static int Width(string text)
    {
        var n = 0;
        foreach (var c in text)
        {
            if (!char.IsLowSurrogate(c))
            {
                n++;
            }
        }

        return n;
    }

    private static void Border(StringBuilder sb, int[] widths, char left, char middle, char right)
    {
        sb.Append(left);
        for (var c = 0; c < widths.Length; c++)
        {
            sb.Append('─', widths[c] + 2);
            sb.Append(c == widths.Length - 1 ? right : middle);
        }

        sb.Append('\n');
    }

    // A row separator inside the table; merged columns (a cell shared with the row above) stay open.
    private static void Separator(StringBuilder sb, int[] widths, bool[] merged)
    {
        sb.Append(merged[0] ? '│' : '├');
        for (var c = 0; c < widths.Length; c++)
        {
            sb.Append(merged[c] ? ' ' : '─', widths[c] + 2);
            if (c == widths.Length - 1)
            {
                sb.Append(merged[c] ? '│' : '┤');
            }
            else
            {
                sb.Append((merged[c], merged[c + 1]) switch
                {
                    (true, true) => '│',
                    (true, false) => '├',
                    (false, true) => '┤',
                    _ => '┼',
                });
            }
        }

        sb.Append('\n');
    }

    private static void Line(StringBuilder sb, int[] widths, string[][] cells, bool center)
    {
        var height = cells.Max(c => c.Length);
        for (var l = 0; l < height; l++)
        {
            sb.Append('│');
            for (var c = 0; c < widths.Length; c++)
            {
                var text = l < cells[c].Length ? cells[c][l] : string.Empty;
                var pad = widths[c] - Width(text);
                var before = center ? pad / 2 : 0;
                sb.Append(' ', 1 + before).Append(text).Append(' ', 1 + pad - before).Append('│');
            }

            sb.Append('\n');
        }
    }
}
