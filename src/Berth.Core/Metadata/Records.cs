using Berth.Core.Immutability;
using Berth.Oci;

namespace Berth.Core.Metadata;

/// <summary>A stored manifest with its body (bodies are small: at most <see cref="RegistryOptions.MaxManifestBytes"/>).</summary>
public sealed record ManifestRecord(
    Digest Digest,
    string MediaType,
    byte[] Body,
    string? ArtifactType,
    Digest? Subject,
    string? AnnotationsJson,
    DateTimeOffset PushedAt);

/// <summary>Something a manifest points at that must already exist in the same repository.</summary>
/// <param name="IsManifest">True for an index's child manifest, false for a config or layer blob.</param>
public sealed record ManifestReference(Digest Digest, long Size, bool IsManifest);

/// <summary>A manifest that names a subject, as the referrers API lists it.</summary>
public sealed record ReferrerRecord(Digest Digest, string MediaType, long Size, string? ArtifactType, string? AnnotationsJson);

/// <summary>One page of names in lexical order; <see cref="HasMore"/> tells whether a next page exists.</summary>
public sealed record NamePage(IReadOnlyList<string> Names, bool HasMore);

/// <summary>A resumable upload session. Its bytes live in the upload store under <see cref="Id"/>.</summary>
/// <param name="Offset">
/// How many bytes of the upload were acknowledged to the client; the upload's data may hold more (a chunk that never
/// advanced the offset), never fewer unless a power loss took unflushed data. Null for a session recorded before the
/// offset was stored (schema 3): its data's length is the offset then.
/// </param>
/// <param name="HashState">
/// The running SHA-256 of the first <see cref="Offset"/> bytes as <c>Hashing.Sha256State</c> saves it; null when none
/// was saved (no OpenSSL on that node, or a session from before schema 4): the hash is then rebuilt by reading the data.
/// </param>
/// <param name="StoreState">
/// What the upload store needs to continue the upload besides its id (<c>Storage.IUploadWriter.CommitAsync</c> returns
/// it with each acknowledged chunk: an object store's multipart upload and parts, say); null when the store keeps none.
/// Saved in the same compare-and-set as <see cref="Offset"/> and <see cref="HashState"/>, so the three always agree.
/// </param>
public sealed record UploadSession(string Id, RepositoryName Repository, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt,
    long? Offset = 0, byte[]? HashState = null, string? StoreState = null);

/// <summary>Outcome of <see cref="IUploadSessionStore.AdvanceAsync"/>.</summary>
public enum UploadAdvanceResult
{
    /// <summary>The offset (and hash state) moved to the new value.</summary>
    Advanced,

    /// <summary>The stored offset was no longer the expected one (another request or node appended first); nothing changed.</summary>
    OffsetMismatch,

    /// <summary>The session no longer exists (completed, cancelled, expired, or its project deleted).</summary>
    SessionNotFound,
}

/// <summary>Outcome of putting a manifest.</summary>
public enum ManifestPutStatus
{
    Stored,
    /// <summary>A referenced blob or child manifest is not in the repository; see <see cref="ManifestPutResult.Missing"/>.</summary>
    ReferenceUnknown,
    /// <summary>A referenced blob exists but its size differs from the descriptor.</summary>
    ReferenceSizeMismatch,

    /// <summary>The repository does not exist and its project does not either (see <see cref="IBlobIndex.LinkAsync"/>); nothing was stored.</summary>
    ProjectNotFound,

    /// <summary>The tag points at another manifest and is immutable; see <see cref="ManifestPutResult.Refusal"/>. Nothing was stored.</summary>
    TagImmutable,

    /// <summary>The project has a quota and the bytes the push adds do not fit; see <see cref="ManifestPutResult.Quota"/>. Nothing was stored.</summary>
    QuotaExceeded,
}

public sealed record ManifestPutResult(ManifestPutStatus Status, ManifestReference? Missing = null, long ActualSize = 0)
{
    /// <summary>
    /// For a stored manifest pushed under a tag: the digest the tag pointed at before, read in the same transaction;
    /// null when the tag did not exist (or no tag was given).
    /// </summary>
    public Digest? PreviousTagTarget { get; init; }

    /// <summary>For <see cref="ManifestPutStatus.TagImmutable"/>: the tag and the rule that refused the move.</summary>
    public ImmutableTagRefusal? Refusal { get; init; }

    /// <summary>For <see cref="ManifestPutStatus.QuotaExceeded"/>: the usage, the quota and what the push needed.</summary>
    public Quotas.QuotaExceeded? Quota { get; init; }
}

/// <summary>Outcome of deleting a manifest or a tag.</summary>
public enum ManifestDeleteStatus
{
    Deleted,
    NotFound,

    /// <summary>The tag (or a tag of the manifest) is immutable; nothing was deleted. See <see cref="ManifestDeleteResult.Refusal"/>.</summary>
    Immutable,
}

/// <summary>Outcome of <see cref="IManifestIndex.DeleteManifestAsync"/> and <see cref="IManifestIndex.DeleteTagAsync"/>.</summary>
public sealed record ManifestDeleteResult(ManifestDeleteStatus Status, ImmutableTagRefusal? Refusal = null)
{
    public static ManifestDeleteResult Deleted { get; } = new(ManifestDeleteStatus.Deleted);

    public static ManifestDeleteResult NotFound { get; } = new(ManifestDeleteStatus.NotFound);
}

/// <summary>Outcome of linking a blob to a repository.</summary>
public enum BlobLinkResult
{
    /// <summary>The blob is linked (also when it already was).</summary>
    Linked,

    /// <summary>The repository does not exist and its project does not either; nothing was written.</summary>
    ProjectNotFound,

    /// <summary>
    /// Garbage collection is deleting this digest's bytes now (an unfinished <see cref="IBlobCollectionIndex"/> marker):
    /// nothing was written. The client uploads the blob again.
    /// </summary>
    BeingCollected,

    /// <summary>
    /// The blob is linked, but garbage collection deleted this digest recently (a finished marker): bytes the uploader
    /// committed before the collection may be gone. The caller checks the bytes with an uncached stat and, when they
    /// are missing, unlinks and refuses the upload.
    /// </summary>
    LinkedAfterCollection,
}

/// <summary>Outcome of completing an upload session.</summary>
public enum UploadCompleteResult
{
    /// <summary>The blob is linked and the session removed.</summary>
    Completed,

    /// <summary>The session no longer exists (cancelled, expired, or its project deleted); nothing was linked.</summary>
    SessionNotFound,

    /// <summary>The repository does not exist and its project does not either; nothing was linked, the session is gone.</summary>
    ProjectNotFound,

    /// <summary>As <see cref="BlobLinkResult.BeingCollected"/>: nothing was linked, the session is gone.</summary>
    BeingCollected,

    /// <summary>As <see cref="BlobLinkResult.LinkedAfterCollection"/>: linked and the session removed; the caller checks the bytes.</summary>
    CompletedAfterCollection,
}

/// <summary>A blob's link to a repository: its size and when it was made or last refreshed (<see cref="IBlobIndex.RefreshLinkAsync"/>).</summary>
public readonly record struct BlobLink(long Size, DateTimeOffset LinkedAt);

/// <summary>Outcome of a delete in the metadata store.</summary>
public enum DeleteResult
{
    Deleted,
    NotFound,
}

/// <summary>A pull to be recorded (batched; see <see cref="IManifestIndex.RecordPullsAsync"/>).</summary>
public sealed record PullRecord(RepositoryName Repository, Digest Manifest, Tag? Tag, DateTimeOffset At);
