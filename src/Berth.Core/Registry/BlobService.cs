using Berth.Core.Events;
using Berth.Core.Metadata;
using Berth.Core.Storage;
using Berth.Oci;

namespace Berth.Core.Registry;

/// <summary>A blob a repository may serve: its size and how to read it.</summary>
public sealed record BlobHandle(Digest Digest, long Size, string? LocalPath);

/// <summary>Blob reads and deletes, scoped to a repository: a blob is visible only where it is linked.</summary>
public sealed class BlobService
{
    private readonly IBlobStore _blobs;
    private readonly IBlobIndex _index;
    private readonly TimeProvider _clock;
    private readonly IRegistryEventPublisher _events;

    /// <summary>A delete raises <see cref="BlobDeleted"/> after the store committed it, attributed to <see cref="EventActorContext.Current"/>.</summary>
    public BlobService(IBlobStore blobs, IBlobIndex index, TimeProvider clock, IRegistryEventPublisher events)
    {
        _blobs = blobs;
        _index = index;
        _clock = clock;
        _events = events;
    }

    /// <summary>The blob when it is linked to the repository and its bytes exist; <see cref="OciErrorCode.BlobUnknown"/> otherwise.</summary>
    public async Task<Result<BlobHandle>> FindAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var size = await _index.GetLinkedSizeAsync(repository, digest, cancellationToken).ConfigureAwait(false);
        if (size is null)
        {
            return Unknown(repository, digest);
        }

        var path = _blobs.TryGetLocalPath(digest);
        if (path is null && !(await _blobs.StatAsync(digest, cancellationToken).ConfigureAwait(false)).Exists)
        {
            return Unknown(repository, digest);
        }

        return new BlobHandle(digest, size.Value, path);
    }

    public Task<Stream?> OpenReadAsync(Digest digest, CancellationToken cancellationToken) => _blobs.OpenReadAsync(digest, cancellationToken);

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
