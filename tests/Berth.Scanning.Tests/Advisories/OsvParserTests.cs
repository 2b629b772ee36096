using System.Text;
using Berth.Scanning.Advisories;
using Berth.Scanning.Findings;
using Berth.Scanning.Tests.Matching;

namespace Berth.Scanning.Tests.Advisories;

public sealed class OsvParserTests
{
    [Fact]
    public void RealDebianCveRecord_ParsesEveryField()
    {
        var path = Directory.EnumerateFiles(VulnDbTestData.PathOf("debian", "osv", "CVE"), "*.json", SearchOption.AllDirectories)
            .First(f => File.ReadAllText(f).Contains("\"Debian:12\"", StringComparison.Ordinal));
        Assert.True(OsvParser.TryParse(File.ReadAllBytes(path), out var r, out var error), error);
        Assert.StartsWith("CVE-", r.Id, StringComparison.Ordinal);
        Assert.NotNull(r.Modified);
        Assert.Contains(r.Affected, a => a.Package?.Ecosystem == "Debian:12");
        Assert.All(r.Affected.Where(a => a.Package?.Ecosystem?.StartsWith("Debian", StringComparison.Ordinal) == true),
            a => Assert.NotNull(a.EcosystemSpecific));
        Assert.NotEmpty(r.References);
    }

    [Fact]
    public void EveryRecordInTheTestData_Parses()
    {
        var count = 0;
        foreach (var dir in (string[])["debian", "ghsa", "golang-vulndb"])
        {
            foreach (var file in Directory.EnumerateFiles(VulnDbTestData.PathOf(dir), "*.json", SearchOption.AllDirectories))
            {
                Assert.True(OsvParser.TryParse(File.ReadAllBytes(file), out var r, out var error), file + ": " + error);
                Assert.False(string.IsNullOrEmpty(r.Id));
                count++;
            }
        }

        Assert.True(count > 800, count.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void GhsaRecord_KeepsDatabaseSpecificSeverityAndWithdrawn()
    {
        var withdrawn = Directory.EnumerateFiles(VulnDbTestData.PathOf("ghsa"), "GHSA-7fhm-mqm4-2wp7.json", SearchOption.AllDirectories).Single();
        Assert.True(OsvParser.TryParse(File.ReadAllBytes(withdrawn), out var w, out _));
        Assert.NotNull(w.Withdrawn);

        var any = Directory.EnumerateFiles(VulnDbTestData.PathOf("ghsa"), "*.json", SearchOption.AllDirectories).First();
        Assert.True(OsvParser.TryParse(File.ReadAllBytes(any), out var g, out _));
        Assert.NotNull(SeverityResolver.FromDatabaseSpecific(g.DatabaseSpecific));
    }

    [Fact]
    public async Task Stream_Parses()
    {
        await using var s = new MemoryStream(Encoding.UTF8.GetBytes("""{"id":"X-1","affected":null,"aliases":null}"""));
        var (r, error) = await OsvParser.ParseAsync(s);
        Assert.Null(error);
        Assert.Equal("X-1", r!.Id);
        Assert.Empty(r.Affected); // null lists become empty
        Assert.Empty(r.Aliases);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("""{"id":""}""")]
    [InlineData("""{"id":42}""")]
    [InlineData("""{"id":"X","affected":"nope"}""")]
    [InlineData("""{"id":"X","modified":"yesterday"}""")]
    [InlineData("""{"id":"X","affected":[{"ranges":[{"events":[{"introduced":1}]}]}]}""")]
    [InlineData("""{"id":"X" """)]
    public void Malformed_IsFalseWithAReason(string json)
    {
        Assert.False(OsvParser.TryParse(json, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void DeeplyNested_IsRefused_NotAStackOverflow()
    {
        var json = """{"id":"X","database_specific":""" + new string('[', 10000) + new string(']', 10000) + "}";
        Assert.False(OsvParser.TryParse(json, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Utf8ByteOrderMark_IsAccepted()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("{\"id\":\"BOM-1\"}")).ToArray();
        Assert.True(OsvParser.TryParse(bytes, out var r, out var error), error);
        Assert.Equal("BOM-1", r.Id);
        Assert.True(OsvParser.TryParse("\uFEFF{\"id\":\"BOM-2\"}", out var r2, out _));
        Assert.Equal("BOM-2", r2.Id);
    }

    [Fact]
    public async Task Utf8ByteOrderMark_InAStream_IsAccepted()
    {
        await using var s = new MemoryStream(new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("{\"id\":\"BOM-3\"}")).ToArray());
        var (r, error) = await OsvParser.ParseAsync(s);
        Assert.Null(error);
        Assert.Equal("BOM-3", r!.Id);
    }

    [Fact]
    public void Record_RoundTripsThroughJson_ForStorage()
    {
        var path = Directory.EnumerateFiles(VulnDbTestData.PathOf("ghsa"), "GHSA-hrpp-h998-j3pp.json", SearchOption.AllDirectories).Single();
        Assert.True(OsvParser.TryParse(File.ReadAllBytes(path), out var r, out _));
        var json = System.Text.Json.JsonSerializer.Serialize(r);
        Assert.True(OsvParser.TryParse(json, out var again, out var error), error);
        Assert.Equal(r.Id, again.Id);
        Assert.Equal(r.Aliases, again.Aliases);
        Assert.Equal(r.Modified, again.Modified);
        Assert.Equal(r.Affected.Count, again.Affected.Count);
        Assert.Equal(
            r.Affected.SelectMany(a => a.Ranges).SelectMany(g => g.Events).Select(e => e.Introduced + "|" + e.Fixed),
            again.Affected.SelectMany(a => a.Ranges).SelectMany(g => g.Events).Select(e => e.Introduced + "|" + e.Fixed));
        Assert.Equal(SeverityResolver.FromDatabaseSpecific(r.DatabaseSpecific), SeverityResolver.FromDatabaseSpecific(again.DatabaseSpecific));
        Assert.Contains("\"database_specific\"", json, StringComparison.Ordinal); // OSV's own field names
    }

    [Fact]
    public void UnknownFields_AreIgnored()
    {
        Assert.True(OsvParser.TryParse("""{"id":"X","future_field":{"a":[1,2]},"affected":[{"package":{"ecosystem":"npm","name":"a"},"new":1}]}""", out var r, out _));
        Assert.Single(r.Affected);
    }

    [Fact]
    public void Severity_DebianUrgencyMapping()
    {
        Assert.True(OsvParser.TryParse("""
            {"id":"CVE-1","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
             "affected":[
               {"package":{"ecosystem":"Debian:12","name":"a"},"ecosystem_specific":{"urgency":"unimportant"}},
               {"package":{"ecosystem":"Debian:12","name":"b"},"ecosystem_specific":{"urgency":"low"}},
               {"package":{"ecosystem":"Debian:12","name":"c"},"ecosystem_specific":{"urgency":"medium"}},
               {"package":{"ecosystem":"Debian:12","name":"d"},"ecosystem_specific":{"urgency":"high"}},
               {"package":{"ecosystem":"Debian:12","name":"e"},"ecosystem_specific":{"urgency":"not yet assigned"}},
               {"package":{"ecosystem":"Debian:12","name":"f"},"ecosystem_specific":{"urgency":"end-of-life"}},
               {"package":{"ecosystem":"Debian:12","name":"g"},"ecosystem_specific":{"urgency":"low**"}}
             ]}
            """, out var r, out _));
        var got = r.Affected.Select(a => SeverityResolver.Resolve(r, a, osPackage: true)).ToList();
        Assert.Equal([Severity.Low, Severity.Low, Severity.Medium, Severity.High, Severity.Critical, Severity.Critical, Severity.Low],
            got.Select(g => g.Severity).ToList());
        Assert.Equal(["debian_urgency", "debian_urgency", "debian_urgency", "debian_urgency", "cvss_v3", "cvss_v3", "debian_urgency"],
            got.Select(g => g.Source).ToList());
        Assert.All(got, g => Assert.Equal(9.8, g.CvssScore)); // the CVSS score is reported even when the urgency decides
    }

    [Fact]
    public void Severity_FallsThroughCvss3ThenCvss4ThenCvss2ThenDatabaseSpecific()
    {
        static ResolvedSeverity Of(string json)
        {
            Assert.True(OsvParser.TryParse(json, out var r, out var e), e);
            return SeverityResolver.Resolve(r, r.Affected[0], osPackage: false);
        }

        var v3v4 = Of("""{"id":"G","severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N"},{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"npm","name":"a"}}],"database_specific":{"severity":"LOW"}}""");
        Assert.Equal((Severity.Critical, "cvss_v3"), (v3v4.Severity, v3v4.Source));

        var v4 = Of("""{"id":"G","severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N"}],"affected":[{"package":{"ecosystem":"npm","name":"a"}}],"database_specific":{"severity":"CRITICAL"}}""");
        Assert.Equal((Severity.Medium, "cvss_v4", 6.9), (v4.Severity, v4.Source, v4.CvssScore!.Value));

        var v2 = Of("""{"id":"G","severity":[{"type":"CVSS_V2","score":"AV:N/AC:L/Au:N/C:P/I:P/A:P"}],"affected":[{"package":{"ecosystem":"npm","name":"a"}}]}""");
        Assert.Equal((Severity.High, "cvss_v2"), (v2.Severity, v2.Source));

        var moderate = Of("""{"id":"G","severity":[{"type":"CVSS_V3","score":"broken"}],"affected":[{"package":{"ecosystem":"npm","name":"a"}}],"database_specific":{"severity":"MODERATE"}}""");
        Assert.Equal((Severity.Medium, "database_specific"), (moderate.Severity, moderate.Source));

        var affectedLevel = Of("""{"id":"G","affected":[{"package":{"ecosystem":"npm","name":"a"},"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N"}]}]}""");
        Assert.Equal((Severity.Medium, "cvss_v3", 5.9), (affectedLevel.Severity, affectedLevel.Source, affectedLevel.CvssScore!.Value));

        var none = Of("""{"id":"G","affected":[{"package":{"ecosystem":"npm","name":"a"}}]}""");
        Assert.Equal((Severity.Unknown, (string?)null), (none.Severity, none.Source));

        // The urgency only counts for OS packages.
        Assert.True(OsvParser.TryParse("""{"id":"G","affected":[{"package":{"ecosystem":"npm","name":"a"},"ecosystem_specific":{"urgency":"high"}}]}""", out var r2, out _));
        Assert.Equal(Severity.Unknown, SeverityResolver.Resolve(r2, r2.Affected[0], osPackage: false).Severity);
    }

    [Fact]
    public void Severity_UbuntuPriority()
    {
        Assert.True(OsvParser.TryParse("""{"id":"UBUNTU-CVE-1","severity":[{"type":"Ubuntu","score":"negligible"},{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"Ubuntu:22.04:LTS","name":"a"}}]}""", out var r, out _));
        var s = SeverityResolver.Resolve(r, r.Affected[0], osPackage: true);
        Assert.Equal((Severity.Low, "ubuntu_priority"), (s.Severity, s.Source));
    }
}
