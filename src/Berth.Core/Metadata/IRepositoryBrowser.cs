using Berth.Oci;

namespace Berth.Core.Metadata;

/// <summary>
/// What the management API shows of a project's repositories and tags (sizes, push and pull times), and the delete of a
/// whole repository. Sizes are computed by the store in one query per page, never by loading manifests.
/// </summary>
public interface IRepositoryBrowser
{
    /// <summary>
    /// The repositories of <paramref name="project"/> (named <c>project</c> or <c>project/…</c>) after
    /// <paramref name="last"/> (exclusive; null for the first page) in lexical order, at most <paramref name="limit"/>.
    /// A project with no repositories (or that does not exist) gives an empty page.
    /// </summary>
    Task<RepositorySummaryPage> ListRepositoriesAsync(string project, string? last, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The tags of the repository after <paramref name="last"/> in lexical order, at most <paramref name="limit"/>, each
    /// with the image it points at; null when the repository does not exist.
    /// </summary>
    Task<TagDetailPage?> ListTagDetailsAsync(RepositoryName repository, string? last, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: deletes the repository with its manifests, references, tags, blob links and upload sessions.
    /// The blobs stay until garbage collection finds them unreferenced. A repository that does not exist answers
    /// <see cref="DeleteResult.NotFound"/> and changes nothing; a push afterwards starts an empty repository.
    /// </summary>
    Task<RepositoryDeleteResult> DeleteRepositoryAsync(RepositoryName repository, CancellationToken cancellationToken);

    /// <summary>
    /// The manifests of the repository after <paramref name="last"/> (exclusive; null for the first page) in digest order,
    /// at most <paramref name="limit"/>, each with its tags, times, subject and (for an index) the manifests it lists:
    /// what retention weighs. Null when the repository does not exist.
    /// </summary>
    Task<ArtifactPage?> ListArtifactsAsync(RepositoryName repository, Digest? last, int limit, CancellationToken cancellationToken);
}

/// <summary>
/// A manifest of a repository as retention sees it: <see cref="Size"/> is its body's; <see cref="PushedAt"/> its last
/// push; <see cref="LastPulledAt"/> its last pull (by tag or digest), null when never; <see cref="Subject"/> the manifest
/// it refers to (OCI 1.1 referrers); <see cref="Tags"/> in lexical order; <see cref="Children"/> the manifests an index
/// lists, in digest order (empty for an image).
/// </summary>
public sealed record ArtifactRecord(Digest Digest, string MediaType, long Size, DateTimeOffset PushedAt, DateTimeOffset? LastPulledAt,
    Digest? Subject, IReadOnlyList<Tag> Tags, IReadOnlyList<Digest> Children);

/// <summary>One page of artifacts; <see cref="HasMore"/> tells whether a next page exists.</summary>
public sealed record ArtifactPage(IReadOnlyList<ArtifactRecord> Artifacts, bool HasMore);

/// <summary>
/// A repository in a listing. <see cref="Size"/>: the total of the distinct blobs and manifest bodies its manifests
/// reference or are (a layer shared by two images counts once). <see cref="LastPushedAt"/>: the newest manifest push;
/// <see cref="LastPulledAt"/>: the newest manifest pull, null when never pulled.
/// </summary>
public sealed record RepositorySummary(RepositoryName Name, long TagCount, long ManifestCount, long Size,
    DateTimeOffset? LastPushedAt, DateTimeOffset? LastPulledAt);

/// <summary>One page of repositories; <see cref="HasMore"/> tells whether a next page exists.</summary>
public sealed record RepositorySummaryPage(IReadOnlyList<RepositorySummary> Repositories, bool HasMore);

/// <summary>
/// A tag with the image it points at. <see cref="Size"/>: the manifest body plus its distinct config and layers; for an
/// index, its body, its children's bodies and their distinct blobs. <see cref="PushedAt"/>: when the tag last moved.
/// </summary>
public sealed record TagDetail(Tag Name, Digest Digest, string MediaType, long Size, DateTimeOffset PushedAt, DateTimeOffset? LastPulledAt);

/// <summary>One page of tags; <see cref="HasMore"/> tells whether a next page exists.</summary>
public sealed record TagDetailPage(IReadOnlyList<TagDetail> Tags, bool HasMore);

/// <summary>Outcome of <see cref="IRepositoryBrowser.DeleteRepositoryAsync"/>, with what went.</summary>
public sealed record RepositoryDeleteResult(DeleteResult Status, int Manifests = 0, int Tags = 0, IReadOnlyList<string>? Uploads = null);
