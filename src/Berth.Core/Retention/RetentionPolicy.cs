using Berth.Core.Immutability;
using Berth.Oci;

namespace Berth.Core.Retention;

/// <summary>
/// What a keep rule asks of the artifacts its filters select; a rule's conditions are AND'ed. "Used" is the last pull
/// (a pull by digest counts for every tag of the artifact), or the push when it was never pulled, so a fresh push is
/// never "unused".
/// </summary>
public abstract record RetentionCondition
{
    private RetentionCondition()
    {
    }

    /// <summary>Whatever the rule selects is kept (Harbor's "always").</summary>
    public sealed record Always : RetentionCondition
    {
        public override string Describe() => "always";

        internal override string Failure => "";
    }

    /// <summary>The <see cref="Count"/> most recently pushed of what the rule selects in the repository.</summary>
    public sealed record LatestPushed(int Count) : RetentionCondition
    {
        public override string Describe() => $"the {Count} most recently pushed";

        internal override string Failure => $"not among the {Count} most recently pushed";
    }

    /// <summary>The <see cref="Count"/> most recently used (pulled, else pushed) of what the rule selects in the repository.</summary>
    public sealed record LatestUsed(int Count) : RetentionCondition
    {
        public override string Describe() => $"the {Count} most recently pulled";

        internal override string Failure => $"not among the {Count} most recently pulled";
    }

    /// <summary>Pushed less than <see cref="Age"/> ago.</summary>
    public sealed record PushedWithin(TimeSpan Age) : RetentionCondition
    {
        public override string Describe() => $"pushed within {RetentionText.Duration(Age)}";

        internal override string Failure => $"pushed more than {RetentionText.Duration(Age)} ago";
    }

    /// <summary>Used (pulled, else pushed) less than <see cref="Age"/> ago.</summary>
    public sealed record UsedWithin(TimeSpan Age) : RetentionCondition
    {
        public override string Describe() => $"pulled within {RetentionText.Duration(Age)}";

        internal override string Failure => $"not pulled for {RetentionText.Duration(Age)}";
    }

    public abstract string Describe();

    /// <summary>Why an artifact the rule selected does not meet the condition.</summary>
    internal abstract string Failure { get; }
}

/// <summary>
/// One keep rule: it selects, in the repositories <see cref="Repositories"/> selects (paths relative to the project),
/// the artifacts with a tag <see cref="Tags"/> selects, or with <see cref="Untagged"/> the artifacts without tags, and
/// keeps those that meet every one of its <see cref="Conditions"/>. Counts (<c>the 10 most recently pushed</c>) are
/// per repository, over what the rule selects. Signature and attachment tags (<c>sha256-…</c>) are not tags here.
/// </summary>
public sealed record RetentionRule(PatternFilter Repositories, PatternFilter Tags, bool Untagged, IReadOnlyList<RetentionCondition> Conditions)
{
    public string Describe()
    {
        var what = Untagged ? "untagged artifacts" : $"tags {Tags.Describe()}";
        var where = Repositories.IsEmpty ? "" : $" in repositories {Repositories.Describe()}";
        return $"{what}{where}: keep {string.Join(" and ", Conditions.Select(c => c.Describe()))}";
    }
}

/// <summary>An artifact of one repository as retention sees it.</summary>
/// <param name="Digest">The manifest's digest.</param>
/// <param name="Tags">Its tags (signature and attachment tags included; they are told apart here).</param>
/// <param name="PushedAt">When its manifest was last pushed.</param>
/// <param name="PulledAt">When it was last pulled (by tag or digest); null when never.</param>
/// <param name="Subject">The manifest it refers to (an OCI 1.1 referrer: signature, SBOM, scan report), or null.</param>
/// <param name="Children">The manifests an index lists (empty for an image).</param>
public sealed record RetentionArtifact(Digest Digest, IReadOnlyList<Tag> Tags, DateTimeOffset PushedAt, DateTimeOffset? PulledAt, Digest? Subject, IReadOnlyList<Digest> Children)
{
    /// <summary>The last use: the last pull, or the push when never pulled (or pulled before its last push).</summary>
    public DateTimeOffset UsedAt => PulledAt is { } pulled && pulled > PushedAt ? pulled : PushedAt;
}

/// <summary>What retention decided for one artifact, and why (the text the history and a dry run show).</summary>
public sealed record RetentionVerdict(Digest Digest, bool Keep, string Reason);

/// <summary>
/// A project's retention: keep rules, OR'ed. An artifact is kept when some rule keeps it, when one of its tags is
/// immutable, when it is a child of a kept index, or when it is a referrer or attachment (<c>sha256-&lt;digest&gt;.*</c>
/// tag) of a kept artifact; everything else in a repository some rule covers is deleted, referrers and attachments of
/// a deleted artifact with it. Repositories no rule covers are left alone, and a policy without rules deletes nothing.
/// </summary>
public sealed record RetentionPolicy(IReadOnlyList<RetentionRule> Rules)
{
    /// <summary>Tags the lab preset never deletes.</summary>
    public const string LatestTag = "latest";

    /// <summary>
    /// The lab's policy (<c>berth retention set PROJECT --preset lab</c>), per repository: keep an artifact tagged
    /// <c>latest</c>; keep a tagged artifact that is among the 10 most recently pushed tagged ones and was used in the
    /// last 30 days; keep an untagged one only within <paramref name="grace"/> (the GC grace window: <c>docker manifest
    /// push</c> sends an index's children before the index); delete the rest. Immutable tags, children, referrers and
    /// attachments of kept artifacts are kept by every policy; attachments do not count toward the 10.
    /// </summary>
    public static RetentionPolicy Lab(TimeSpan grace) => new(
    [
        new RetentionRule(PatternFilter.All, PatternFilter.All, Untagged: false,
            [new RetentionCondition.LatestPushed(10), new RetentionCondition.UsedWithin(TimeSpan.FromDays(30))]),
        new RetentionRule(PatternFilter.All, new PatternFilter([GlobPattern.Parse(LatestTag)], []), Untagged: false, [new RetentionCondition.Always()]),
        new RetentionRule(PatternFilter.All, PatternFilter.All, Untagged: true, [new RetentionCondition.PushedWithin(grace)]),
    ]);

    /// <summary>
    /// The verdict for every artifact of one repository (<paramref name="relativePath"/>: its path inside the project,
    /// as rules' repository filters see it), in the order given.
    /// </summary>
    public IReadOnlyList<RetentionVerdict> Evaluate(string relativePath, IReadOnlyList<RetentionArtifact> artifacts, DateTimeOffset now, Func<Tag, bool> isImmutable)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        ArgumentNullException.ThrowIfNull(artifacts);
        ArgumentNullException.ThrowIfNull(isImmutable);
        var rules = Rules.Select((rule, index) => (Rule: rule, Number: index + 1)).Where(r => r.Rule.Repositories.Selects(relativePath)).ToList();
        if (rules.Count == 0)
        {
            return artifacts.Select(a => new RetentionVerdict(a.Digest, true, "no rule covers the repository")).ToList();
        }

        var byDigest = new Dictionary<Digest, RetentionArtifact>();
        foreach (var artifact in artifacts)
        {
            byDigest.TryAdd(artifact.Digest, artifact);
        }

        // Referrers and attachments of an artifact present here follow it; they are not weighed by the rules.
        var dependsOn = new Dictionary<Digest, Digest>();
        foreach (var artifact in byDigest.Values)
        {
            if (artifact.Subject is { } subject && subject != artifact.Digest && byDigest.ContainsKey(subject))
            {
                dependsOn[artifact.Digest] = subject;
            }
            else if (artifact.Tags.Count > 0 && artifact.Tags.All(ImmutabilityPolicy.IsExempt)
                && AttachedTo(artifact.Tags[0]) is { } named && named != artifact.Digest && byDigest.ContainsKey(named))
            {
                dependsOn[artifact.Digest] = named;
            }
        }

        var kept = new Dictionary<Digest, string>();
        var failures = new Dictionary<Digest, string>();
        foreach (var (rule, number) in rules)
        {
            var selected = byDigest.Values
                .Where(a => !dependsOn.ContainsKey(a.Digest))
                .Where(a => rule.Untagged ? !OwnTags(a).Any() : OwnTags(a).Any(t => rule.Tags.Selects(t.Value)))
                .ToList();
            var pushRank = Rank(selected, a => a.PushedAt);
            var useRank = Rank(selected, a => a.UsedAt);
            foreach (var artifact in selected)
            {
                var failed = rule.Conditions.FirstOrDefault(c => !Meets(c, artifact, now, pushRank, useRank));
                if (failed is null)
                {
                    kept.TryAdd(artifact.Digest, $"kept by rule {number} ({rule.Describe()})");
                }
                else
                {
                    failures.TryAdd(artifact.Digest, $"rule {number} ({rule.Describe()}): {failed.Failure}");
                }
            }
        }

        foreach (var artifact in byDigest.Values)
        {
            if (!kept.ContainsKey(artifact.Digest) && OwnTags(artifact).Where(isImmutable).Select(t => (Tag?)t).FirstOrDefault() is { } immutable)
            {
                kept[artifact.Digest] = $"kept: tag {immutable} is immutable";
            }
        }

        // What kept artifacts need: an index's children, then referrers and attachments, until nothing is added.
        var dependents = dependsOn.GroupBy(p => p.Value).ToDictionary(g => g.Key, g => g.Select(p => p.Key).ToList());
        var work = new Queue<Digest>(kept.Keys);
        while (work.TryDequeue(out var digest))
        {
            var artifact = byDigest[digest];
            foreach (var child in artifact.Children)
            {
                if (byDigest.ContainsKey(child) && kept.TryAdd(child, $"kept: listed by the kept index {digest}"))
                {
                    work.Enqueue(child);
                }
            }

            foreach (var dependent in dependents.GetValueOrDefault(digest) ?? [])
            {
                if (kept.TryAdd(dependent, $"kept: refers to the kept artifact {digest}"))
                {
                    work.Enqueue(dependent);
                }
            }
        }

        return artifacts.Select(a => kept.TryGetValue(a.Digest, out var why)
            ? new RetentionVerdict(a.Digest, true, why)
            : new RetentionVerdict(a.Digest, false, dependsOn.TryGetValue(a.Digest, out var subject)
                ? $"refers to {subject}, which is deleted"
                : failures.GetValueOrDefault(a.Digest) ?? "selected by no rule")).ToList();
    }

    private static IEnumerable<Tag> OwnTags(RetentionArtifact artifact) => artifact.Tags.Where(t => !ImmutabilityPolicy.IsExempt(t));

    /// <summary>The digest an attachment tag names: <c>sha256-&lt;hex&gt;[.suffix]</c> → <c>sha256:&lt;hex&gt;</c>.</summary>
    private static Digest? AttachedTo(Tag tag) =>
        Digest.TryParse("sha256:" + tag.Value.Substring("sha256-".Length, 64), out var digest) ? digest : null;

    /// <summary>1 for the newest; ties broken by digest so a run is repeatable.</summary>
    private static Dictionary<Digest, int> Rank(List<RetentionArtifact> selected, Func<RetentionArtifact, DateTimeOffset> by) =>
        selected.OrderByDescending(by).ThenBy(a => a.Digest.ToString(), StringComparer.Ordinal)
            .Select((a, i) => (a.Digest, Rank: i + 1)).ToDictionary(p => p.Digest, p => p.Rank);

    private static bool Meets(RetentionCondition condition, RetentionArtifact artifact, DateTimeOffset now, Dictionary<Digest, int> pushRank, Dictionary<Digest, int> useRank) => condition switch
    {
        RetentionCondition.Always => true,
        RetentionCondition.LatestPushed latest => pushRank[artifact.Digest] <= latest.Count,
        RetentionCondition.LatestUsed latest => useRank[artifact.Digest] <= latest.Count,
        RetentionCondition.PushedWithin within => now - artifact.PushedAt < within.Age,
        RetentionCondition.UsedWithin within => now - artifact.UsedAt < within.Age,
        _ => throw new ArgumentOutOfRangeException(nameof(condition)),
    };
}

/// <summary>How retention writes durations: whole days, else hours, minutes or seconds.</summary>
public static class RetentionText
{
    public static string Duration(TimeSpan age) => age switch
    {
        { TotalDays: >= 1 } when age.Ticks % TimeSpan.TicksPerDay == 0 => Plural((long)age.TotalDays, "day"),
        { TotalHours: >= 1 } when age.Ticks % TimeSpan.TicksPerHour == 0 => Plural((long)age.TotalHours, "hour"),
        { TotalMinutes: >= 1 } when age.Ticks % TimeSpan.TicksPerMinute == 0 => Plural((long)age.TotalMinutes, "minute"),
        _ => Plural((long)Math.Ceiling(age.TotalSeconds), "second"),
    };

    private static string Plural(long n, string unit) => n == 1 ? $"1 {unit}" : $"{n} {unit}s";
}
