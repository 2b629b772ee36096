using Berth.Core.Scanning;

namespace Berth.Application.Scanning;

/// <summary>Why the pull policy refuses a manifest, or that it does not.</summary>
public enum PullVerdictKind
{
    Allowed,

    /// <summary>Scanned, with findings at or above the project's block severity that no allowlist entry lifts.</summary>
    Vulnerable,

    /// <summary>Not scanned (no result, queued, scanning, failed, unsupported, or done without a database version) and the project refuses unscanned images.</summary>
    Unscanned,
}

/// <summary>
/// The pull policy's decision for one manifest digest in one project: for <see cref="PullVerdictKind.Vulnerable"/>, how
/// many findings block it and the worst ids (<c>CVE-2024-1 CRITICAL, CVE-2024-2 HIGH, …</c>, at most five); for
/// <see cref="PullVerdictKind.Unscanned"/>, where its scan stands (<c>none</c>, <c>queued</c>, <c>failed</c>, …);
/// <see cref="Threshold"/> is the project's block severity it was decided under.
/// </summary>
public sealed record PullVerdict(PullVerdictKind Kind, int Count = 0, string? WorstIds = null, string? ScanState = null, BlockSeverity Threshold = BlockSeverity.None)
{
    public static PullVerdict Allowed { get; } = new(PullVerdictKind.Allowed);
}
