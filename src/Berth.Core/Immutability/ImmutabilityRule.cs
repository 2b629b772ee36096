using Berth.Oci;

namespace Berth.Core.Immutability;

/// <summary>
/// A filter over names: it selects a name that matches one of <see cref="Matching"/> (or any name when that list is
/// empty) and none of <see cref="Excluding"/>.
/// </summary>
public sealed record PatternFilter(IReadOnlyList<GlobPattern> Matching, IReadOnlyList<GlobPattern> Excluding)
{
    /// <summary>Selects every name.</summary>
    public static PatternFilter All { get; } = new([], []);

    public bool IsEmpty => Matching.Count == 0 && Excluding.Count == 0;

    public bool Selects(string name) =>
        (Matching.Count == 0 || Matching.Any(p => p.IsMatch(name))) && !Excluding.Any(p => p.IsMatch(name));

    /// <summary>Parses the pattern lists (see <see cref="GlobPattern.TryParse"/>); the first bad pattern is the error.</summary>
    public static PatternFilter? TryParse(IEnumerable<string>? matching, IEnumerable<string>? excluding, out string? error)
    {
        var m = new List<GlobPattern>();
        var x = new List<GlobPattern>();
        foreach (var (source, into) in new[] { (matching, m), (excluding, x) })
        {
            foreach (var text in source ?? [])
            {
                if (!GlobPattern.TryParse(text, out var pattern, out error))
                {
                    return null;
                }

                if (!into.Contains(pattern))
                {
                    into.Add(pattern);
                }
            }
        }

        error = null;
        return new PatternFilter(m, x);
    }

    /// <summary>"v* excluding latest,dev"; "all" for an empty filter, "all excluding x" without matching patterns.</summary>
    public string Describe()
    {
        var text = Matching.Count == 0 ? "all" : string.Join(',', Matching.Select(p => p.Text));
        return Excluding.Count == 0 ? text : $"{text} excluding {string.Join(',', Excluding.Select(p => p.Text))}";
    }
}

/// <summary>
/// One immutability rule of a project: a tag is immutable under it when <see cref="Repositories"/> selects the
/// repository's path relative to the project (<see cref="ImmutabilityPolicy.RelativePath"/>) and <see cref="Tags"/>
/// selects the tag. A project's rules are OR'ed.
/// </summary>
public sealed record ImmutabilityRule(long Id, PatternFilter Repositories, PatternFilter Tags, DateTimeOffset CreatedAt)
{
    /// <summary>What the rule selects, without its id: <c>tags v* excluding latest</c>, then <c> in repositories …</c> when filtered.</summary>
    public string Describe() =>
        Repositories.IsEmpty ? $"tags {Tags.Describe()}" : $"tags {Tags.Describe()} in repositories {Repositories.Describe()}";

    public bool Selects(RepositoryName repository, Tag tag) =>
        Tags.Selects(tag.Value) && Repositories.Selects(ImmutabilityPolicy.RelativePath(repository));
}

/// <summary>A refused change to an immutable tag: which tag, and the rule that makes it immutable.</summary>
public sealed record ImmutableTagRefusal(RepositoryName Repository, Tag Tag, ImmutabilityRule Rule)
{
    /// <summary><c>tag v1.0 is immutable (rule 3: tags v* excluding latest)</c>: the text clients show.</summary>
    public string Message => $"tag {Tag} is immutable (rule {Rule.Id}: {Rule.Describe()})";
}

/// <summary>The decisions of tag immutability, as pure functions over a project's rules.</summary>
public static class ImmutabilityPolicy
{
    /// <summary>How many rules a project may have.</summary>
    public const int MaxRulesPerProject = 100;

    /// <summary>How many patterns one filter list may hold.</summary>
    public const int MaxPatternsPerList = 20;

    /// <summary>
    /// True for the tags signing and attachment tools write beside an image, which are never immutable (they are
    /// re-written as signatures are added): <c>sha256-&lt;64 hex&gt;</c>, optionally followed by <c>.</c> and a suffix
    /// (<c>.sig</c>, <c>.att</c>, <c>.sbom</c>, …).
    /// </summary>
    public static bool IsExempt(Tag tag)
    {
        var value = tag.Value;
        const string prefix = "sha256-";
        if (!value.StartsWith(prefix, StringComparison.Ordinal) || value.Length < prefix.Length + 64)
        {
            return false;
        }

        for (var i = prefix.Length; i < prefix.Length + 64; i++)
        {
            if (!char.IsAsciiHexDigit(value[i]))
            {
                return false;
            }
        }

        return value.Length == prefix.Length + 64 || value[prefix.Length + 64] == '.';
    }

    /// <summary>The repository's path inside its project: <c>shop/api/web</c> → <c>api/web</c>; the project's own repository <c>shop</c> → empty.</summary>
    public static string RelativePath(RepositoryName repository)
    {
        var value = repository.Value;
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? string.Empty : value[(slash + 1)..];
    }

    /// <summary>The first rule (lowest id) under which the tag is immutable; null when it is movable.</summary>
    public static ImmutabilityRule? Find(IEnumerable<ImmutabilityRule> rules, RepositoryName repository, Tag tag)
    {
        ArgumentNullException.ThrowIfNull(rules);
        if (IsExempt(tag))
        {
            return null;
        }

        return rules.OrderBy(r => r.Id).FirstOrDefault(r => r.Selects(repository, tag));
    }

    /// <summary>The refusal for changing <paramref name="tag"/>, or null when no rule makes it immutable.</summary>
    public static ImmutableTagRefusal? Check(IEnumerable<ImmutabilityRule> rules, RepositoryName repository, Tag tag) =>
        Find(rules, repository, tag) is { } rule ? new ImmutableTagRefusal(repository, tag, rule) : null;
}

/// <summary>How the stores keep a filter's pattern list in one text column: the patterns joined by a newline (which no pattern contains).</summary>
public static class StoredPatterns
{
    public static string Join(IReadOnlyList<GlobPattern> patterns) => string.Join('\n', patterns.Select(p => p.Text));

    /// <summary>The patterns of a stored column (validated when they were added; a pattern that no longer parses throws <see cref="FormatException"/>, so a check fails closed).</summary>
    public static IReadOnlyList<GlobPattern> Split(string? text) =>
        string.IsNullOrEmpty(text) ? [] : text.Split('\n').Select(GlobPattern.Parse).ToArray();

    /// <summary>A rule from its stored columns.</summary>
    public static ImmutabilityRule Rule(long id, string? repositoriesMatching, string? repositoriesExcluding, string? tagsMatching, string? tagsExcluding, long createdAtMilliseconds) =>
        new(id, new PatternFilter(Split(repositoriesMatching), Split(repositoriesExcluding)),
            new PatternFilter(Split(tagsMatching), Split(tagsExcluding)), DateTimeOffset.FromUnixTimeMilliseconds(createdAtMilliseconds));
}
