using Berth.Core.Scanning;

namespace Berth.Api.Management;

/// <summary><c>POST /api/v1/vulndb/imports</c>: the label of what is imported (a folder or zip name).</summary>
public sealed record VulnDbImportRequest
{
    public string? Source { get; init; }
}

/// <summary>An advisory import and what its batches did so far; <see cref="Version"/> the database version it made (finished only).</summary>
public sealed record VulnDbImportResponse(long Id, string Source, string Actor, string Status, string StartedAt, string UpdatedAt, string? FinishedAt,
    long Added, long Updated, long Unchanged, long Withdrawn, long? Version)
{
    public static VulnDbImportResponse From(AdvisoryImport i) => new(i.Id, i.Source, i.Actor, ScanWords.Of(i.Status), Wire.Time(i.StartedAt), Wire.Time(i.UpdatedAt),
        Wire.Time(i.FinishedAt), i.Added, i.Updated, i.Unchanged, i.Withdrawn, i.Version);
}

/// <summary>A source label: the records it wrote last and its latest import.</summary>
public sealed record VulnDbSourceResponse(string Source, long Records, VulnDbImportResponse? LastImport);

/// <summary>Records (not withdrawn) naming packages of one ecosystem, with its release.</summary>
public sealed record VulnDbEcosystemResponse(string Ecosystem, long Records);

/// <summary><c>GET /api/v1/vulndb</c>: the advisory database at a glance.</summary>
public sealed record VulnDbStatusResponse(long Version, string? UpdatedAt, long Records, long WithdrawnRecords, IReadOnlyList<VulnDbSourceResponse> Sources,
    IReadOnlyList<VulnDbEcosystemResponse> Ecosystems, VulnDbImportResponse? Running)
{
    public static VulnDbStatusResponse From(AdvisoryDatabaseStatus s) => new(s.Version, Wire.Time(s.UpdatedAt), s.Records, s.WithdrawnRecords,
        s.Sources.Select(x => new VulnDbSourceResponse(x.Source, x.Records, x.LastImport is null ? null : VulnDbImportResponse.From(x.LastImport))).ToList(),
        s.Ecosystems.Select(e => new VulnDbEcosystemResponse(e.Ecosystem, e.Records)).ToList(), s.Running is null ? null : VulnDbImportResponse.From(s.Running));
}

/// <summary><c>PUT /api/v1/projects/{project}/scan-policy</c>: members left out keep their value.</summary>
public sealed record ScanPolicyRequest
{
    public bool? ScanOnPush { get; init; }

    /// <summary><c>LOW</c>, <c>MEDIUM</c>, <c>HIGH</c>, <c>CRITICAL</c> or <c>NONE</c> (any case).</summary>
    public string? BlockSeverity { get; init; }

    public bool? BlockUnscanned { get; init; }

    public bool? SbomOnPush { get; init; }

    /// <summary>Only images with a valid signature from the project's trust may be pulled (issue 15).</summary>
    public bool? SignedOnly { get; init; }
}

/// <summary>A project's scanning policy; <see cref="BlockSeverity"/> is <c>NONE</c> or a severity in upper case.</summary>
public sealed record ScanPolicyResponse(string Project, bool ScanOnPush, string BlockSeverity, bool BlockUnscanned, bool SbomOnPush, bool SignedOnly, string? UpdatedAt)
{
    public static ScanPolicyResponse From(string project, ScanPolicy p) =>
        new(project, p.ScanOnPush, ScanWords.Of(p.BlockSeverity) ?? "NONE", p.BlockUnscanned, p.SbomOnPush, p.SignedOnly, Wire.Time(p.UpdatedAt));
}

/// <summary><c>POST …/cve-allowlist</c>: the vulnerability id (CVE, GHSA, DSA…), why, and when the entry stops applying (a date or an RFC 3339 time; none: never).</summary>
public sealed record CveAllowRequest
{
    public string? Vulnerability { get; init; }

    public string? Reason { get; init; }

    public string? ExpiresAt { get; init; }
}

/// <summary>An allowlist entry; <see cref="Project"/> null for a server-wide one; <see cref="Expired"/> as of the answer.</summary>
public sealed record CveAllowResponse(long Id, string? Project, string Vulnerability, string Reason, string? ExpiresAt, bool Expired, string CreatedBy, string CreatedAt)
{
    public static CveAllowResponse From(CveAllowEntry e, DateTimeOffset now) =>
        new(e.Id, e.Project?.Value, e.VulnerabilityId, e.Reason, Wire.Time(e.ExpiresAt), !e.IsActive(now), e.CreatedBy, Wire.Time(e.CreatedAt));
}
