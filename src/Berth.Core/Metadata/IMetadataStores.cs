using Berth.Oci;

namespace Berth.Core.Metadata;

/// <summary>Repositories and the catalog.</summary>
public interface IRepositoryIndex
{
    /// <summary>True when the repository exists (it was created by its first blob link or manifest).</summary>
    Task<bool> ExistsAsync(RepositoryName repository, CancellationToken cancellationToken);

    /// <summary>Repository names after <paramref name="last"/> (exclusive; null for the first page), in lexical order, at most <paramref name="limit"/>.</summary>
    Task<NamePage> ListAsync(string? last, int limit, CancellationToken cancellationToken);
}

/// <summary>Which committed blobs each repository may serve.</summary>
public interface IBlobIndex
{
    /// <summary>Size of <paramref name="digest"/> when it is linked to <paramref name="repository"/>; null otherwise.</summary>
    Task<long?> GetLinkedSizeAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken);

    /// <summary>The link of <paramref name="digest"/> in <paramref name="repository"/> with its time; null when it is not linked.</summary>
    Task<BlobLink?> GetLinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken);

    /// <summary>
    /// Moves the link's time to now when it is older than <paramref name="staleBefore"/> (one conditional update, so a
    /// fresh link costs no write), so garbage collection's grace window starts again: a blob answered to a HEAD is not
    /// collected under the push that asked. True when the link exists afterwards; false when it is gone (unlinked, or
    /// collected before the refresh), and then the caller answers as for a blob that is not linked.
    /// </summary>
    Task<bool> RefreshLinkAsync(RepositoryName repository, Digest digest, DateTimeOffset staleBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Records that the committed blob is visible in the repository (creating the repository and the blob row
    /// when needed). Linking an already linked blob succeeds and moves the link's time to now (a re-upload or mount
    /// protects the blob from garbage collection for another grace window). While garbage collection deletes the
    /// digest (<see cref="IBlobCollectionIndex"/>) nothing is written: <see cref="BlobLinkResult.BeingCollected"/>; after
    /// a recent collection the link is made and <see cref="BlobLinkResult.LinkedAfterCollection"/> tells the caller to
    /// check the bytes. A missing repository is created
    /// only inside an existing project (<see cref="RepositoryName.Project"/>, an <see cref="Access.IProjectStore"/>
    /// project of the same database), checked in the same transaction: otherwise nothing is written and the answer
    /// is <see cref="BlobLinkResult.ProjectNotFound"/>, so a push that races the delete of its project cannot bring
    /// the repository back. Repositories that exist without a project (kept from before projects) stay writable.
    /// </summary>
    Task<BlobLinkResult> LinkAsync(RepositoryName repository, Digest digest, long size, CancellationToken cancellationToken);

    /// <summary>Removes the link; the bytes stay until garbage collection finds them unreferenced.</summary>
    Task<DeleteResult> UnlinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken);
}

/// <summary>Manifests, tags and referrers of each repository.</summary>
public interface IManifestIndex
{
    /// <summary>
    /// In one transaction: checks the repository exists or its project does (as <see cref="IBlobIndex.LinkAsync"/>;
    /// <see cref="ManifestPutStatus.ProjectNotFound"/>), checks every reference exists in the repository with the declared size, stores the
    /// manifest (an existing one with the same digest keeps its body and media type; its push time is refreshed), records its references, and points
    /// <paramref name="tag"/> at it when given, answering where the tag pointed before (<see cref="ManifestPutResult.PreviousTagTarget"/>).
    /// A tag that points at another manifest and that the project's immutability rules (<see cref="Access.IImmutabilityRuleStore"/>,
    /// read in the same transaction; <see cref="Immutability.ImmutabilityPolicy.Check"/>) make immutable is not moved:
    /// <see cref="ManifestPutStatus.TagImmutable"/>. Two puts of one tag are serialised, so of two different digests pushed
    /// to a new immutable tag one is stored and the other refused. Pointing the tag at the manifest it already names succeeds.
    /// When the project has a quota (<see cref="Quotas.IProjectQuotaStore"/>, read in the same transaction), the bytes the push
    /// adds (its body unless the project holds that manifest already, and the blobs it references that no manifest of the
    /// project references yet) must fit beside the usage, or the answer is <see cref="ManifestPutStatus.QuotaExceeded"/>; two
    /// puts into one project with a quota are serialised for that check, so they cannot both pass. A push that adds
    /// nothing is never refused by the quota. A project without a quota costs one indexed read.
    /// Nothing is stored unless the status is <see cref="ManifestPutStatus.Stored"/>.
    /// </summary>
    Task<ManifestPutResult> PutAsync(RepositoryName repository, ManifestRecord manifest, IReadOnlyList<ManifestReference> references, Tag? tag, CancellationToken cancellationToken);

    /// <summary>The manifest a tag points at or with that digest in the repository; null when unknown.</summary>
    Task<ManifestRecord?> GetAsync(RepositoryName repository, Reference reference, CancellationToken cancellationToken);

    /// <summary>
    /// A repository that holds the manifest <paramref name="digest"/> (any one of them when several do: the same digest
    /// is the same content everywhere); null when no repository holds it. Reads an index on the digest alone.
    /// </summary>
    Task<RepositoryName?> FindRepositoryOfManifestAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>
    /// The digests of the manifests (indexes) in <paramref name="repository"/> that list <paramref name="digest"/> as a
    /// manifest, in digest order, at most <paramref name="limit"/>; empty when none does or the repository is unknown.
    /// A blob reference (a layer or config of that digest) does not count. Reads an index on the referenced digest.
    /// </summary>
    Task<IReadOnlyList<Digest>> ListParentManifestsAsync(RepositoryName repository, Digest digest, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the manifest and every tag that points at it; when one of those tags is immutable (the project's rules read
    /// in the same transaction) nothing is deleted: <see cref="ManifestDeleteStatus.Immutable"/> naming the first such tag.
    /// </summary>
    Task<ManifestDeleteResult> DeleteManifestAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken);

    /// <summary>Deletes only the tag (the manifest stays reachable by digest), unless it is immutable: <see cref="ManifestDeleteStatus.Immutable"/>.</summary>
    Task<ManifestDeleteResult> DeleteTagAsync(RepositoryName repository, Tag tag, CancellationToken cancellationToken);

    /// <summary>Tags after <paramref name="last"/> in lexical order; null when the repository does not exist.</summary>
    Task<NamePage?> ListTagsAsync(RepositoryName repository, string? last, int limit, CancellationToken cancellationToken);

    /// <summary>Manifests in the repository whose subject is <paramref name="subject"/>, optionally of one artifact type.</summary>
    Task<IReadOnlyList<ReferrerRecord>> ListReferrersAsync(RepositoryName repository, Digest subject, string? artifactType, CancellationToken cancellationToken);

    /// <summary>Records pull times (last one wins). Unknown manifests are ignored.</summary>
    Task RecordPullsAsync(IReadOnlyCollection<PullRecord> pulls, CancellationToken cancellationToken);
}

/// <summary>Upload sessions, shared by every node so an upload can continue wherever the next request lands.</summary>
public interface IUploadSessionStore
{
    Task CreateAsync(UploadSession session, CancellationToken cancellationToken);

    /// <summary>The session, or null when it does not exist (never started, completed, cancelled or expired).</summary>
    Task<UploadSession?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Marks activity so the session is not treated as abandoned.</summary>
    Task TouchAsync(string id, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Acknowledges appended bytes by compare-and-set: moves the session's offset from <paramref name="expectedOffset"/>
    /// to <paramref name="newOffset"/>, stores <paramref name="hashState"/> and <paramref name="storeState"/> (what the
    /// upload store's writer returned for this chunk; null: none) and records activity at
    /// <paramref name="at"/>, durably before it returns, only if the stored offset still equals
    /// <paramref name="expectedOffset"/> (null matches only a session without a stored offset). Of two requests or nodes
    /// that append at the same offset exactly one advances; the other gets <see cref="UploadAdvanceResult.OffsetMismatch"/>
    /// and changes nothing. One write.
    /// </summary>
    Task<UploadAdvanceResult> AdvanceAsync(string id, long? expectedOffset, long newOffset, byte[]? hashState, string? storeState, DateTimeOffset at, CancellationToken cancellationToken);

    Task<DeleteResult> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: removes the session and links the committed blob to the repository (as
    /// <see cref="IBlobIndex.LinkAsync"/>, with its garbage-collection answers <see cref="UploadCompleteResult.BeingCollected"/>
    /// and <see cref="UploadCompleteResult.CompletedAfterCollection"/>). One write instead of two on the completion of
    /// every upload. A session that no longer exists (cancelled, expired, or ended with its project) links nothing:
    /// <see cref="UploadCompleteResult.SessionNotFound"/>.
    /// </summary>
    Task<UploadCompleteResult> CompleteAsync(string id, RepositoryName repository, Digest digest, long size, CancellationToken cancellationToken);

    /// <summary>Sessions with no activity since <paramref name="before"/>.</summary>
    Task<IReadOnlyList<UploadSession>> ListInactiveAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken);
}
