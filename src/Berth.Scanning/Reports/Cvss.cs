using Berth.Scanning.Findings;

namespace Berth.Scanning.Reports;

/// <summary>What the writers need to know about a CVSS vector: its version, from its prefix.</summary>
internal static class Cvss
{
    /// <summary>"4.0", "3.1", "3.0", or "2.0" for a vector without a "CVSS:" prefix.</summary>
    public static string VersionOf(string vector) =>
        vector.StartsWith("CVSS:4.0/", StringComparison.Ordinal) ? "4.0"
        : vector.StartsWith("CVSS:3.1/", StringComparison.Ordinal) ? "3.1"
        : vector.StartsWith("CVSS:3.0/", StringComparison.Ordinal) ? "3.0"
        : "2.0";

    /// <summary>
    /// The number GitHub's code scanning ranks a SARIF rule by (<c>security-severity</c>): the CVSS score when the finding
    /// has one, else a value inside the severity's CVSS band (CRITICAL 9.5, HIGH 8.0, MEDIUM 5.5, LOW 2.0, UNKNOWN 0.0).
    /// </summary>
    public static double SecuritySeverity(Severity severity, double? score) => score ?? severity switch
    {
        Severity.Critical => 9.5,
        Severity.High => 8.0,
        Severity.Medium => 5.5,
        Severity.Low => 2.0,
        _ => 0.0,
    };
}
