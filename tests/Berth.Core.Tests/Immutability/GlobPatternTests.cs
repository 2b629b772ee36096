using Berth.Core.Immutability;

namespace Berth.Core.Tests.Immutability;

public sealed class GlobPatternTests
{
    [Theory]
    [InlineData("v*", "v1", true)]
    [InlineData("v*", "v", true)]
    [InlineData("v*", "v1.2.3", true)]
    [InlineData("v*", "latest", false)]
    [InlineData("v*", "av1", false)]
    [InlineData("*", "", true)]
    [InlineData("*", "api", true)]
    [InlineData("*", "team/api", false)]
    [InlineData("**", "team/api", true)]
    [InlineData("**", "", true)]
    [InlineData("team/*", "team/api", true)]
    [InlineData("team/*", "team/api/web", false)]
    [InlineData("team/**", "team/api/web", true)]
    [InlineData("team/**", "team", false)]
    [InlineData("**/api", "api", true)]
    [InlineData("**/api", "a/b/api", true)]
    [InlineData("**/api", "a/bapi", false)]
    [InlineData("a/**/z", "a/z", true)]
    [InlineData("a/**/z", "a/b/c/z", true)]
    [InlineData("a/**/z", "az", false)]
    [InlineData("v?", "v1", true)]
    [InlineData("v?", "v12", false)]
    [InlineData("v?", "v", false)]
    [InlineData("a?b", "a/b", false)]
    [InlineData("{dev,stable}", "dev", true)]
    [InlineData("{dev,stable}", "stable", true)]
    [InlineData("{dev,stable}", "devstable", false)]
    [InlineData("v1.{0,1{a,b}}", "v1.1b", true)]
    [InlineData("v1.{0,1{a,b}}", "v1.1", false)]
    [InlineData("v{,-rc}1", "v1", true)]
    [InlineData("v{,-rc}1", "v-rc1", true)]
    [InlineData("v1.0", "v1x0", false)] // '.' is a literal, never "any character"
    [InlineData("V*", "v1", false)] // case-sensitive
    [InlineData("*-rc*", "1.0-rc2", true)]
    [InlineData("*.*.*", "1.2.3", true)]
    [InlineData("*.*.*", "1.2", false)]
    [InlineData("***", "a/b", true)]
    public void IsMatch_Table(string pattern, string value, bool expected)
    {
        Assert.Equal(expected, GlobPattern.Parse(pattern).IsMatch(value));
    }

    [Theory]
    [InlineData("")]
    [InlineData("v1,v2")] // a list is split before parsing
    [InlineData("{a,b")]
    [InlineData("a}")]
    [InlineData("v[0-9]")]
    [InlineData("v(1|2)")]
    [InlineData("^v.*$")]
    [InlineData("v\\d")]
    [InlineData("a b")]
    [InlineData("v\n1")]
    [InlineData("v+")]
    public void TryParse_BadPattern_IsRefusedWithAReason(string text)
    {
        Assert.False(GlobPattern.TryParse(text, out var pattern, out var error));
        Assert.Null(pattern);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void TryParse_TooLongOrTooManyAlternatives_IsRefused()
    {
        Assert.False(GlobPattern.TryParse(new string('a', GlobPattern.MaxLength + 1), out _, out _));
        Assert.True(GlobPattern.TryParse(new string('a', GlobPattern.MaxLength), out _, out _));
        Assert.False(GlobPattern.TryParse("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", out _, out var error)); // 128 alternatives
        Assert.Contains("alternatives", error, StringComparison.Ordinal);
        Assert.False(GlobPattern.TryParse("**/**/**/**/**/**/**/x", out _, out _));
    }

    [Fact]
    public void IsMatch_PathologicalPattern_IsFast()
    {
        var pattern = GlobPattern.Parse("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
        var value = new string('a', 128);
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(pattern.IsMatch(value));
        Assert.True(started.ElapsedMilliseconds < 1000);
    }
}

public sealed class ImmutabilityPolicyTests
{
    private static ImmutabilityRule Rule(long id, string[] tags, string[]? excludeTags = null, string[]? repositories = null, string[]? excludeRepositories = null) =>
        new(id, PatternFilter.TryParse(repositories, excludeRepositories, out _)!, PatternFilter.TryParse(tags, excludeTags, out _)!, DateTimeOffset.UnixEpoch);

    private static ImmutabilityRule? Find(IEnumerable<ImmutabilityRule> rules, string repository, string tag) =>
        ImmutabilityPolicy.Find(rules, Oci.RepositoryName.Parse(repository), Oci.Tag.Parse(tag));

    [Theory]
    [InlineData("shop/api", "v1.0", true)]
    [InlineData("shop/api", "v2", true)]
    [InlineData("shop/api", "latest", false)]
    [InlineData("shop/api", "dev", false)]
    [InlineData("shop/api", "stable", false)]
    [InlineData("shop/api", "1.0", false)]
    [InlineData("shop", "v1", true)] // the project's own repository
    [InlineData("shop/a/b/c", "v1", true)]
    public void Find_UsualSetting_VStarImmutable(string repository, string tag, bool immutable)
    {
        var rules = new[] { Rule(1, ["v*"], ["latest", "dev", "stable"]) };
        Assert.Equal(immutable, Find(rules, repository, tag) is not null);
    }

    [Theory]
    [InlineData("sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig", true)]
    [InlineData("sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.att", true)]
    [InlineData("sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sbom", true)]
    [InlineData("sha256-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.sig", true)]
    [InlineData("sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", false)] // 63 hex
    [InlineData("sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefx", false)]
    [InlineData("sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", false)]
    [InlineData("sha512-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("v1", false)]
    public void IsExempt_SignatureAndAttachmentTags(string tag, bool exempt)
    {
        Assert.Equal(exempt, ImmutabilityPolicy.IsExempt(Oci.Tag.Parse(tag)));
        var everything = new[] { Rule(1, ["**"]) };
        Assert.Equal(!exempt, Find(everything, "shop/api", tag) is not null);
    }

    [Fact]
    public void Find_RulesAreOred_AndTheLowestIdAnswers()
    {
        var rules = new[]
        {
            Rule(7, ["release-*"], repositories: ["team/**"]),
            Rule(3, ["v*"], ["latest"], excludeRepositories: ["sandbox/*"]),
            Rule(5, ["v1*"]),
        };

        Assert.Equal(3, Find(rules, "shop/api", "v1.0")!.Id);
        Assert.Equal(5, Find(rules, "shop/sandbox/x", "v1.0")!.Id); // rule 3 excludes the repository, rule 5 does not
        Assert.Null(Find(rules, "shop/sandbox/x", "v2"));
        Assert.Equal(7, Find(rules, "shop/team/a/b", "release-1")!.Id);
        Assert.Null(Find(rules, "shop/api", "release-1"));
        Assert.Null(Find([], "shop/api", "v1"));
    }

    [Fact]
    public void Refusal_Message_NamesTagAndRule()
    {
        var rule = Rule(3, ["v*"], ["latest"]);
        var refusal = ImmutabilityPolicy.Check([rule], Oci.RepositoryName.Parse("shop/api"), Oci.Tag.Parse("v1.0"))!;
        Assert.Equal("tag v1.0 is immutable (rule 3: tags v* excluding latest)", refusal.Message);
        Assert.Equal("tags v*,w* in repositories api/** excluding api/tmp", Rule(4, ["v*", "w*"], repositories: ["api/**"], excludeRepositories: ["api/tmp"]).Describe());
    }

    [Fact]
    public void StoredPatterns_RoundTrip()
    {
        var filter = PatternFilter.TryParse(["v*", "{a,b}"], ["latest"], out _)!;
        var rule = StoredPatterns.Rule(9, StoredPatterns.Join(filter.Matching), "", StoredPatterns.Join(filter.Matching), StoredPatterns.Join(filter.Excluding), 0);
        Assert.Equal(["v*", "{a,b}"], rule.Tags.Matching.Select(p => p.Text));
        Assert.Equal(["latest"], rule.Tags.Excluding.Select(p => p.Text));
        Assert.Equal(["v*", "{a,b}"], rule.Repositories.Matching.Select(p => p.Text));
        Assert.Empty(rule.Repositories.Excluding);
    }
}
