using Berth.Core.Scanning;
using Berth.Scanning.Findings;

namespace Berth.Application.Scanning;

/// <summary>
/// The short forms of a scan's findings stored beside them (<see cref="ScanResult.Counts"/>, <see cref="ScanResult.WorstIds"/>)
/// so listings and the pull policy read no JSON. One place for both, for the scanner and for whoever writes a refusal.
/// </summary>
public static class FindingSummary
{
    /// <summary>The most ids <see cref="WorstIds"/> names.</summary>
    public const int MaxWorstIds = 5;

    /// <summary>Findings per severity (a vulnerability found in two packages counts twice, as Trivy's totals do).</summary>
    public static SeverityCounts Counts(IEnumerable<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        int unknown = 0, low = 0, medium = 0, high = 0, critical = 0;
        foreach (var finding in findings)
        {
            switch (finding.Severity)
            {
                case Severity.Low:
                    low++;
                    break;
                case Severity.Medium:
                    medium++;
                    break;
                case Severity.High:
                    high++;
                    break;
                case Severity.Critical:
                    critical++;
                    break;
                default:
                    unknown++;
                    break;
            }
        }

        return new SeverityCounts(unknown, low, medium, high, critical);
    }

    /// <summary>
    /// Up to <see cref="MaxWorstIds"/> distinct vulnerability ids, worst severity first (then by id, ordinal), each with
    /// its severity: <c>CVE-2024-1 (CRITICAL), CVE-2024-2 (HIGH)</c>. Null when there are no findings.
    /// </summary>
    public static string? WorstIds(IEnumerable<Finding> findings) => WorstIds(findings.Select(f => (f.VulnerabilityId, f.Severity)));

    /// <summary>As <see cref="WorstIds(IEnumerable{Finding})"/> over (id, severity) pairs, for callers that filtered findings (an allowlist).</summary>
    public static string? WorstIds(IEnumerable<(string Id, Severity Severity)> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var worst = findings
            .GroupBy(f => f.Id, StringComparer.Ordinal)
            .Select(g => (Id: g.Key, Severity: g.Max(f => f.Severity)))
            .OrderByDescending(f => f.Severity)
            .ThenBy(f => f.Id, StringComparer.Ordinal)
            .Take(MaxWorstIds)
            .Select(f => $"{f.Id} ({Word(f.Severity)})")
            .ToList();
        if (worst.Count == 0)
        {
            return null;
        }

        var text = string.Join(", ", worst);
        return text.Length <= ScanLimits.MaxShortText ? text : text[..ScanLimits.MaxShortText];
    }

    /// <summary>A severity as Trivy writes it: <c>UNKNOWN</c>, <c>LOW</c>, <c>MEDIUM</c>, <c>HIGH</c>, <c>CRITICAL</c>.</summary>
    public static string Word(Severity severity) => severity switch
    {
        Severity.Low => "LOW",
        Severity.Medium => "MEDIUM",
        Severity.High => "HIGH",
        Severity.Critical => "CRITICAL",
        _ => "UNKNOWN",
    };
}
