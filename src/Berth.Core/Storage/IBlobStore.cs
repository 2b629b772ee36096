using Berth.Oci;

namespace Berth.Core.Storage;

/// <summary>Size of a stored blob, or that it is absent.</summary>
public readonly record struct BlobStat(bool Exists, long Size)
{
    public static BlobStat Missing => new(false, 0);
}

/// <summary>Outcome of <see cref="IBlobStore.DeleteAsync"/>.</summary>
public enum BlobDeleteResult
{
    Deleted,
    NotFound,
}

/// <summary>
/// Committed, content-addressed blob bytes. A byte store only: it knows nothing about repositories,
/// links or manifests (those live in the metadata store). A blob here is always complete and verified:
/// partial data lives in <see cref="IUploadStore"/> until it is committed.
/// </summary>
public interface IBlobStore
{
    /// <summary>Returns <see cref="BlobStat.Missing"/> when no committed blob has this digest.</summary>
    Task<BlobStat> StatAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the blob for reading from the start; null when it is missing. The caller disposes the stream.
    /// </summary>
    Task<Stream?> OpenReadAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>
    /// A local file path the web server may send directly (sendfile), or null when the store is not a local
    /// file system or the blob is missing.
    /// </summary>
    string? TryGetLocalPath(Digest digest);

    /// <summary>Removes the blob's bytes. Deleting a missing blob returns <see cref="BlobDeleteResult.NotFound"/>.</summary>
    Task<BlobDeleteResult> DeleteAsync(Digest digest, CancellationToken cancellationToken);
}
