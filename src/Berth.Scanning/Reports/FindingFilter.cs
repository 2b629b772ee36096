using Berth.Scanning.Findings;
using Berth.Scanning.Ignore;

namespace Berth.Scanning.Reports;

/// <summary>
/// What to leave out of a report, as Trivy's flags say it: <c>--severity</c>, <c>--ignore-unfixed</c> and
/// <c>--ignorefile</c>. A finding is kept when its severity is in <see cref="Severities"/> (all when null), it has a fixed
/// version or <see cref="IgnoreUnfixed"/> is off, and no unexpired ignore entry names its id or one of its aliases.
/// </summary>
public sealed record FindingFilter(IReadOnlySet<Severity>? Severities = null, bool IgnoreUnfixed = false, IgnoreList? Ignore = null)
{
    /// <summary>Keeps everything.</summary>
    public static FindingFilter None { get; } = new();

    /// <summary>Splits <paramref name="findings"/> into kept and ignored; <paramref name="today"/> (UTC) decides which ignore entries have expired.</summary>
    public FilterOutcome Apply(IEnumerable<Finding> findings, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var kept = new List<Finding>();
        var ignored = new List<IgnoredFinding>();
        foreach (var finding in findings)
        {
            if (Severities is not null && !Severities.Contains(finding.Severity))
            {
                ignored.Add(new(finding, IgnoreReason.Severity, null));
            }
            else if (IgnoreUnfixed && string.IsNullOrEmpty(finding.FixedVersion))
            {
                ignored.Add(new(finding, IgnoreReason.Unfixed, null));
            }
            else if (Ignore?.Match(finding, today) is { } entry)
            {
                ignored.Add(new(finding, IgnoreReason.IgnoreFile, entry));
            }
            else
            {
                kept.Add(finding);
            }
        }

        return new(kept, ignored);
    }
}

/// <summary>Why a finding was left out.</summary>
public enum IgnoreReason
{
    /// <summary>Its severity is not in the requested list.</summary>
    Severity,

    /// <summary>It has no fixed version and <c>--ignore-unfixed</c> is on.</summary>
    Unfixed,

    /// <summary>An unexpired ignore file entry names it.</summary>
    IgnoreFile,
}

/// <summary>A finding left out, with the reason (and the ignore entry, for <see cref="IgnoreReason.IgnoreFile"/>).</summary>
public sealed record IgnoredFinding(Finding Finding, IgnoreReason Reason, IgnoreEntry? Entry);

/// <summary>The findings kept for the report and those left out.</summary>
public sealed record FilterOutcome(IReadOnlyList<Finding> Kept, IReadOnlyList<IgnoredFinding> Ignored)
{
    /// <summary>
    /// Trivy's <c>--exit-code N</c> rule: <paramref name="requested"/> when any finding remains after filtering, else 0.
    /// With <paramref name="requested"/> 0 (the default) the exit code is always 0.
    /// </summary>
    public int ExitCode(int requested) => Kept.Count > 0 ? requested : 0;
}
