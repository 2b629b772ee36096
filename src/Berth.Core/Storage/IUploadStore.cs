using Berth.Oci;

namespace Berth.Core.Storage;

/// <summary>Outcome of opening an upload for writing.</summary>
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

    /// <summary>
    /// The stored data is not what the store state says (another request appended after the caller read the
    /// session, a writer has it open, or data was lost): nothing was committed, the upload is left as it is.
    /// </summary>
    Changed,
}

/// <summary>
/// Bytes of uploads in progress, kept apart from committed blobs so a partial upload is never served.
/// Data written here survives a process restart.
/// <para>
/// An upload is written one chunk at a time, each through its own <see cref="IUploadWriter"/>, and may continue on
/// another instance of the store (a restarted process, another node). What a store needs to continue an upload besides
/// its id (an object store's multipart upload id and part list, its block ids) is the <em>store state</em>: a short
/// opaque string the writer's <see cref="IUploadWriter.CommitAsync"/> returns, the caller saves with the upload session
/// in the same compare-and-set that acknowledges the chunk, and hands back to the next
/// <see cref="OpenWriterAsync"/>, <see cref="GetLengthAsync"/>, <see cref="OpenReadAsync"/> and <see cref="CommitAsync"/>. The saved state is the
/// truth about which written bytes belong to the upload: bytes a writer wrote whose state was never saved (its request
/// died, or another writer's chunk was acknowledged first) are not part of it, and a store must be able to ignore or
/// drop them. A store that needs no state (the file store) returns null and is given null.
/// </para>
/// <para>
/// How an object store maps onto this (issue 12), without any writer touching what another writer depends on: every
/// writer writes only to fresh, unique keys, so two writers racing at the same offset never disturb each other and
/// the compare-and-set alone decides which one's state becomes the upload's. The state lists the upload's
/// <em>segments</em>: objects (S3) or blobs (Azure) under the upload's prefix with their sizes, in order.
/// <b>S3</b> (parts at least 5 MiB except the last; a PATCH chunk may be 1 byte): a writer opened with a last segment
/// below 5 MiB (the <em>tail</em>) starts by reading it back (bounded: less than 5 MiB) and rewrites it, followed by
/// its own bytes, as its own new segment; a segment under 5 MiB is put in one request from a buffer below 5 MiB, a
/// larger one is streamed as the writer's own multipart upload in parts of 5 MiB or more (bounded buffer) and completed
/// at <see cref="IUploadWriter.CommitAsync"/>, which returns the state with the tail replaced by the new segment. So
/// every segment but the last is at least 5 MiB, and the final <see cref="CommitAsync"/> makes the blob with one
/// multipart upload whose parts are server-side copies of the segments (<c>UploadPartCopy</c>; a single segment is
/// copied with <c>CopyObject</c>), then deletes the upload's prefix. <b>Azure</b>: the same segments as block blobs
/// (no minimum block size, so the tail need not be carried; carrying it below 4 MiB keeps the segment count small);
/// the final commit stages each segment into the blob by <c>Put Block From URL</c> and commits the block list. In
/// both, segments of writers whose state was never saved are garbage under the upload's prefix, removed with it by
/// <see cref="DeleteAsync"/>, by the final commit, or by the sweeper with the upload. <see cref="OpenReadAsync"/>
/// reads the state's segments one after the other; <see cref="GetLengthAsync"/> adds up their sizes (with a null
/// state: 0 when the marker object <see cref="CreateAsync"/> put is there, null when it is not).
/// </para>
/// </summary>
public interface IUploadStore
{
    /// <summary>Creates empty data for a new upload id, durably (it survives a power loss once this returns). Creating an existing id truncates nothing and succeeds.</summary>
    Task CreateAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>
    /// Creates an upload only its caller will ever touch: a single-request push (<c>POST ?digest=</c>), which has no
    /// session, so no other request or node can name it. The caller opens one writer at offset 0, then commits or
    /// deletes it; nothing is resumed, read back or appended concurrently. A store may keep what guards shared uploads
    /// in memory instead of in storage (S3 and Azure: no marker or lock objects), so such a push costs fewer requests.
    /// Ended by <see cref="CommitAsync"/> or <see cref="DeleteAsync"/> like any other upload; one the process never
    /// ended (it died) is listed by <see cref="ListAsync"/> once it has data, for the sweeper. Default: <see cref="CreateAsync"/>.
    /// </summary>
    Task CreatePrivateAsync(string uploadId, CancellationToken cancellationToken) => CreateAsync(uploadId, cancellationToken);

    /// <summary>
    /// Length of the upload's data as <paramref name="storeState"/> (the last acknowledged chunk's) describes it, or null
    /// when the upload has no data. A store without state answers everything stored, which may exceed the acknowledged
    /// offset (bytes of a chunk that was never acknowledged); a store with state answers what its state covers. Less
    /// than the acknowledged offset means acknowledged bytes were lost. Callers only compare it with that offset.
    /// </summary>
    Task<long?> GetLengthAsync(string uploadId, string? storeState, CancellationToken cancellationToken);

    /// <summary>
    /// Opens a writer that appends at <paramref name="offset"/> (the acknowledged offset), continuing from
    /// <paramref name="storeState"/> (what the last acknowledged chunk's <see cref="IUploadWriter.CommitAsync"/>
    /// returned; null for the first chunk or a store that keeps none). The writer is the upload's only writer until it
    /// is disposed: a second open meanwhile answers <see cref="UploadAppendStatus.Busy"/> (a store that cannot lock may
    /// instead let both write and rely on the caller's compare-and-set: the state of the one not acknowledged is never
    /// used). Stored bytes after <paramref name="offset"/> were never acknowledged; they are dropped at the writer's
    /// first write or its commit, not at open, so the caller can re-check the acknowledged offset while it holds the
    /// upload, and a writer cancelled or disposed without writing leaves the upload exactly as it was. Answers
    /// <see cref="UploadAppendStatus.OffsetMismatch"/> when fewer bytes are stored than <paramref name="offset"/>, and
    /// <see cref="UploadAppendStatus.NotFound"/> when the upload has no data.
    /// </summary>
    Task<(UploadAppendStatus Status, IUploadWriter? Writer)> OpenWriterAsync(string uploadId, long offset, string? storeState, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the upload's acknowledged data (as <paramref name="storeState"/> describes it) for reading from the start,
    /// to rebuild a hash when no hash state was saved; null when missing. It may hold bytes after the acknowledged
    /// offset: the caller reads only as many as were acknowledged.
    /// </summary>
    Task<Stream?> OpenReadAsync(string uploadId, string? storeState, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically turns the upload's data (as <paramref name="storeState"/>, the last acknowledged chunk's state,
    /// describes it) into the committed blob <paramref name="digest"/>. The caller has already verified digest and
    /// length, and dropped bytes after the acknowledged offset. The data is durable (flushed to stable storage) before it
    /// becomes visible, and the blob's name is durable before this returns (also when it answers
    /// <see cref="UploadCommitResult.AlreadyExists"/>): the caller links the blob in the metadata next, and a link must
    /// never outlive the bytes after a power loss.
    /// </summary>
    Task<UploadCommitResult> CommitAsync(string uploadId, Digest digest, string? storeState, CancellationToken cancellationToken);

    /// <summary>Removes the upload's data (everything any writer wrote for it); a missing upload is not an error.</summary>
    Task DeleteAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>Every upload that has data, with the time it was last written, for removing orphans.</summary>
    IAsyncEnumerable<(string Id, DateTimeOffset LastWrite)> ListAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Writes one chunk of an upload (<see cref="IUploadStore.OpenWriterAsync"/>). Not thread-safe: one caller writes, then
/// commits or cancels. Memory it holds stays bounded whatever is written through it.
/// </summary>
public interface IUploadWriter : IAsyncDisposable
{
    /// <summary>The upload's size as this writer sees it: the offset it was opened at plus the bytes written through it.</summary>
    long Size { get; }

    /// <summary>Appends <paramref name="data"/>. Invalid after <see cref="CommitAsync"/> or <see cref="CancelAsync"/>.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// Makes everything written durable enough to survive a crash of this process (a part uploaded, a block staged; for
    /// the file store, written to the operating system) and returns the store state to save with the session and hand
    /// to the next writer: small (at most a few KiB), opaque, null when the store keeps none. Committing a writer that
    /// wrote nothing still drops the unacknowledged bytes after its offset. The chunk belongs to the upload only once the
    /// caller saves this state with the new offset; until then, and if that fails, it is as if never written. The
    /// caller disposes the writer after saving the state (the writer may hold the upload's lock until then).
    /// </summary>
    Task<string?> CommitAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Drops what this writer wrote: the upload holds its acknowledged bytes as before (and, when the writer had not
    /// written yet, exactly what it held before it was opened). Does nothing after <see cref="CommitAsync"/>.
    /// </summary>
    Task CancelAsync(CancellationToken cancellationToken);

    // DisposeAsync: releases the upload; cancels first when neither CommitAsync nor CancelAsync ran.
}
