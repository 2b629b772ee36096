namespace Berth.Core.Scanning;

/// <summary>The audit actions of vulnerability scanning (dotted names, as <c>AuditActions</c>).</summary>
public static class ScanAuditActions
{
    /// <summary>An advisory import started or finished (detail: its id, source, phase and, when finished, counts and version).</summary>
    public const string VulnDbImport = "vulndb.import";

    /// <summary>A project's scanning policy was set (detail: the policy after the change).</summary>
    public const string ScanPolicySet = "scan_policy.set";

    /// <summary>A CVE allowlist entry added (project: null for server-wide).</summary>
    public const string CveAllowAdd = "cve_allow.add";

    /// <summary>A CVE allowlist entry removed.</summary>
    public const string CveAllowRemove = "cve_allow.remove";

    /// <summary>A manifest GET or HEAD refused by the project's pull policy (detail: reference, digest and the reason given to the client).</summary>
    public const string PullDenied = "pull.denied";

    /// <summary>A scan was asked for (detail: the reference, its digest, the digests queued by this request and the database version).</summary>
    public const string ScanRequest = "scan.request";
}
