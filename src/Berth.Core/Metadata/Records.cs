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
public sealed record UploadSession(string Id, RepositoryName Repository, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt);

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
}

public sealed record ManifestPutResult(ManifestPutStatus Status, ManifestReference? Missing = null, long ActualSize = 0)
{
    /// <summary>
    /// For a stored manifest pushed under a tag: the digest the tag pointed at before, read in the same transaction;
    /// null when the tag did not exist (or no tag was given).
    /// </summary>
    public Digest? PreviousTagTarget { get; init; }
}

/// <summary>Outcome of linking a blob to a repository.</summary>
public enum BlobLinkResult
{
    /// <summary>The blob is linked (also when it already was).</summary>
    Linked,

    /// <summary>The repository does not exist and its project does not either; nothing was written.</summary>
    ProjectNotFound,
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
}

/// <summary>Outcome of a delete in the metadata store.</summary>
public enum DeleteResult
{
    Deleted,
    NotFound,
}

/// <summary>A pull to be recorded (batched; see <see cref="IManifestIndex.RecordPullsAsync"/>).</summary>
public sealed record PullRecord(RepositoryName Repository, Digest Manifest, Tag? Tag, DateTimeOffset At);
