using Berth.Scanning.Advisories;
using Berth.Scanning.Versions;

namespace Berth.Scanning.Tests.Advisories;

public sealed class OsvRangeTests
{
    private static OsvAffected Affected(string type, params OsvEvent[] events) =>
        new() { Package = new OsvPackage("npm", "p", null), Ranges = [new OsvRange { Type = type, Events = events }] };

    private static OsvEvent Introduced(string v) => new() { Introduced = v };
    private static OsvEvent Fixed(string v) => new() { Fixed = v };
    private static OsvEvent LastAffected(string v) => new() { LastAffected = v };
    private static OsvEvent Limit(string v) => new() { Limit = v };

    [Theory]
    [InlineData("0.9.0", false)]
    [InlineData("1.0.0", true)]
    [InlineData("1.5.0", true)]
    [InlineData("2.0.0-rc.1", true)]
    [InlineData("2.0.0", false)]
    [InlineData("3.0.0", false)]
    public void IntroducedFixed(string version, bool affected)
    {
        var r = OsvRangeEvaluator.Evaluate(Affected("SEMVER", Introduced("1.0.0"), Fixed("2.0.0")), version, SemVerComparer.Instance);
        Assert.Equal(affected, r.IsAffected);
        Assert.Equal(affected ? "2.0.0" : null, r.FixedVersion);
    }

    [Theory]
    [InlineData("0.0.1", true)]
    [InlineData("4.17.20", true)]
    [InlineData("4.17.21", false)]
    public void IntroducedZero_IsBeforeEverything(string version, bool affected) =>
        Assert.Equal(affected, OsvRangeEvaluator.Evaluate(Affected("ECOSYSTEM", Introduced("0"), Fixed("4.17.21")), version, SemVerComparer.Instance).IsAffected);

    [Theory]
    [InlineData("1.0.0", true)]
    [InlineData("1.4.2", true)] // last_affected is inclusive
    [InlineData("1.4.3", false)]
    [InlineData("0.9.0", false)]
    public void LastAffected_IsInclusive_AndHasNoFix(string version, bool affected)
    {
        var r = OsvRangeEvaluator.Evaluate(Affected("ECOSYSTEM", Introduced("1.0.0"), LastAffected("1.4.2")), version, SemVerComparer.Instance);
        Assert.Equal(affected, r.IsAffected);
        Assert.Null(r.FixedVersion);
    }

    [Fact]
    public void IntroducedOnly_IsAffectedWithoutFix()
    {
        var r = OsvRangeEvaluator.Evaluate(Affected("ECOSYSTEM", Introduced("0")), "9.9.9", SemVerComparer.Instance);
        Assert.True(r.IsAffected);
        Assert.Null(r.FixedVersion);
    }

    [Theory]
    [InlineData("1.5.0", true)]
    [InlineData("2.9.0", true)]
    [InlineData("3.0.0", false)] // at or above the limit: outside the range
    [InlineData("3.5.0", false)]
    public void Limit_BoundsTheRange(string version, bool affected) =>
        Assert.Equal(affected, OsvRangeEvaluator.Evaluate(Affected("ECOSYSTEM", Introduced("1.0.0"), Limit("3.0.0")), version, SemVerComparer.Instance).IsAffected);

    [Fact]
    public void LimitStar_IsNoLimit() =>
        Assert.True(OsvRangeEvaluator.Evaluate(Affected("ECOSYSTEM", Introduced("0"), Limit("*")), "100.0.0", SemVerComparer.Instance).IsAffected);

    [Theory]
    [InlineData("1.0.0", true, "1.2.0")]
    [InlineData("1.2.0", false, null)]
    [InlineData("2.0.0", true, "2.3.1")]
    [InlineData("2.3.0", true, "2.3.1")]
    [InlineData("2.3.1", false, null)]
    [InlineData("3.0.0", false, null)]
    public void SeveralIntervalsInOneRange_EventsOutOfOrderAreSorted(string version, bool affected, string? fix)
    {
        // Deliberately out of order: evaluation sorts by the ecosystem's order.
        var a = Affected("ECOSYSTEM", Fixed("2.3.1"), Introduced("2.0.0"), Fixed("1.2.0"), Introduced("0"));
        var r = OsvRangeEvaluator.Evaluate(a, version, SemVerComparer.Instance);
        Assert.Equal(affected, r.IsAffected);
        Assert.Equal(fix, r.FixedVersion);
    }

    [Fact]
    public void SeveralRanges_AnyIncludes_SmallestFixAboveWins()
    {
        var a = new OsvAffected
        {
            Ranges =
            [
                new OsvRange { Type = "ECOSYSTEM", Events = [Introduced("0"), Fixed("5.0.0")] },
                new OsvRange { Type = "ECOSYSTEM", Events = [Introduced("4.0.0"), Fixed("4.2.0")] },
            ],
        };
        var r = OsvRangeEvaluator.Evaluate(a, "4.1.0", SemVerComparer.Instance);
        Assert.True(r.IsAffected);
        Assert.Equal("4.2.0", r.FixedVersion);
    }

    [Fact]
    public void ExplicitVersions_MatchOutsideRanges_WithTheFixAbove()
    {
        var a = new OsvAffected
        {
            Versions = ["0.5.0", "0.6.0"],
            Ranges = [new OsvRange { Type = "ECOSYSTEM", Events = [Introduced("1.0.0"), Fixed("1.1.0")] }],
        };
        Assert.True(OsvRangeEvaluator.Evaluate(a, "0.5.0", SemVerComparer.Instance).IsAffected);
        Assert.Equal("1.1.0", OsvRangeEvaluator.Evaluate(a, "0.5.0", SemVerComparer.Instance).FixedVersion);
        Assert.False(OsvRangeEvaluator.Evaluate(a, "0.5.1", SemVerComparer.Instance).IsAffected);
        Assert.True(OsvRangeEvaluator.Evaluate(a, "1.0.5", SemVerComparer.Instance).IsAffected);
    }

    [Fact]
    public void ExplicitVersions_AreComparedByTheOrdering_NotOnlyAsText() =>
        Assert.True(OsvRangeEvaluator.Evaluate(new OsvAffected { Versions = ["1.0"] }, "1.0.0", Pep440VersionComparer.Instance).IsAffected);

    [Fact]
    public void GitRanges_AreIgnored()
    {
        var a = new OsvAffected { Ranges = [new OsvRange { Type = "GIT", Repo = "https://x", Events = [Introduced("0"), Fixed("abc123")] }] };
        Assert.False(OsvRangeEvaluator.Evaluate(a, "1.0.0", SemVerComparer.Instance).IsAffected);
    }

    [Fact]
    public void UnknownEcosystemOrdering_OnlyVersionsListCounts()
    {
        var a = new OsvAffected
        {
            Versions = ["7"],
            Ranges = [new OsvRange { Type = "ECOSYSTEM", Events = [Introduced("0")] }],
        };
        Assert.True(OsvRangeEvaluator.Evaluate(a, "7", comparer: null).IsAffected);
        Assert.False(OsvRangeEvaluator.Evaluate(a, "8", comparer: null).IsAffected);
    }

    [Fact]
    public void UnparsableInstalledVersion_IsOnlyMatchedByTheList()
    {
        var a = new OsvAffected
        {
            Versions = ["not a version"],
            Ranges = [new OsvRange { Type = "ECOSYSTEM", Events = [Introduced("0"), Fixed("2.0.0")] }],
        };
        Assert.True(OsvRangeEvaluator.Evaluate(a, "not a version", SemVerComparer.Instance).IsAffected);
        Assert.False(OsvRangeEvaluator.Evaluate(a, "garbage", SemVerComparer.Instance).IsAffected);
    }

    [Fact]
    public void RangeWithUnparsableEvent_IsSkipped_OthersStillCount()
    {
        var a = new OsvAffected
        {
            Ranges =
            [
                new OsvRange { Type = "ECOSYSTEM", Events = [Introduced("0"), Fixed("not-semver!")] },
                new OsvRange { Type = "ECOSYSTEM", Events = [Introduced("3.0.0"), Fixed("3.1.0")] },
            ],
        };
        Assert.False(OsvRangeEvaluator.Evaluate(a, "1.0.0", SemVerComparer.Instance).IsAffected);
        Assert.True(OsvRangeEvaluator.Evaluate(a, "3.0.5", SemVerComparer.Instance).IsAffected);
    }

    [Theory]
    [InlineData("3.0.15-1~deb12u1", false)]
    [InlineData("3.0.11-1~deb12u2", true)]
    [InlineData("3.0.14-1~deb12u2", true)]
    [InlineData("3.0.15-1~deb12u0", true)]
    public void Debian_TildeVersions(string installed, bool affected)
    {
        var a = Affected("ECOSYSTEM", Introduced("0"), Fixed("3.0.15-1~deb12u1"));
        Assert.Equal(affected, OsvRangeEvaluator.Evaluate(a, installed, DebianVersionComparer.Instance).IsAffected);
    }
}
