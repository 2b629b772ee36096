using Berth.Scanning.Findings;
using Berth.Scanning.Ignore;
using Berth.Scanning.Reports;
using static Berth.Scanning.Tests.Reports.ReportFixture;

namespace Berth.Scanning.Tests.Reports;

public sealed class FindingFilterTests
{
    private static readonly DateOnly Today = new(2026, 3, 14);

    [Theory]
    [InlineData("CRITICAL,HIGH", new[] { Severity.Critical, Severity.High })]
    [InlineData("critical, High ", new[] { Severity.Critical, Severity.High })]
    [InlineData("UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL", new[] { Severity.Unknown, Severity.Low, Severity.Medium, Severity.High, Severity.Critical })]
    [InlineData("HIGH,HIGH", new[] { Severity.High })]
    public void SeverityList_Parse_ValidLists_GiveTheSet(string text, Severity[] expected)
    {
        var parsed = SeverityList.Parse(text);

        Assert.True(parsed.Success, parsed.Error);
        Assert.Equal(expected.Order(), parsed.Severities!.Order());
    }

    [Theory]
    [InlineData("SEVERE", "unknown severity \"SEVERE\" in --severity")]
    [InlineData("HIGH,3", "unknown severity \"3\"")]
    [InlineData("HIGH,,LOW", "has an empty entry")]
    [InlineData("", "needs at least one severity")]
    [InlineData("  ", "needs at least one severity")]
    public void SeverityList_Parse_BadLists_SayWhatIsWrong(string text, string expected)
    {
        var parsed = SeverityList.Parse(text);

        Assert.False(parsed.Success);
        Assert.Null(parsed.Severities);
        Assert.Contains(expected, parsed.Error, StringComparison.Ordinal);
        Assert.Contains("UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL", parsed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void SeverityList_Parse_EscapeInEntry_IsNotEchoedRaw()
    {
        var parsed = SeverityList.Parse("HIGH,\u001b[2J\u001b]0;owned\u0007");

        Assert.False(parsed.Success);
        Assert.DoesNotContain('\u001b', parsed.Error!);
        Assert.DoesNotContain('\u0007', parsed.Error!);
    }

    [Fact]
    public void Apply_SeverityList_KeepsOnlyThoseSeverities()
    {
        var outcome = new FindingFilter(Severities: new HashSet<Severity> { Severity.Critical, Severity.High }).Apply(AllFindings, Today);

        Assert.Equal(["CVE-2021-44228", "CVE-2021-23337", "CVE-2024-2511"], outcome.Kept.Select(f => f.VulnerabilityId));
        Assert.All(outcome.Ignored, i => Assert.Equal(IgnoreReason.Severity, i.Reason));
        Assert.Equal(AllFindings.Count, outcome.Kept.Count + outcome.Ignored.Count);
    }

    [Fact]
    public void Apply_IgnoreUnfixed_DropsFindingsWithoutFixedVersion()
    {
        var outcome = new FindingFilter(IgnoreUnfixed: true).Apply(AllFindings, Today);

        Assert.DoesNotContain(outcome.Kept, f => f.FixedVersion is null);
        Assert.Equal(["CVE-2023-5678", "CVE-2010-4756"], outcome.Ignored.Select(i => i.Finding.VulnerabilityId));
        Assert.All(outcome.Ignored, i => Assert.Equal(IgnoreReason.Unfixed, i.Reason));
    }

    [Fact]
    public void Apply_IgnoreFile_IgnoresByIdAndByAlias_UntilExpiry()
    {
        var ignore = TrivyIgnoreFile.Parse("""
            # accepted until the upgrade
            CVE-2024-0727
            GHSA-35jh-r3h4-6jhm exp:2026-03-15
            CVE-2024-2511 exp:2026-03-14
            """);

        var outcome = new FindingFilter(Ignore: ignore).Apply(AllFindings, Today);

        var ignoredIds = outcome.Ignored.Select(i => i.Finding.VulnerabilityId).ToList();
        Assert.Equal(["CVE-2024-0727", "CVE-2024-0727", "CVE-2021-23337"], ignoredIds);
        Assert.Contains(outcome.Kept, f => f.VulnerabilityId == "CVE-2024-2511"); // expired today
        Assert.All(outcome.Ignored, i => Assert.NotNull(i.Entry));

        var dayLater = new FindingFilter(Ignore: ignore).Apply(AllFindings, Today.AddDays(1));
        Assert.Contains(dayLater.Kept, f => f.VulnerabilityId == "CVE-2021-23337");
    }

    [Fact]
    public void Apply_AllFilters_CombineAndTheOrderOfReasonsIsSeverityUnfixedIgnore()
    {
        var filter = new FindingFilter(
            new HashSet<Severity> { Severity.Low, Severity.High, Severity.Critical },
            IgnoreUnfixed: true,
            TrivyIgnoreFile.Parse("CVE-2021-44228\nCVE-2023-5678"));

        var outcome = filter.Apply(AllFindings, Today);

        Assert.Equal(["CVE-2021-23337", "CVE-2024-2511"], outcome.Kept.Select(f => f.VulnerabilityId));
        Assert.Equal(IgnoreReason.Unfixed, outcome.Ignored.Single(i => i.Finding.VulnerabilityId == "CVE-2023-5678").Reason);
        Assert.Equal(IgnoreReason.IgnoreFile, outcome.Ignored.Single(i => i.Finding.VulnerabilityId == "CVE-2021-44228").Reason);
    }

    [Theory]
    [InlineData(1, true, 1)]
    [InlineData(1, false, 0)]
    [InlineData(0, true, 0)]
    [InlineData(42, true, 42)]
    public void ExitCode_IsRequestedCodeOnlyWhenFindingsRemain(int requested, bool remain, int expected)
    {
        var filter = remain ? FindingFilter.None : new FindingFilter(Severities: new HashSet<Severity> { Severity.Critical }, Ignore: TrivyIgnoreFile.Parse("CVE-2021-44228"));

        var outcome = filter.Apply(AllFindings, Today);

        Assert.Equal(expected, outcome.ExitCode(requested));
    }

    [Fact]
    public void ExitCode_NoFindingsAtAll_IsZero()
    {
        Assert.Equal(0, FindingFilter.None.Apply([], Today).ExitCode(1));
    }
}
