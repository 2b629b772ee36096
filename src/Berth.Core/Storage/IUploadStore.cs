using Berth.Oci;

namespace Berth.Core.Storage;

/// <summary>Outcome of opening an upload for appending.</summary>
public enum UploadAppendStatus
{
    Opened,
    /// <summary>No upload data exists under that id.</summary>
    NotFound,
    /// <summary>The stored data is shorter than the offset the caller expected (data was lost, e.g. to a power loss).</summary>
    OffsetMismatch,

    /// <summary>Another writer has the upload open (another request, process or node); nothing was changed.</summary>
    Busy,
}

/// <summary>Outcome of <see cref="IUploadStore.CommitAsync"/>.</summary>
public enum UploadCommitResult
{
    /// <summary>The data became the committed blob.</summary>
    Committed,
    /// <summary>A blob with that digest was already committed; the upload's data was discarded (dedupe).</summary>
    AlreadyExists,
    NotFound,
}

/// <summary>
/// Bytes of uploads in progress, kept apart from committed blobs so a partial upload is never served.
/// Data written here survives a process restart. All operations on one upload id are serialised by the caller.
/// </summary>
public interface IUploadStore
{
    /// <summary>Creates empty data for a new upload id. Creating an existing id truncates nothing and succeeds.</summary>
    Task CreateAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>Current length of the upload's data, or null when there is none.</summary>
    Task<long?> GetLengthAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>
    /// Opens a stream positioned at <paramref name="expectedOffset"/> (the acknowledged offset) for appending, as the
    /// upload's only writer until it is disposed: a second open meanwhile answers <see cref="UploadAppendStatus.Busy"/>.
    /// Stored bytes after <paramref name="expectedOffset"/> were never acknowledged (a request that died, or lost the
    /// race to another node); they are dropped at the stream's first write (an empty write too), not at open, so the
    /// caller can re-check the acknowledged offset while it holds the upload. Fails with
    /// <see cref="UploadAppendStatus.OffsetMismatch"/> when fewer bytes are stored than <paramref name="expectedOffset"/>.
    /// Disposing the stream makes the written bytes durable enough to survive a process crash.
    /// </summary>
    Task<(UploadAppendStatus Status, Stream? Stream)> OpenAppendAsync(string uploadId, long expectedOffset, CancellationToken cancellationToken);

    /// <summary>Opens the upload's data for reading from the start (to rebuild a hash after a restart); null when missing.</summary>
    Task<Stream?> OpenReadAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically turns the upload's data into the committed blob <paramref name="digest"/>. The caller has already
    /// verified digest and length. The data is durable (flushed to stable storage) before it becomes visible, and the
    /// blob's name is durable before this returns (also when it answers <see cref="UploadCommitResult.AlreadyExists"/>):
    /// the caller links the blob in the metadata next, and a link must never outlive the bytes after a power loss.
    /// </summary>
    Task<UploadCommitResult> CommitAsync(string uploadId, Digest digest, CancellationToken cancellationToken);

    /// <summary>Removes the upload's data; a missing upload is not an error.</summary>
    Task DeleteAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>Every upload that has data, with the time it was last written, for removing orphans.</summary>
    IAsyncEnumerable<(string Id, DateTimeOffset LastWrite)> ListAsync(CancellationToken cancellationToken);
}
