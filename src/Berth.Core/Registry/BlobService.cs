using Berth.Core.Events;
using Berth.Core.Metadata;
using Berth.Core.Storage;
using Berth.Oci;
using Microsoft.Extensions.Options;

namespace Berth.Core.Registry;

/// <summary>A blob a repository may serve, and its size.</summary>
public sealed record BlobHandle(Digest Digest, long Size);

/// <summary>Blob reads and deletes, scoped to a repository: a blob is visible only where it is linked.</summary>
public sealed class BlobService
{
    private readonly IBlobStore _blobs;
    private readonly IBlobIndex _index;
    private readonly TimeProvider _clock;
    private readonly IRegistryEventPublisher _events;
    private readonly IOptions<RegistryOptions> _options;

    /// <summary>A delete raises <see cref="BlobDeleted"/> after the store committed it, attributed to <see cref="EventActorContext.Current"/>.</summary>
    public BlobService(IBlobStore blobs, IBlobIndex index, TimeProvider clock, IRegistryEventPublisher events, IOptions<RegistryOptions> options)
    {
        _blobs = blobs;
        _index = index;
        _clock = clock;
        _events = events;
        _options = options;
    }

    /// <summary>
    /// The blob when it is linked to the repository and its bytes exist; <see cref="OciErrorCode.BlobUnknown"/> otherwise
    /// (what a HEAD answers). A found blob is one a client is about to reference in a manifest instead of uploading it,
    /// so a link older than a quarter of the garbage-collection grace window is refreshed (a conditional update: most
    /// HEADs stay reads); a link that garbage collection removed meanwhile answers unknown.
    /// </summary>
    public async Task<Result<BlobHandle>> FindAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var link = await _index.GetLinkAsync(repository, digest, cancellationToken).ConfigureAwait(false);
        if (link is not { } found)
        {
            return Unknown(repository, digest);
        }

        var staleBefore = _clock.GetUtcNow() - _options.Value.EffectiveGcGrace / 4;
        if (found.LinkedAt < staleBefore && !await _index.RefreshLinkAsync(repository, digest, staleBefore, cancellationToken).ConfigureAwait(false))
        {
            return Unknown(repository, digest);
        }

        var stat = await _blobs.StatAsync(digest, cancellationToken).ConfigureAwait(false);
        return stat.Exists ? new BlobHandle(digest, found.Size) : Unknown(repository, digest);
    }

    /// <summary>
    /// Opens the blob (or the part <paramref name="range"/> selects) when it is linked to the repository; see
    /// <see cref="IBlobStore.OpenAsync"/> for the answers. A blob that is not linked, or whose bytes are gone, is
    /// <see cref="OciErrorCode.BlobUnknown"/>, never <see cref="BlobRead.NotFound"/>. The caller disposes a
    /// <see cref="BlobRead.Streamed"/> answer's stream.
    /// </summary>
    public async Task<Result<BlobRead>> OpenAsync(RepositoryName repository, Digest digest, ByteRange? range, BlobReadOptions options,
        CancellationToken cancellationToken)
    {
        if (await _index.GetLinkedSizeAsync(repository, digest, cancellationToken).ConfigureAwait(false) is null)
        {
            return Unknown(repository, digest);
        }

        var read = await _blobs.OpenAsync(digest, range, options, cancellationToken).ConfigureAwait(false);
        return read is BlobRead.NotFound ? Unknown(repository, digest) : read;
    }

    /// <summary>Unlinks the blob from the repository; its bytes are reclaimed by garbage collection.</summary>
    public async Task<Result<bool>> DeleteAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var result = await _index.UnlinkAsync(repository, digest, cancellationToken).ConfigureAwait(false);
        if (result != DeleteResult.Deleted)
        {
            return Unknown(repository, digest);
        }

        await _events.PublishAsync(new BlobDeleted(repository, _clock.GetUtcNow(), EventActorContext.Current, digest)).ConfigureAwait(false);
        return true;
    }

    private static RegistryError Unknown(RepositoryName repository, Digest digest) =>
        new(OciErrorCode.BlobUnknown, $"blob {digest} is not in repository {repository}", new { digest = digest.ToString() });
}
