using System.Text;
using Berth.Core.Immutability;
using Berth.Core.Retention;
using Berth.Oci;

namespace Berth.Core.Tests.Retention;

/// <summary>Retention's decisions as table tests on a fixed clock: each condition, filters, OR of rules, and the lab preset.</summary>
public sealed class RetentionPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    private static Digest D(string name) => Digest.Compute(DigestAlgorithm.Sha256, Encoding.UTF8.GetBytes(name));

    private static RetentionArtifact A(string name, TimeSpan pushedAgo, TimeSpan? pulledAgo = null, string[]? tags = null, string? subject = null, string[]? children = null) =>
        new(D(name), (tags ?? []).Select(Tag.Parse).ToList(), Now - pushedAgo, pulledAgo is { } p ? Now - p : null,
            subject is null ? null : D(subject), (children ?? []).Select(D).ToList());

    private static TimeSpan Days(double n) => TimeSpan.FromDays(n);

    private static PatternFilter Globs(params string[] patterns) => new(patterns.Select(GlobPattern.Parse).ToList(), []);

    private static Dictionary<string, RetentionVerdict> Run(RetentionPolicy policy, IReadOnlyList<RetentionArtifact> artifacts, Func<Tag, bool>? immutable = null, string path = "app", Dictionary<Digest, string>? names = null)
    {
        var verdicts = policy.Evaluate(path, artifacts, Now, immutable ?? (_ => false));
        Assert.Equal(artifacts.Select(a => a.Digest), verdicts.Select(v => v.Digest));
        names ??= [];
        return verdicts.ToDictionary(v => names.GetValueOrDefault(v.Digest) ?? v.Digest.ToString());
    }

    private static Dictionary<string, RetentionVerdict> RunNamed(RetentionPolicy policy, params (string Name, RetentionArtifact Artifact)[] artifacts) =>
        Run(policy, artifacts.Select(a => a.Artifact).ToList(), names: artifacts.ToDictionary(a => a.Artifact.Digest, a => a.Name));

    [Fact]
    public void LabPreset_FifteenTaggedArtifactsWithIndexReferrersAttachmentsAndUntagged_KeepsExactlyWhatThePolicySays()
    {
        var artifacts = new List<(string, RetentionArtifact)>
        {
            ("multi", A("multi", Days(1), tags: ["multi"], children: ["c1", "c2"])),
            ("c1", A("c1", Days(1))),
            ("c2", A("c2", Days(1))),
            ("old-index", A("old-index", Days(80), tags: ["old"], children: ["c3"])),
            ("c3", A("c3", Days(80))),
            ("u-fresh", A("u-fresh", TimeSpan.FromMinutes(10))),
            ("u-stale", A("u-stale", TimeSpan.FromHours(2))),
        };
        for (var i = 1; i <= 15; i++)
        {
            TimeSpan? pulled = i switch { 7 => Days(3), 9 => Days(1), 12 => Days(1), _ => null };
            string[] tags = i switch { 14 => ["t14", "latest"], 15 => ["t15", "v1.0"], _ => [$"t{i}"] };
            artifacts.Add(($"t{i}", A($"t{i}", Days(5 * i), pulled, tags)));
        }

        // Signatures and attachments of t1 (kept) and t12 (deleted), pushed a minute ago: they must not count toward the 10.
        artifacts.Add(("sig-t1", A("sig-t1", TimeSpan.FromMinutes(1), subject: "t1")));
        artifacts.Add(("sig-t11", A("sig-t11", TimeSpan.FromMinutes(1), subject: "t11")));
        artifacts.Add(("att-t1", A("att-t1", TimeSpan.FromMinutes(1), tags: [$"sha256-{D("t1").Hex}.sig"])));
        artifacts.Add(("att-t12", A("att-t12", TimeSpan.FromMinutes(1), tags: [$"sha256-{D("t12").Hex}.att"])));
        artifacts.Add(("sbom-t1", A("sbom-t1", TimeSpan.FromMinutes(1), tags: [$"sha256-{D("t1").Hex}"])));

        var verdicts = RunNamed(RetentionPolicy.Lab(TimeSpan.FromHours(1)), [.. artifacts]);
        var v = verdicts.ToDictionary(p => p.Key, p => p.Value);

        string[] kept =
        [
            "multi", "c1", "c2", "u-fresh", "t1", "t2", "t3", "t4", "t5", "t7", "t9", "t14",
            "sig-t1", "att-t1", "sbom-t1",
        ];
        Assert.Equal(kept.Order(), v.Where(p => p.Value.Keep).Select(p => p.Key).Order());

        // Why, in the words of the history and the dry run.
        Assert.StartsWith("kept by rule 1", v["t9"].Reason, StringComparison.Ordinal); // rank 10 thanks to attachments not counting
        Assert.Equal("rule 1 (tags all: keep the 10 most recently pushed and pulled within 30 days): not pulled for 30 days", v["t6"].Reason);
        Assert.EndsWith("not pulled for 30 days", v["t8"].Reason, StringComparison.Ordinal);
        Assert.EndsWith("not among the 10 most recently pushed", v["t10"].Reason, StringComparison.Ordinal);
        Assert.EndsWith("not among the 10 most recently pushed", v["t12"].Reason, StringComparison.Ordinal); // pulled yesterday, still too old a push
        Assert.StartsWith("kept by rule 2", v["t14"].Reason, StringComparison.Ordinal); // latest
        Assert.Equal("kept: listed by the kept index " + D("multi"), v["c1"].Reason);
        Assert.Equal("kept: refers to the kept artifact " + D("t1"), v["att-t1"].Reason);
        Assert.Equal("refers to " + D("t11") + ", which is deleted", v["sig-t11"].Reason);
        Assert.Equal("refers to " + D("t12") + ", which is deleted", v["att-t12"].Reason);
        Assert.Equal("rule 3 (untagged artifacts: keep pushed within 1 hour): pushed more than 1 hour ago", v["u-stale"].Reason);
        Assert.False(v["c3"].Keep); // child of a deleted index, older than the grace window
        Assert.False(v["t15"].Keep); // v1.0 is not immutable in this run
    }

    [Fact]
    public void LabPreset_ImmutableTag_IsKeptWhateverItsAge()
    {
        var artifacts = Enumerable.Range(1, 12).Select(i => A($"x{i}", Days(40 + i), tags: [i == 12 ? "v1.0" : $"x{i}"])).ToList();

        var verdicts = Run(RetentionPolicy.Lab(TimeSpan.FromHours(1)), artifacts, immutable: t => t.Value.StartsWith('v'));

        Assert.Equal([D("x12").ToString()], verdicts.Values.Where(v => v.Keep).Select(v => v.Digest.ToString()));
        Assert.Equal("kept: tag v1.0 is immutable", verdicts[D("x12").ToString()].Reason);
    }

    public static TheoryData<string, RetentionCondition, string[]> Conditions() => new()
    {
        // a: pushed 1 d, pulled never; b: pushed 5 d, pulled 1 h ago; c: pushed 10 d, pulled 8 d ago; d: pushed 20 d.
        { "always", new RetentionCondition.Always(), ["a", "b", "c", "d"] },
        { "2 most recently pushed", new RetentionCondition.LatestPushed(2), ["a", "b"] },
        { "2 most recently pulled", new RetentionCondition.LatestUsed(2), ["a", "b"] },
        { "3 most recently pulled", new RetentionCondition.LatestUsed(3), ["a", "b", "c"] },
        { "pushed within 7 days", new RetentionCondition.PushedWithin(Days(7)), ["a", "b"] },
        { "pulled within 9 days", new RetentionCondition.UsedWithin(Days(9)), ["a", "b", "c"] },
        { "pulled within 2 days", new RetentionCondition.UsedWithin(Days(2)), ["a", "b"] },
        { "0 most recently pushed", new RetentionCondition.LatestPushed(0), [] },
    };

    [Theory]
    [MemberData(nameof(Conditions))]
    public void EachCondition_KeepsWhatItSays(string name, RetentionCondition condition, string[] expected)
    {
        var policy = new RetentionPolicy([new RetentionRule(PatternFilter.All, PatternFilter.All, false, [condition])]);

        var verdicts = RunNamed(policy,
            ("a", A("a", Days(1), tags: ["a"])),
            ("b", A("b", Days(5), Days(1.0 / 24), ["b"])),
            ("c", A("c", Days(10), Days(8), ["c"])),
            ("d", A("d", Days(20), tags: ["d"])));

        Assert.True(expected.Order().SequenceEqual(verdicts.Where(v => v.Value.Keep).Select(v => v.Key).Order()), name);
    }

    [Fact]
    public void Rules_AreOred_AndConditionsOfOneRuleAreAnded()
    {
        var policy = new RetentionPolicy(
        [
            new RetentionRule(PatternFilter.All, Globs("v*"), false, [new RetentionCondition.LatestPushed(2), new RetentionCondition.PushedWithin(Days(15))]),
            new RetentionRule(PatternFilter.All, Globs("stable"), false, [new RetentionCondition.Always()]),
        ]);

        var verdicts = RunNamed(policy,
            ("v3", A("v3", Days(1), tags: ["v3"])),
            ("v2", A("v2", Days(20), tags: ["v2"])), // among the 2 newest v*, but too old
            ("v1", A("v1", Days(30), tags: ["v1", "stable"])), // third v*, kept by the second rule
            ("dev", A("dev", Days(1), tags: ["dev"]))); // no rule selects it

        Assert.Equal(["v1", "v3"], verdicts.Where(v => v.Value.Keep).Select(v => v.Key).Order());
        Assert.EndsWith("pushed more than 15 days ago", verdicts["v2"].Reason, StringComparison.Ordinal);
        Assert.Equal("selected by no rule", verdicts["dev"].Reason);
    }

    [Fact]
    public void TagFilter_Excluding_LeavesThoseTagsToOtherRulesAndCountsOnlyWhatItSelects()
    {
        var policy = new RetentionPolicy(
            [new RetentionRule(PatternFilter.All, new PatternFilter([GlobPattern.Parse("v*")], [GlobPattern.Parse("v*-rc*")]), false, [new RetentionCondition.LatestPushed(2)])]);

        var verdicts = RunNamed(policy,
            ("rc", A("rc", Days(1), tags: ["v3-rc1"])),
            ("v2", A("v2", Days(2), tags: ["v2"])),
            ("v1", A("v1", Days(3), tags: ["v1"])),
            ("v0", A("v0", Days(4), tags: ["v0"])));

        Assert.Equal(["v1", "v2"], verdicts.Where(v => v.Value.Keep).Select(v => v.Key).Order());
    }

    [Fact]
    public void EcrStyle_ExpireUntaggedAfterSevenDays_KeepsTaggedAndFreshUntagged()
    {
        var policy = new RetentionPolicy(
        [
            new RetentionRule(PatternFilter.All, PatternFilter.All, false, [new RetentionCondition.Always()]),
            new RetentionRule(PatternFilter.All, PatternFilter.All, true, [new RetentionCondition.PushedWithin(Days(7))]),
        ]);

        var verdicts = RunNamed(policy,
            ("tagged-old", A("tagged-old", Days(100), tags: ["x"])),
            ("untagged-new", A("untagged-new", Days(6))),
            ("untagged-old", A("untagged-old", Days(8), Days(1))));

        Assert.Equal(["tagged-old", "untagged-new"], verdicts.Where(v => v.Value.Keep).Select(v => v.Key).Order());
    }

    [Fact]
    public void RepositoryFilter_RepositoriesNoRuleCovers_AreLeftAlone()
    {
        var policy = new RetentionPolicy([new RetentionRule(Globs("api/**"), PatternFilter.All, false, [new RetentionCondition.LatestPushed(1)])]);
        var artifacts = new[] { A("a", Days(1), tags: ["a"]), A("b", Days(2), tags: ["b"]) };

        Assert.All(Run(policy, artifacts, path: "web").Values, v => Assert.Equal("no rule covers the repository", v.Reason));
        Assert.Single(Run(policy, artifacts, path: "api/v2/server").Values, v => v.Keep);
        Assert.All(Run(new RetentionPolicy([]), artifacts).Values, v => Assert.True(v.Keep));
    }

    [Fact]
    public void ChildOfAKeptIndex_SharedWithADeletedOne_IsKept_AndChainsOfReferrersFollow()
    {
        var policy = new RetentionPolicy([new RetentionRule(PatternFilter.All, PatternFilter.All, false, [new RetentionCondition.LatestPushed(1)])]);

        var verdicts = RunNamed(policy,
            ("new", A("new", Days(1), tags: ["new"], children: ["shared"])),
            ("old", A("old", Days(9), tags: ["old"], children: ["shared", "only-old"])),
            ("shared", A("shared", Days(9))),
            ("only-old", A("only-old", Days(9))),
            ("sig", A("sig", Days(1), subject: "new")),
            ("sig-of-sig", A("sig-of-sig", Days(1), subject: "sig")));

        Assert.Equal(["new", "shared", "sig", "sig-of-sig"], verdicts.Where(v => v.Value.Keep).Select(v => v.Key).Order());
    }

    [Fact]
    public void Ties_AreBrokenByDigest_SoARunIsRepeatable()
    {
        var policy = new RetentionPolicy([new RetentionRule(PatternFilter.All, PatternFilter.All, false, [new RetentionCondition.LatestPushed(2)])]);
        var artifacts = Enumerable.Range(0, 5).Select(i => A($"same{i}", Days(1), tags: [$"t{i}"])).ToList();

        var first = Run(policy, artifacts).Values.Where(v => v.Keep).Select(v => v.Digest.ToString()).Order(StringComparer.Ordinal).ToList();
        artifacts.Reverse();
        var second = Run(policy, artifacts).Values.Where(v => v.Keep).Select(v => v.Digest.ToString()).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(2, first.Count);
        Assert.Equal(first, second);
        Assert.Equal(first, artifacts.Select(a => a.Digest.ToString()).Order(StringComparer.Ordinal).Take(2));
    }

    [Theory]
    [InlineData(30 * 24 * 3600, "30 days")]
    [InlineData(3600, "1 hour")]
    [InlineData(90, "90 seconds")]
    [InlineData(120, "2 minutes")]
    public void Durations_AreWrittenPlainly(int seconds, string expected) =>
        Assert.Equal(expected, RetentionText.Duration(TimeSpan.FromSeconds(seconds)));
}
