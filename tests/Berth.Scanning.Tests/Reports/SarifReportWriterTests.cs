using System.Text.Json;
using Berth.Scanning.Findings;
using Berth.Scanning.Reports;
using static Berth.Scanning.Tests.Reports.ReportFixture;

namespace Berth.Scanning.Tests.Reports;

public sealed class SarifReportWriterTests
{
    private static JsonDocument Write(ScanReport report)
    {
        using var stream = new MemoryStream();
        SarifReportWriter.Write(report, stream, "1.2.3");
        return JsonDocument.Parse(stream.ToArray());
    }

    [Fact]
    public void Write_RequiredSarifStructure()
    {
        using var doc = Write(Report());
        var root = doc.RootElement;

        Assert.Equal("2.1.0", root.GetProperty("version").GetString());
        Assert.EndsWith("sarif-schema-2.1.0.json", root.GetProperty("$schema").GetString(), StringComparison.Ordinal);
        var run = Assert.Single(root.GetProperty("runs").EnumerateArray());
        var driver = run.GetProperty("tool").GetProperty("driver");
        Assert.Equal("Berth", driver.GetProperty("name").GetString());
        Assert.Equal("1.2.3", driver.GetProperty("version").GetString());
        Assert.Equal("file:///", run.GetProperty("originalUriBaseIds").GetProperty("ROOTPATH").GetProperty("uri").GetString());
        Assert.Equal(Artifact, run.GetProperty("properties").GetProperty("imageName").GetString());
    }

    [Fact]
    public void Write_OneRulePerVulnerabilityId_WithHelpAndSecuritySeverity()
    {
        using var doc = Write(Report());
        var rules = doc.RootElement.GetProperty("runs")[0].GetProperty("tool").GetProperty("driver").GetProperty("rules").EnumerateArray().ToList();

        var ids = rules.Select(r => r.GetProperty("id").GetString()!).ToList();
        Assert.Equal(AllFindings.Select(f => f.VulnerabilityId).Distinct().Order(StringComparer.Ordinal), ids);
        Assert.All(rules, r =>
        {
            Assert.False(string.IsNullOrEmpty(r.GetProperty("shortDescription").GetProperty("text").GetString()));
            Assert.False(string.IsNullOrEmpty(r.GetProperty("help").GetProperty("text").GetString()));
            Assert.False(string.IsNullOrEmpty(r.GetProperty("help").GetProperty("markdown").GetString()));
            Assert.Contains(r.GetProperty("defaultConfiguration").GetProperty("level").GetString(), new[] { "error", "warning", "note" });
            Assert.True(double.TryParse(r.GetProperty("properties").GetProperty("security-severity").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        });
        var log4shell = rules.Single(r => r.GetProperty("id").GetString() == "CVE-2021-44228");
        Assert.Equal("10.0", log4shell.GetProperty("properties").GetProperty("security-severity").GetString());
        Assert.Equal("https://nvd.nist.gov/vuln/detail/CVE-2021-44228", log4shell.GetProperty("helpUri").GetString());
        Assert.Equal("LanguageSpecificPackageVulnerability", log4shell.GetProperty("name").GetString());
        var glibc = rules.Single(r => r.GetProperty("id").GetString() == "CVE-2010-4756");
        Assert.Equal("0.0", glibc.GetProperty("properties").GetProperty("security-severity").GetString());
        Assert.Equal("OsPackageVulnerability", glibc.GetProperty("name").GetString());
    }

    [Fact]
    public void Write_ResultPerFinding_LevelByseverity_LocationIsThePackageFile()
    {
        using var doc = Write(Report());
        var run = doc.RootElement.GetProperty("runs")[0];
        var rules = run.GetProperty("tool").GetProperty("driver").GetProperty("rules");
        var results = run.GetProperty("results").EnumerateArray().ToList();

        Assert.Equal(AllFindings.Count, results.Count);
        foreach (var result in results)
        {
            var ruleId = result.GetProperty("ruleId").GetString();
            Assert.Equal(ruleId, rules[result.GetProperty("ruleIndex").GetInt32()].GetProperty("id").GetString());
            Assert.False(string.IsNullOrEmpty(result.GetProperty("message").GetProperty("text").GetString()));
            var location = result.GetProperty("locations")[0].GetProperty("physicalLocation");
            Assert.Equal("ROOTPATH", location.GetProperty("artifactLocation").GetProperty("uriBaseId").GetString());
            Assert.Equal(1, location.GetProperty("region").GetProperty("startLine").GetInt32());
        }

        var log4j = results.Single(r => r.GetProperty("ruleId").GetString() == "CVE-2021-44228");
        Assert.Equal("error", log4j.GetProperty("level").GetString());
        Assert.Equal("app/lib/app.jar", log4j.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString());
        Assert.Contains("Package: org.apache.logging.log4j:log4j-core", log4j.GetProperty("message").GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Severity.Critical, "error")]
    [InlineData(Severity.High, "error")]
    [InlineData(Severity.Medium, "warning")]
    [InlineData(Severity.Low, "note")]
    [InlineData(Severity.Unknown, "note")]
    public void LevelOf_MapsSeverity(Severity severity, string level) => Assert.Equal(level, SarifReportWriter.LevelOf(severity));

    [Fact]
    public void Write_NoFindings_EmptyRulesAndResults()
    {
        using var doc = Write(Report([]));
        var run = doc.RootElement.GetProperty("runs")[0];

        Assert.Equal(0, run.GetProperty("results").GetArrayLength());
        Assert.Equal(0, run.GetProperty("tool").GetProperty("driver").GetProperty("rules").GetArrayLength());
    }

    [Fact]
    public void Write_OddFilePath_IsAnEscapedRelativeUri()
    {
        var odd = Lodash with { FilePath = "app/node modules/#x?/package.json" };

        using var doc = Write(Report([LodashHigh with { Package = odd }], new Inventory.ImageInventory(null, [odd])));
        var uri = doc.RootElement.GetProperty("runs")[0].GetProperty("results")[0].GetProperty("locations")[0]
            .GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString();

        Assert.Equal("app/node%20modules/%23x%3F/package.json", uri);
        Assert.True(Uri.IsWellFormedUriString(uri, UriKind.Relative));
    }

    [Fact]
    public void Write_MarkdownHelp_EscapesTitleMarkup()
    {
        var finding = LodashHigh with { Title = "x](javascript:alert(1)) <img src=x> | cell" };

        using var doc = Write(Report([finding]));
        var markdown = doc.RootElement.GetProperty("runs")[0].GetProperty("tool").GetProperty("driver").GetProperty("rules")[0]
            .GetProperty("help").GetProperty("markdown").GetString()!;

        Assert.Contains(@"x\]\(javascript:alert\(1\)\) \<img src=x\> \| cell", markdown, StringComparison.Ordinal);
    }
}
