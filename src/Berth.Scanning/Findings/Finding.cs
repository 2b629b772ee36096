using Berth.Scanning.Inventory;

namespace Berth.Scanning.Findings;

/// <summary>Severity levels in Trivy's order; <see cref="Unknown"/> when no source gives one.</summary>
public enum Severity
{
    Unknown = 0,
    Low = 1,
    Medium = 2,
    High = 3,
    Critical = 4,
}

/// <summary>
/// One vulnerability affecting one installed package.
/// </summary>
/// <param name="VulnerabilityId">The id reported (a CVE id when the record is or aliases one, as Trivy reports; else the OSV id).</param>
/// <param name="AdvisoryId">The OSV record's own id ("DSA-5678-1", "GHSA-…", "PYSEC-…", "GO-…", "CVE-…").</param>
/// <param name="Aliases">The record's aliases (other ids for the same issue).</param>
/// <param name="Package">The affected package.</param>
/// <param name="FixedVersion">The lowest fixed version above the installed one, or null when no fix exists.</param>
/// <param name="Severity">The severity (see docs/scanning.md for how it is chosen).</param>
/// <param name="SeveritySource">Where the severity came from ("cvss_v3", "cvss_v4", "database_specific", "debian_urgency", …), or null.</param>
/// <param name="CvssVector">The CVSS vector the score was computed from, if any.</param>
/// <param name="CvssScore">The computed CVSS base score, if any.</param>
/// <param name="Title">The record's summary (or the first line of its details).</param>
/// <param name="Published">When the record was published, if it says.</param>
/// <param name="References">Reference URLs, primary first.</param>
public sealed record Finding(
    string VulnerabilityId,
    string AdvisoryId,
    IReadOnlyList<string> Aliases,
    InstalledPackage Package,
    string? FixedVersion,
    Severity Severity,
    string? SeveritySource,
    string? CvssVector,
    double? CvssScore,
    string? Title,
    DateTimeOffset? Published,
    IReadOnlyList<string> References);
