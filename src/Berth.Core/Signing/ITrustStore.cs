using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth.Core.Signing;

/// <summary>
/// The signature trust of a project or of the whole server (issue 15 item 2): named public keys and named X.509 root
/// certificates with the identities a root may vouch for. Each provider stores them with their project: deleting the
/// project deletes them in the same transaction (a later project of the same name trusts nothing of its predecessor's).
/// </summary>
public interface ITrustStore
{
    /// <summary>
    /// Adds an entry; the store sets its id (<paramref name="entry"/>'s <see cref="TrustEntry.Id"/> is ignored). The
    /// name is unique per scope, compared case-insensitively (<see cref="TrustAddStatus.Exists"/> answers the existing
    /// entry). Refused with <see cref="InvalidOperationException"/> when the scope holds
    /// <see cref="TrustLimits.MaxEntriesPerScope"/> entries already.
    /// </summary>
    Task<TrustAddResult> AddAsync(TrustEntry entry, CancellationToken cancellationToken);

    /// <summary>The scope's entries by name (server-wide when <paramref name="project"/> is null); empty for an unknown project.</summary>
    Task<IReadOnlyList<TrustEntry>> ListAsync(ProjectName? project, CancellationToken cancellationToken);

    /// <summary>What verifies <paramref name="project"/>'s signatures: its own entries and the server-wide ones, by name (the project's first).</summary>
    Task<IReadOnlyList<TrustEntry>> ListEffectiveAsync(ProjectName project, CancellationToken cancellationToken);

    /// <summary>Removes the scope's entry named <paramref name="name"/> (compared case-insensitively).</summary>
    Task<DeleteResult> RemoveAsync(ProjectName? project, string name, CancellationToken cancellationToken);
}

/// <summary>What a trust entry holds.</summary>
public enum TrustKind
{
    /// <summary>A public key (PEM <c>PUBLIC KEY</c>): ECDSA P-256/P-384, RSA, Ed25519.</summary>
    Key,

    /// <summary>An X.509 root certificate (PEM <c>CERTIFICATE</c>) with the identities it may vouch for.</summary>
    Root,
}

/// <summary>
/// A named trusted key or root: server-wide when <see cref="Project"/> is null. <see cref="Pem"/> is the key or
/// certificate as given (validated by the API before it is stored); <see cref="Identities"/> are the root's identity
/// rules (notation's trusted identities / cosign's certificate identity, e.g. <c>*</c>, <c>x509.subject: CN=ci</c>,
/// <c>email:ci@example.com</c>), empty for a key; <see cref="Fingerprint"/> is the key id or the certificate's SHA-256
/// fingerprint, shown in listings.
/// </summary>
public sealed record TrustEntry(
    long Id, ProjectName? Project, string Name, TrustKind Kind, string Pem, IReadOnlyList<string> Identities, string Fingerprint, string CreatedBy, DateTimeOffset CreatedAt);

/// <summary>What adding a trust entry did.</summary>
public enum TrustAddStatus
{
    Added,

    /// <summary>The scope already has an entry of that name (compared case-insensitively).</summary>
    Exists,

    ProjectNotFound,
}

/// <summary>The outcome of adding: the new entry, or the existing one of that name.</summary>
public sealed record TrustAddResult(TrustAddStatus Status, TrustEntry? Entry);

/// <summary>Bounds of trust entries.</summary>
public static class TrustLimits
{
    public const int MaxNameLength = 64;

    /// <summary>The largest PEM text stored (a certificate with a long chain of extensions fits easily).</summary>
    public const int MaxPemLength = 64 * 1024;

    public const int MaxIdentities = 32;

    public const int MaxIdentityLength = 512;

    /// <summary>The most entries a scope holds.</summary>
    public const int MaxEntriesPerScope = 100;

    /// <summary>True for a name fit to store: 1 to <see cref="MaxNameLength"/> characters of letters, digits and <c>-_.</c>, starting with a letter or digit.</summary>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxNameLength && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}

/// <summary>The audit actions of signature trust and the signed-only pull policy.</summary>
public static class TrustAuditActions
{
    /// <summary>A trusted key or root added (project: null for server-wide; detail: name, kind, fingerprint, identities).</summary>
    public const string TrustAdd = "trust.add";

    /// <summary>A trusted key or root removed (detail: name).</summary>
    public const string TrustRemove = "trust.remove";
}
