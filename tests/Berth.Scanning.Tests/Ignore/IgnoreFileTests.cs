using Berth.Scanning.Ignore;
using static Berth.Scanning.Tests.Reports.ReportFixture;

namespace Berth.Scanning.Tests.Ignore;

public sealed class IgnoreFileTests
{
    private static readonly DateOnly Today = new(2026, 3, 14);

    [Fact]
    public void Parse_LineForm_IdsCommentsBlanksAndExpiry()
    {
        var list = TrivyIgnoreFile.Parse("""
            # Accept the risk
            CVE-2018-14618

              CVE-2019-14697   exp:2027-01-01
            CVE-2020-1234 # not exploitable here
            GHSA-abcd-efgh-ijkl exp:2025-12-31 other words
            CVE-2021-9#9
            """);

        Assert.Equal(["CVE-2018-14618", "CVE-2019-14697", "CVE-2020-1234", "GHSA-abcd-efgh-ijkl", "CVE-2021-9#9"], list.Entries.Select(e => e.Id));
        Assert.Equal([null, new DateOnly(2027, 1, 1), null, new DateOnly(2025, 12, 31), null], list.Entries.Select(e => e.ExpiresOn));
        Assert.Equal([2, 4, 5, 6, 7], list.Entries.Select(e => e.Line));
    }

    [Fact]
    public void Parse_EmptyAndCommentOnly_NoEntries()
    {
        Assert.Empty(TrivyIgnoreFile.Parse(string.Empty).Entries);
        Assert.Empty(TrivyIgnoreFile.Parse("# nothing\n\n   \n#CVE-2020-1\r\n").Entries);
    }

    [Theory]
    [InlineData("CVE-1 exp:2026-13-01", 1)]
    [InlineData("\nCVE-1 exp:tomorrow", 2)]
    [InlineData("CVE-1\n\n\nCVE-2 exp:", 4)]
    public void Parse_BadExpiry_ErrorNamesTheLine(string text, int line)
    {
        var e = Assert.Throws<IgnoreFileException>(() => TrivyIgnoreFile.Parse(text));

        Assert.Contains($"line {line}", e.Message, StringComparison.Ordinal);
        Assert.Contains("exp:YYYY-MM-DD", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_ByVulnerabilityIdAdvisoryIdOrAlias_CaseInsensitive()
    {
        var finding = LodashHigh with { Aliases = ["CVE-2021-23337", "SNYK-JS-LODASH-1040724"] };

        Assert.NotNull(TrivyIgnoreFile.Parse("cve-2021-23337").Match(finding, Today));
        Assert.NotNull(TrivyIgnoreFile.Parse("GHSA-35jh-r3h4-6jhm").Match(finding, Today));
        Assert.NotNull(TrivyIgnoreFile.Parse("SNYK-JS-LODASH-1040724").Match(finding, Today));
        Assert.Null(TrivyIgnoreFile.Parse("CVE-2021-2333").Match(finding, Today));
    }

    [Fact]
    public void Match_ExpiredEntry_NoLongerIgnores_FromItsDateOn()
    {
        var list = TrivyIgnoreFile.Parse("CVE-2021-44228 exp:2026-03-15");

        Assert.NotNull(list.Match(Log4Shell, Today));
        Assert.Null(list.Match(Log4Shell, Today.AddDays(1)));
        Assert.Null(list.Match(Log4Shell, Today.AddYears(1)));
    }

    [Fact]
    public void Match_LaterEntryStillActive_WhenAnEarlierOneExpired()
    {
        var list = TrivyIgnoreFile.Parse("CVE-2021-44228 exp:2020-01-01\nCVE-2021-44228 exp:2030-01-01");

        Assert.Equal(2, list.Match(Log4Shell, Today)!.Line);
    }

    [Fact]
    public void Parse_Yaml_EntriesWithStatementExpiryPathsAndPurls()
    {
        var list = TrivyIgnoreYaml.Parse("""
            vulnerabilities:
              - id: CVE-2021-44228
                statement: Not reachable, JNDI lookups disabled
                expired_at: 2027-01-01
              - id: CVE-2024-0727
                purls:
                  - pkg:deb/debian/openssl
              - id: CVE-2021-23337
                paths: ["other/**/package.json"]
              - id: CVE-2010-4756
                expired_at: 2026-03-14
            misconfigurations:
              - id: AVD-DS-0002
            secrets:
              - id: aws-access-key-id
            """);

        Assert.Equal(4, list.Entries.Count);
        var log4j = list.Entries[0];
        Assert.Equal("Not reachable, JNDI lookups disabled", log4j.Statement);
        Assert.Equal(new DateOnly(2027, 1, 1), log4j.ExpiresOn);
        Assert.NotNull(list.Match(Log4Shell, Today));
        Assert.NotNull(list.Match(OpenSslMedium, Today));
        Assert.Null(list.Match(SslMedium, Today)); // libssl3 is not the purl named
        Assert.Null(list.Match(LodashHigh, Today)); // not under other/
        Assert.NotNull(list.Match(LodashHigh with { Package = Lodash with { FilePath = "other/a/b/package.json" } }, Today));
        Assert.Null(list.Match(GlibcUnknown, Today)); // expired
    }

    [Fact]
    public void Parse_Yaml_PurlWithVersion_MatchesOnlyThatVersion()
    {
        var list = TrivyIgnoreYaml.Parse("""
            vulnerabilities:
              - id: CVE-2024-0727
                purls: ["pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12"]
            """);

        Assert.NotNull(list.Match(SslMedium, Today));
        Assert.Null(list.Match(SslMedium with { Package = LibSsl with { Version = "3.0.11-1~deb12u1" } }, Today));
    }

    [Theory]
    [InlineData("vulnerabilities:\n  - statement: no id\n", "entry 1 has no id")]
    [InlineData("vulnerabilities:\n  - id: CVE-1\n  - id: CVE-2\n    expired_at: next week\n", "expired_at \"next week\" is not a date")]
    [InlineData("vulnerabilities: [\n  - id: x\n", "not a valid .trivyignore.yaml")]
    [InlineData("vulnerabilities:\n  - id: [a, b]\n", "not a valid .trivyignore.yaml")]
    public void Parse_Yaml_Malformed_ClearError(string text, string expected)
    {
        var e = Assert.Throws<IgnoreFileException>(() => TrivyIgnoreYaml.Parse(text));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_PathologicalGlob_AnswersQuickly()
    {
        var list = TrivyIgnoreYaml.Parse("vulnerabilities:\n  - id: CVE-2021-23337\n    paths: [\"" + string.Concat(Enumerable.Repeat("**a", 200)) + "b\"]\n");
        var finding = LodashHigh with { Package = Lodash with { FilePath = new string('a', 5000) } };

        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(list.Match(finding, Today));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), watch.Elapsed.ToString());
    }

    [Fact]
    public void Parse_Yaml_EmptyDocument_NoEntries()
    {
        Assert.Empty(TrivyIgnoreYaml.Parse(string.Empty).Entries);
        Assert.Empty(TrivyIgnoreYaml.Parse("misconfigurations: []\n").Entries);
    }

    [Fact]
    public void Load_ChoosesTheFormByFileName()
    {
        var dir = Directory.CreateTempSubdirectory("berth-ignore-");
        try
        {
            var plain = Path.Combine(dir.FullName, ".trivyignore");
            var yaml = Path.Combine(dir.FullName, ".trivyignore.yaml");
            File.WriteAllText(plain, "CVE-2021-44228\n");
            File.WriteAllText(yaml, "vulnerabilities:\n  - id: CVE-2021-44228\n    statement: yaml\n");

            Assert.Null(IgnoreList.Load(plain).Entries.Single().Statement);
            Assert.Equal("yaml", IgnoreList.Load(yaml).Entries.Single().Statement);
            Assert.Throws<FileNotFoundException>(() => IgnoreList.Load(Path.Combine(dir.FullName, "missing")));

            var huge = Path.Combine(dir.FullName, "huge");
            using (var stream = File.Create(huge))
            {
                stream.SetLength(IgnoreList.MaxFileBytes + 1);
            }

            Assert.Contains("the limit is", Assert.Throws<IgnoreFileException>(() => IgnoreList.Load(huge)).Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
