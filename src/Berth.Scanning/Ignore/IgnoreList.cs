using System.Text.RegularExpressions;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;

namespace Berth.Scanning.Ignore;

/// <summary>
/// One entry of an ignore file. It ignores a finding whose vulnerability id, advisory id or any alias equals
/// <see cref="Id"/> (case-insensitive), while it has not expired, and, when <see cref="Paths"/> or <see cref="Purls"/>
/// are given (YAML form only), only for packages read from one of those paths or with one of those purls.
/// </summary>
/// <param name="Id">The id to ignore ("CVE-2024-1234", "GHSA-…").</param>
/// <param name="ExpiresOn">The first day (UTC) on which the entry no longer ignores anything; null for never.</param>
/// <param name="Statement">Why it is ignored, if the file says.</param>
/// <param name="Paths">Package file paths (globs: '*' within a path segment, '**' across segments); empty for any.</param>
/// <param name="Purls">Package URLs; one without a version matches every version; qualifiers are not compared; empty for any.</param>
/// <param name="Line">Where the entry is, for messages: its line (line form) or its position in the list (YAML form), 1-based.</param>
public sealed record IgnoreEntry(
    string Id,
    DateOnly? ExpiresOn,
    string? Statement,
    IReadOnlyList<string> Paths,
    IReadOnlyList<string> Purls,
    int Line)
{
    /// <summary>True when the entry still ignores on <paramref name="today"/> (it ignores up to the day before <see cref="ExpiresOn"/>).</summary>
    public bool IsActive(DateOnly today) => ExpiresOn is not { } expires || today < expires;

    /// <summary>True when the entry ignores <paramref name="finding"/> on <paramref name="today"/>.</summary>
    public bool Matches(Finding finding, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(finding);
        if (!IsActive(today) || !NamesFinding(finding))
        {
            return false;
        }

        if (Paths.Count > 0 && !Paths.Any(p => PathMatches(p, finding.Package.FilePath)))
        {
            return false;
        }

        if (Purls.Count > 0)
        {
            var purl = Normalize(PackageUrl.For(finding.Package, null));
            return Purls.Any(p => PurlMatches(Normalize(p), purl));
        }

        return true;
    }

    private bool NamesFinding(Finding f) =>
        string.Equals(Id, f.VulnerabilityId, StringComparison.OrdinalIgnoreCase)
        || string.Equals(Id, f.AdvisoryId, StringComparison.OrdinalIgnoreCase)
        || f.Aliases.Any(a => string.Equals(Id, a, StringComparison.OrdinalIgnoreCase));

    // Drops qualifiers and subpath: the entry names a package (and maybe a version), not a distro release.
    private static string Normalize(string purl)
    {
        var end = purl.IndexOfAny(['?', '#']);
        return end < 0 ? purl : purl[..end];
    }

    private static bool PurlMatches(string entry, string package) =>
        entry.Contains('@', StringComparison.Ordinal)
            ? string.Equals(entry, package, StringComparison.Ordinal)
            : string.Equals(entry, PackageUrl.WithoutVersion(package), StringComparison.Ordinal);

    private static bool PathMatches(string pattern, string path)
    {
        pattern = pattern.TrimStart('/');
        path = path.TrimStart('/');
        if (!pattern.Contains('*', StringComparison.Ordinal))
        {
            return string.Equals(pattern, path, StringComparison.Ordinal);
        }

        var regex = "^" + Regex.Escape(pattern).Replace(@"\*\*", ".*", StringComparison.Ordinal).Replace(@"\*", "[^/]*", StringComparison.Ordinal) + "$";
        // Non-backtracking: a pattern like "**a**a**a" costs linear time, never a timeout.
        return Regex.IsMatch(path, regex, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
    }
}

/// <summary>
/// The entries of an ignore file (<c>.trivyignore</c> or <c>.trivyignore.yaml</c>). Read with <see cref="Load"/> or the
/// parsers; a malformed file throws <see cref="IgnoreFileException"/> naming the line.
/// </summary>
public sealed class IgnoreList
{
    /// <summary>Makes a list of <paramref name="entries"/>.</summary>
    public IgnoreList(IEnumerable<IgnoreEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        Entries = entries.ToList();
    }

    /// <summary>An empty list.</summary>
    public static IgnoreList Empty { get; } = new([]);

    /// <summary>The entries, in file order.</summary>
    public IReadOnlyList<IgnoreEntry> Entries { get; }

    /// <summary>The first entry that ignores <paramref name="finding"/> on <paramref name="today"/>, or null when none does (expired entries never do).</summary>
    public IgnoreEntry? Match(Finding finding, DateOnly today)
    {
        foreach (var entry in Entries)
        {
            if (entry.Matches(finding, today))
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>The largest ignore file read (4 MiB): far above any real list, small enough to parse in memory.</summary>
    public const long MaxFileBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Reads an ignore file: the YAML form when the name ends in ".yaml" or ".yml", the line form otherwise. A missing file
    /// throws <see cref="FileNotFoundException"/>; a malformed one, or one over <see cref="MaxFileBytes"/>,
    /// <see cref="IgnoreFileException"/>.
    /// </summary>
    public static IgnoreList Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.CanSeek && stream.Length > MaxFileBytes)
        {
            throw new IgnoreFileException($"ignore file {path} is {stream.Length} bytes; the limit is {MaxFileBytes}");
        }

        using var reader = new StreamReader(stream);
        return path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
            ? TrivyIgnoreYaml.Parse(reader)
            : TrivyIgnoreFile.Parse(reader);
    }
}

/// <summary>An ignore file that cannot be read as one; the message names the line and what is wrong.</summary>
public sealed class IgnoreFileException : FormatException
{
    /// <summary>Makes the exception.</summary>
    public IgnoreFileException()
    {
    }

    /// <summary>Makes the exception with a message.</summary>
    public IgnoreFileException(string message)
        : base(message)
    {
    }

    /// <summary>Makes the exception with a message and a cause.</summary>
    public IgnoreFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
