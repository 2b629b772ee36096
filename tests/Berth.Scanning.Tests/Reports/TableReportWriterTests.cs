using Berth.Scanning.Findings;
using Berth.Scanning.Reports;
using static Berth.Scanning.Tests.Reports.ReportFixture;

namespace Berth.Scanning.Tests.Reports;

public sealed class TableReportWriterTests
{
    private static readonly string[] HeaderCells = ["Library", "Vulnerability", "Severity", "Status", "Installed Version", "Fixed Version", "Title"];

    private static string[] Render(ScanReport report, TableReportOptions? options = null)
    {
        using var writer = new StringWriter();
        TableReportWriter.Write(report, writer, options);
        return writer.ToString().Split('\n');
    }

    private static string[] Cells(string line) => line.Split('│')[1..^1].Select(c => c.Trim()).ToArray();

    // The lines of the table under the header `target`, from its top border to its bottom border.
    private static List<string> TableOf(string[] lines, string target)
    {
        var start = Array.IndexOf(lines, target);
        Assert.True(start >= 0, $"no result headed '{target}'");
        var top = Array.FindIndex(lines, start, l => l.StartsWith('┌'));
        var bottom = Array.FindIndex(lines, top, l => l.StartsWith('└'));
        return lines[top..(bottom + 1)].ToList();
    }

    [Fact]
    public void Write_OsResult_HeaderUnderlineAndTotalLine()
    {
        var lines = Render(Report());

        Assert.Equal(OsTarget, lines[0]);
        Assert.Equal(new string('=', OsTarget.Length), lines[1]);
        Assert.Equal("Total: 5 (UNKNOWN: 1, LOW: 1, MEDIUM: 2, HIGH: 1, CRITICAL: 0)", lines[2]);
        Assert.Equal(string.Empty, lines[3]);
        Assert.StartsWith("┌─", lines[4], StringComparison.Ordinal);
        Assert.Equal(HeaderCells, Cells(lines[5]));
        Assert.StartsWith("├─", lines[6], StringComparison.Ordinal);
    }

    [Fact]
    public void Write_SeverityFilter_TotalListsOnlyRequestedSeverities()
    {
        var filter = new FindingFilter(new HashSet<Severity> { Severity.Critical, Severity.High });
        var kept = filter.Apply(AllFindings, new DateOnly(2026, 3, 14)).Kept;

        var lines = Render(Report(kept), new TableReportOptions(filter.Severities));

        Assert.Equal("Total: 1 (HIGH: 1, CRITICAL: 0)", lines[2]);
        var java = Array.IndexOf(lines, "Java (jar)");
        Assert.Equal("Total: 1 (HIGH: 0, CRITICAL: 1)", lines[java + 2]);
    }

    [Fact]
    public void Write_LanguageResults_HeadedByTargetAndType_EmptyOnesKeptWithoutTable()
    {
        var lines = Render(Report());

        string[] headers = ["Java (jar)", "Node.js (node-pkg)", "Python (python-pkg)", "app/app.deps.json (dotnet-core)", "usr/local/bin/app (gobinary)"];
        var positions = headers.Select(h => Array.IndexOf(lines, h)).ToList();
        Assert.All(positions, p => Assert.True(p > 0));
        Assert.Equal(positions.Order(), positions); // OS first, then by target

        var deps = Array.IndexOf(lines, "app/app.deps.json (dotnet-core)");
        Assert.Equal("Total: 0 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0)", lines[deps + 2]);
        Assert.Equal(string.Empty, lines[deps + 3]);
        Assert.Equal("usr/local/bin/app (gobinary)", lines[deps + 4]);
    }

    [Fact]
    public void Write_Rows_SortedByPackageThenWorstSeverityThenId_WithCells()
    {
        var table = TableOf(Render(Report()), OsTarget);
        var rows = table.Where(l => l.StartsWith('│') && !l.Contains('─', StringComparison.Ordinal)).Skip(1).Select(Cells).ToList();
        var ids = rows.Select(r => r[1]).Where(id => id.Length > 0).ToList();

        Assert.Equal(["CVE-2010-4756", "CVE-2024-2511", "CVE-2024-0727", "CVE-2023-5678", "CVE-2024-0727"], ids);

        var high = rows.Single(r => r[1] == "CVE-2024-2511");
        Assert.Equal(["libssl3", "CVE-2024-2511", "HIGH", "fixed", "3.0.11-1~deb12u2", "3.0.14-1~deb12u1", "openssl: Unbounded memory growth with session handling in..."], high);
        var next = rows[rows.IndexOf(high) + 1];
        Assert.Equal(["", "", "", "", "", "", "https://security-tracker.debian.org/tracker/CVE-2024-2511"], next);

        var unfixed = rows.Single(r => r[1] == "CVE-2023-5678");
        Assert.Equal(["", "CVE-2023-5678", "LOW", "affected", "", "", "openssl: Generating excessively long X9.42 DH keys"], unfixed);
        var openssl = rows.Last(r => r[1] == "CVE-2024-0727");
        Assert.Equal("openssl", openssl[0]);
        Assert.Equal("3.0.11-1~deb12u2", openssl[4]);
    }

    [Fact]
    public void Write_SamePackageRows_ShareLibraryCell_SeparatorLeavesItOpen()
    {
        var table = TableOf(Render(Report()), OsTarget);
        var separators = table.Where(l => l.StartsWith('├') || (l.StartsWith('│') && l.Contains('─', StringComparison.Ordinal))).ToList();

        Assert.Contains(separators, l => l.StartsWith("│ ", StringComparison.Ordinal) && l.Contains("├─", StringComparison.Ordinal));
        Assert.All(table, l => Assert.Equal(table[0].Length, l.Length)); // every line as wide as the border
    }

    [Fact]
    public void Write_Deterministic()
    {
        var shuffled = AllFindings.Reverse().ToList();

        Assert.Equal(Render(Report()), Render(Report(shuffled)));
    }

    [Fact]
    public void Write_NoOsNoFindings_WritesJustTheLanguageHeaders()
    {
        var inventory = new Inventory.ImageInventory(null, [SystemTextJson]);

        var lines = Render(Report([], inventory));

        Assert.Equal(["app/app.deps.json (dotnet-core)", new string('=', 31), "Total: 0 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0)", ""], lines);
    }

    [Fact]
    public void Write_HostileTitlesAndNames_NoControlCharactersReachTheOutput()
    {
        var evil = Lodash with { Name = "lodash\u001b[2J\u001b]0;pwned\u0007\r\n\u009b31m", Version = "4.17.20\u0007" };
        var finding = LodashHigh with
        {
            Package = evil,
            VulnerabilityId = "CVE-2021-23337\u001b[8m",
            Title = "\u001b[31mred\u001b[0m \u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007 " + new string('A', 50_000),
            FixedVersion = "4.17.21\u202e",
            References = ["https://example.com/\u001b[1mx"],
        };

        var text = string.Join('\n', Render(Report([finding], new Inventory.ImageInventory(null, [evil]))));

        Assert.DoesNotContain(text, c => (c < ' ' && c != '\n') || c is '\u007f' or (>= '\u0080' and <= '\u009f') or '\u202e');
        Assert.DoesNotContain("pwned", text, StringComparison.Ordinal); // the OSC (window title) sequence is dropped whole
        Assert.Contains("│ lodash ", text, StringComparison.Ordinal);
        Assert.All(text.Split('\n'), l => Assert.True(l.Length < 400, $"line of {l.Length} characters"));
        Assert.Contains("red click AAAA", text, StringComparison.Ordinal);
        Assert.Contains("...", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TotalLine_CountsEachSeverity()
    {
        Assert.Equal("Total: 9 (UNKNOWN: 2, LOW: 1, MEDIUM: 3, HIGH: 2, CRITICAL: 1)", TableReportWriter.TotalLine(AllFindings.ToList()));
        Assert.Equal("Total: 0 (MEDIUM: 0)", TableReportWriter.TotalLine([], [Severity.Medium]));
    }
}
