using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth.Core.Scanning;

/// <summary>The lowest severity the pull policy refuses; <see cref="None"/> refuses nothing.</summary>
public enum BlockSeverity
{
    None,
    Low,
    Medium,
    High,
    Critical,
}

/// <summary>
/// A project's scanning policy. <see cref="Default"/> applies when the project has none stored: scan on push, block
/// nothing, let unscanned images be pulled, no SBOM at push, unsigned images pullable. <see cref="SignedOnly"/> (issue 15):
/// only images with a valid signature from the project's trust (<see cref="Signing.ITrustStore"/>) may be pulled.
/// </summary>
public sealed record ScanPolicy(bool ScanOnPush, BlockSeverity BlockSeverity, bool BlockUnscanned, bool SbomOnPush, DateTimeOffset? UpdatedAt = null, bool SignedOnly = false)
{
    public static ScanPolicy Default { get; } = new(true, BlockSeverity.None, false, false);
}

/// <summary>
/// A CVE allowlist entry: server-wide when <see cref="Project"/> is null, else for that project. <see cref="VulnerabilityId"/>
/// compares case-insensitively and is unique per scope; <see cref="ExpiresAt"/> null never expires.
/// </summary>
public sealed record CveAllowEntry(long Id, ProjectName? Project, string VulnerabilityId, string Reason, DateTimeOffset? ExpiresAt, string CreatedBy, DateTimeOffset CreatedAt)
{
    public bool IsActive(DateTimeOffset now) => ExpiresAt is not { } expires || expires > now;
}

/// <summary>What adding an allowlist entry did.</summary>
public enum CveAllowAddStatus
{
    Added,

    /// <summary>The scope already lists that id (compared case-insensitively).</summary>
    Exists,

    ProjectNotFound,
}

/// <summary>The outcome of adding: the new entry, or the existing one.</summary>
public sealed record CveAllowAddResult(CveAllowAddStatus Status, CveAllowEntry? Entry);

/// <summary>Bounds of allowlist entries.</summary>
public static class CveAllowLimits
{
    public const int MaxIdLength = 128;

    public const int MaxReasonLength = 1000;

    /// <summary>The most entries a scope lists.</summary>
    public const int MaxEntriesPerScope = 10_000;

    /// <summary>True for an id fit to store: 1 to <see cref="MaxIdLength"/> characters of letters, digits, <c>-_.:</c>.</summary>
    public static bool IsValidId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');
}

/// <summary>
/// Projects' scanning policies and the CVE allowlists. Both live with their project: deleting the project deletes them
/// in the same transaction (a later project of the same name starts with the defaults and no entries).
/// </summary>
public interface IScanPolicyStore
{
    /// <summary>The project's policy (<see cref="ScanPolicy.Default"/> when it has none stored); null when the project does not exist.</summary>
    Task<ScanPolicy?> GetPolicyAsync(ProjectName project, CancellationToken cancellationToken);

    /// <summary>Creates or replaces the project's policy; false when the project does not exist.</summary>
    Task<bool> SetPolicyAsync(ProjectName project, ScanPolicy policy, CancellationToken cancellationToken);

    /// <summary>
    /// Adds an entry (its id and creation time are set by the store from <paramref name="entry"/>'s other fields and
    /// <see cref="CveAllowEntry.CreatedAt"/>). Refused when the scope lists <see cref="CveAllowLimits.MaxEntriesPerScope"/> entries already (<see cref="InvalidOperationException"/>).
    /// </summary>
    Task<CveAllowAddResult> AddAllowAsync(CveAllowEntry entry, CancellationToken cancellationToken);

    /// <summary>The scope's entries (server-wide when <paramref name="project"/> is null), expired ones included, by id; empty for an unknown project.</summary>
    Task<IReadOnlyList<CveAllowEntry>> ListAllowAsync(ProjectName? project, CancellationToken cancellationToken);

    /// <summary>The entries that apply to <paramref name="project"/>'s pulls at <paramref name="now"/>: its own and the server-wide ones, not expired.</summary>
    Task<IReadOnlyList<CveAllowEntry>> ListEffectiveAllowAsync(ProjectName project, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Removes the scope's entry for <paramref name="vulnerabilityId"/> (compared case-insensitively).</summary>
    Task<DeleteResult> RemoveAllowAsync(ProjectName? project, string vulnerabilityId, CancellationToken cancellationToken);
}
