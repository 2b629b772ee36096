using System.Collections.Concurrent;
using System.Security.Cryptography;
using Berth.Core.Events;
using Berth.Core.Hashing;
using Berth.Core.Metadata;
using Berth.Core.Storage;
using Berth.Oci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Core.Registry;

/// <summary>State of an upload as the API reports it: its id and how many bytes have been received.</summary>
public sealed record UploadStatus(string Id, long Length);

/// <summary>A committed blob.</summary>
public sealed record CommittedBlob(Digest Digest, long Size);

/// <summary>What a mount request turned into.</summary>
public sealed record MountOutcome(CommittedBlob? Mounted, UploadStatus? Upload);

/// <summary>
/// Blob uploads: sessions, chunk appends with offset checks, digest verification and commit. Written once over any
/// <see cref="IUploadStore"/>/<see cref="IBlobStore"/> pair. All state of an upload is in the stores, so any instance
/// (a restarted process, another node) continues it: each chunk is acknowledged by advancing the session's offset by
/// compare-and-set (<see cref="IUploadSessionStore.AdvanceAsync"/>), together with the running SHA-256 state
/// (<see cref="Sha256State"/>) and the upload store's state (what its <see cref="IUploadWriter.CommitAsync"/> returned),
/// durably before the 202. Each chunk goes through its own <see cref="IUploadWriter"/>: written, committed in the store,
/// acknowledged, then let go; a chunk that fails midway is cancelled (its bytes dropped). Of two instances appending at
/// the same offset the upload store lets one write at a time and the compare-and-set acknowledges one; the other
/// answers RANGE_INVALID and its bytes are dropped by the next append. The per-upload lock here only orders requests on this node (a cancel stops a
/// chunk still streaming); correctness across nodes never depends on it. Sessions without a saved hash state (from
/// before schema 4, or a node without OpenSSL) and sha512 digests re-read the stored data instead.
/// </summary>
public sealed partial class UploadService
{
    private readonly IUploadStore _uploads;
    private readonly IBlobStore _blobs;
    private readonly IUploadSessionStore _sessions;
    private readonly IBlobIndex _blobIndex;
    private readonly TimeProvider _clock;
    private readonly IOptions<RegistryOptions> _options;
    private readonly ILogger<UploadService> _logger;
    private readonly IRegistryEventPublisher _events;
    private readonly ConcurrentDictionary<string, UploadState> _states = new(StringComparer.Ordinal);
    private readonly StorageFullClassifier _storageFull;
    private readonly Quotas.QuotaGuard? _quota;

    /// <summary>
    /// A finished upload raises <see cref="BlobCommitted"/>, a mount <see cref="BlobMounted"/>, once linked, attributed to
    /// <see cref="EventActorContext.Current"/>. Without <paramref name="events"/> (a service built by hand) nothing is raised.
    /// An upload whose write fails because the storage is full (<paramref name="storageFull"/>; without it, the operating
    /// system's errors only) is removed with its bytes at once, and the error goes on to the caller. With
    /// <paramref name="quota"/>, a chunk whose bytes do not fit in the project's quota is refused (<c>DENIED</c>) and the
    /// upload removed with its bytes, as on a full store.
    /// </summary>
    public UploadService(IUploadStore uploads, IBlobStore blobs, IUploadSessionStore sessions, IBlobIndex blobIndex,
        TimeProvider clock, IOptions<RegistryOptions> options, ILogger<UploadService> logger, IRegistryEventPublisher? events = null,
        StorageFullClassifier? storageFull = null, Quotas.QuotaGuard? quota = null)
    {
        _quota = quota;
        _events = events ?? NoRegistryEvents.Instance;
        _storageFull = storageFull ?? StorageFullClassifier.OperatingSystemOnly;
        _uploads = uploads;
        _blobs = blobs;
        _sessions = sessions;
        _blobIndex = blobIndex;
        _clock = clock;
        _options = options;
        _logger = logger;
    }

    private long MaxBlobBytes => _options.Value.MaxBlobBytes > 0 ? _options.Value.MaxBlobBytes : long.MaxValue;

    /// <summary>Starts an empty upload session in <paramref name="repository"/>.</summary>
    public async Task<UploadStatus> StartAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var id = NewId();
        await _uploads.CreateAsync(id, cancellationToken).ConfigureAwait(false);
        var now = _clock.GetUtcNow();
        try
        {
            await _sessions.CreateAsync(new UploadSession(id, repository, now, now), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // No session, no upload: its data would wait for the sweeper (a full database is the usual cause here).
            await DeleteDataQuietlyAsync(id).ConfigureAwait(false);
            throw;
        }

        return new UploadStatus(id, 0);
    }

    /// <summary>
    /// Reports how many bytes of the session were acknowledged: where the client resumes. Stored bytes beyond that (a
    /// chunk that was never acknowledged) are not counted; a session from before schema 4 reports its data's length.
    /// </summary>
    public async Task<Result<UploadStatus>> GetStatusAsync(RepositoryName repository, string id, CancellationToken cancellationToken)
    {
        var session = await FindAsync(repository, id, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return UnknownUpload(id);
        }

        var length = await _uploads.GetLengthAsync(id, session.StoreState, cancellationToken).ConfigureAwait(false);
        return length is null ? UnknownUpload(id) : new UploadStatus(id, session.Offset ?? length.Value);
    }

    /// <summary>
    /// Appends <paramref name="body"/>. With a <paramref name="range"/>, its start must equal the current length
    /// (else <see cref="OciErrorCode.RangeInvalid"/>, nothing written) and its length must equal
    /// <paramref name="declaredLength"/> when that is known.
    /// </summary>
    public async Task<Result<UploadStatus>> AppendAsync(RepositoryName repository, string id, Stream body, ContentRange? range, long? declaredLength, CancellationToken cancellationToken)
    {
        var session = await FindAsync(repository, id, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return UnknownUpload(id);
        }

        var state = _states.GetOrAdd(id, static _ => new UploadState());
        await state.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (state.IsAbandoned)
            {
                return UnknownUpload(id); // cancelled (or completed) while this request waited for the lock
            }

            return await AppendLockedAsync(repository, session, state, id, body, range, declaredLength, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (_storageFull.IsStorageFull(ex))
        {
            await FreeLockedAsync(id, state, ex).ConfigureAwait(false);
            throw;
        }
        finally
        {
            state.Lock.Release();
        }
    }

    /// <summary>
    /// Appends an optional last chunk, then verifies <paramref name="digest"/> against everything received and commits
    /// the blob into the repository. On a digest mismatch the session is cancelled and nothing is stored.
    /// </summary>
    public async Task<Result<CommittedBlob>> CompleteAsync(RepositoryName repository, string id, Digest digest, Stream? body, ContentRange? range, long? declaredLength, CancellationToken cancellationToken)
    {
        var session = await FindAsync(repository, id, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return UnknownUpload(id);
        }

        var state = _states.GetOrAdd(id, static _ => new UploadState());
        await state.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (state.IsAbandoned)
            {
                return UnknownUpload(id);
            }

            return await CompleteLockedAsync(repository, session, id, state, digest, body, range, declaredLength, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (_storageFull.IsStorageFull(ex))
        {
            await FreeLockedAsync(id, state, ex).ConfigureAwait(false);
            throw;
        }
        finally
        {
            state.Lock.Release();
        }
    }

    /// <summary>
    /// Single-request upload (<c>POST ?digest=</c>): write, verify and commit in one go. No session is recorded (nobody
    /// else can know the id); if the process dies midway, the sweeper removes the orphaned data.
    /// </summary>
    public async Task<Result<CommittedBlob>> UploadMonolithicAsync(RepositoryName repository, Digest digest, Stream body, long? declaredLength, CancellationToken cancellationToken)
    {
        var id = NewId();
        await _uploads.CreatePrivateAsync(id, cancellationToken).ConfigureAwait(false);
        var state = new UploadState();
        try
        {
            var result = await CompleteLockedAsync(repository, null, id, state, digest, body, null, declaredLength, cancellationToken).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                await _uploads.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
            }

            return result;
        }
        catch (Exception ex)
        {
            await DeleteDataQuietlyAsync(id).ConfigureAwait(false);
            if (_storageFull.IsStorageFull(ex))
            {
                LogFreed(_logger, id, ex.Message);
            }

            throw;
        }
        finally
        {
            state.Reset();
        }
    }

    private async Task<Result<CommittedBlob>> CompleteLockedAsync(RepositoryName repository, UploadSession? session, string id, UploadState state, Digest digest, Stream? body, ContentRange? range, long? declaredLength, CancellationToken cancellationToken)
    {
        RunningHash? hash = null;
        try
        {
            long length;
            string? storeState;
            if (body is not null)
            {
                var appended = await AppendLockedAsync(repository, session, state, id, body, range, declaredLength, cancellationToken, keepHash: true, digest: digest).ConfigureAwait(false);
                if (!appended.IsSuccess)
                {
                    return appended.Error!;
                }

                (length, hash, storeState) = (appended.Value!.Length, state.TakeHash(), state.StoreState);
            }
            else
            {
                var current = session is null ? null : await _sessions.GetAsync(id, cancellationToken).ConfigureAwait(false);
                var stored = await _uploads.GetLengthAsync(id, current?.StoreState, cancellationToken).ConfigureAwait(false);
                if (stored is null || (session is not null && current is null))
                {
                    return UnknownUpload(id);
                }

                length = current?.Offset ?? stored.Value;
                storeState = current?.StoreState;
                if (stored.Value < length)
                {
                    // Acknowledged bytes are gone (a power loss took data the disk had not flushed): it cannot verify.
                    await RemoveLockedAsync(id, state, cancellationToken).ConfigureAwait(false);
                    return UnknownUpload(id);
                }

                if (stored.Value > length)
                {
                    var dropped = await DropUnacknowledgedAsync(id, length, storeState, cancellationToken).ConfigureAwait(false);
                    if (!dropped.Done)
                    {
                        return new RegistryError(OciErrorCode.RangeInvalid, "the upload is being appended to concurrently; ask for its status and resume");
                    }

                    storeState = dropped.StoreState;
                }

                hash = RunningHash.TryRestoreSha256(current?.HashState);
            }

            Digest actual;
            if (digest.Algorithm == DigestAlgorithm.Sha256)
            {
                hash ??= await RebuildSha256Async(id, length, storeState, cancellationToken).ConfigureAwait(false);
                actual = Digest.FromHash(DigestAlgorithm.Sha256, hash.GetCurrentHash());
            }
            else
            {
                // sha512 uploads are rare: hash the stored bytes once more rather than hashing every upload twice.
                using var sha512 = RunningHash.Of(IncrementalHash.CreateHash(HashAlgorithmName.SHA512));
                await HashStoredAsync(sha512, id, length, storeState, cancellationToken).ConfigureAwait(false);
                actual = Digest.FromHash(DigestAlgorithm.Sha512, sha512.GetCurrentHash());
            }

            if (actual != digest)
            {
                await RemoveLockedAsync(id, state, cancellationToken).ConfigureAwait(false);
                return new RegistryError(OciErrorCode.DigestInvalid, "provided digest did not match uploaded content",
                    new { expected = digest.ToString(), actual = actual.ToString(), size = length });
            }

            var commit = await _uploads.CommitAsync(id, digest, storeState, cancellationToken).ConfigureAwait(false);
            if (commit == UploadCommitResult.NotFound)
            {
                return UnknownUpload(id);
            }

            if (commit == UploadCommitResult.Changed)
            {
                // Another request appended (or holds a writer) since this one read the session: the verified digest
                // covers other bytes than those stored now. Nothing was committed; the upload stays as it is.
                return new RegistryError(OciErrorCode.RangeInvalid, "the upload is being appended to concurrently; ask for its status and resume");
            }

            // Bytes first, then the link (and the end of the session, in the same transaction): a crash in between
            // leaves at worst an unlinked blob for garbage collection, never a link to missing bytes.
            var completed = session is null
                ? await _blobIndex.LinkAsync(repository, digest, length, cancellationToken).ConfigureAwait(false) switch
                {
                    BlobLinkResult.Linked => UploadCompleteResult.Completed,
                    BlobLinkResult.BeingCollected => UploadCompleteResult.BeingCollected,
                    BlobLinkResult.LinkedAfterCollection => UploadCompleteResult.CompletedAfterCollection,
                    _ => UploadCompleteResult.ProjectNotFound,
                }
                : await _sessions.CompleteAsync(id, repository, digest, length, cancellationToken).ConfigureAwait(false);
            state.Abandon(); // requests still waiting for this upload find it gone
            _states.TryRemove(new KeyValuePair<string, UploadState>(id, state));
            if (completed == UploadCompleteResult.CompletedAfterCollection)
            {
                completed = await BytesSurvivedCollectionAsync(repository, digest, cancellationToken).ConfigureAwait(false)
                    ? UploadCompleteResult.Completed : UploadCompleteResult.BeingCollected;
            }

            if (completed != UploadCompleteResult.Completed)
            {
                // The session or the project went while the bytes arrived (a cancel, expiry, or the project's delete),
                // or garbage collection took the digest: the committed blob stays unlinked, garbage for collection.
                return completed switch
                {
                    UploadCompleteResult.SessionNotFound => UnknownUpload(id),
                    UploadCompleteResult.BeingCollected => BeingCollected(digest),
                    _ => ProjectGone(repository),
                };
            }

            LogCommitted(_logger, repository.Value, digest.ToString(), length, commit == UploadCommitResult.AlreadyExists);
            await _events.PublishAsync(new BlobCommitted(repository, _clock.GetUtcNow(), EventActorContext.Current, digest, length,
                commit == UploadCommitResult.AlreadyExists)).ConfigureAwait(false);
            return new CommittedBlob(digest, length);
        }
        finally
        {
            hash?.Dispose();
        }
    }

    /// <summary>
    /// Cuts stored bytes beyond the acknowledged <paramref name="length"/> off (a writer committed without writing);
    /// not done when another writer holds the upload. Answers the store state to commit the blob with.
    /// </summary>
    private async Task<(bool Done, string? StoreState)> DropUnacknowledgedAsync(string id, long length, string? storeState, CancellationToken cancellationToken)
    {
        var (status, writer) = await _uploads.OpenWriterAsync(id, length, storeState, cancellationToken).ConfigureAwait(false);
        if (status != UploadAppendStatus.Opened || writer is null)
        {
            return (false, null);
        }

        await using (writer.ConfigureAwait(false))
        {
            return (true, await writer.CommitAsync(cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>
    /// Cross-repository mount: links <paramref name="digest"/> from <paramref name="from"/> when it is linked there;
    /// otherwise starts a normal upload session, as the spec asks.
    /// </summary>
    public async Task<MountOutcome> MountAsync(RepositoryName repository, Digest digest, RepositoryName? from, CancellationToken cancellationToken)
    {
        if (from is { } source)
        {
            var size = await _blobIndex.GetLinkedSizeAsync(source, digest, cancellationToken).ConfigureAwait(false);
            if (size is not null && (await _blobs.StatAsync(digest, cancellationToken).ConfigureAwait(false)).Exists
                && await _blobIndex.LinkAsync(repository, digest, size.Value, cancellationToken).ConfigureAwait(false) switch
                {
                    BlobLinkResult.Linked => true,
                    BlobLinkResult.LinkedAfterCollection => await BytesSurvivedCollectionAsync(repository, digest, cancellationToken).ConfigureAwait(false),
                    _ => false, // gone with its project, or being collected: a normal upload instead (202)
                })
            {
                await _events.PublishAsync(new BlobMounted(repository, _clock.GetUtcNow(), EventActorContext.Current, digest, size.Value, source)).ConfigureAwait(false);
                return new MountOutcome(new CommittedBlob(digest, size.Value), null);
            }
        }

        return new MountOutcome(null, await StartAsync(repository, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Cancels the session and removes its data. A chunk still streaming into it is stopped first (that request ends
    /// with <see cref="OciErrorCode.BlobUploadUnknown"/>) and the removal waits until it has let go of the data, so
    /// nothing is written after the removal. Unknown sessions, and one that completed meanwhile, give
    /// <see cref="OciErrorCode.BlobUploadUnknown"/>.
    /// </summary>
    public async Task<Result<bool>> CancelAsync(RepositoryName repository, string id, CancellationToken cancellationToken)
    {
        var session = await FindAsync(repository, id, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return UnknownUpload(id);
        }

        return await CancelOrderedAsync(id).ConfigureAwait(false) ? true : UnknownUpload(id);
    }

    /// <summary>
    /// Removes the data of uploads whose sessions are already gone from the session store (the delete of their
    /// project ended them in its transaction). A chunk still streaming into one on this node is stopped first, as
    /// <see cref="CancelAsync"/> does, so nothing is written after the removal.
    /// </summary>
    public async Task DiscardAsync(IEnumerable<string> ids, CancellationToken cancellationToken)
    {
        foreach (var id in ids)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await CancelOrderedAsync(id).ConfigureAwait(false);
        }
    }

    /// <summary>Removes sessions idle since <paramref name="before"/> and upload data that has no session. Returns how many were removed.</summary>
    public async Task<int> SweepAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        var removed = 0;
        while (true)
        {
            var batch = await _sessions.ListInactiveAsync(before, 100, cancellationToken).ConfigureAwait(false);
            foreach (var session in batch)
            {
                await CancelOrderedAsync(session.Id).ConfigureAwait(false);
                removed++;
            }

            if (batch.Count < 100)
            {
                break;
            }
        }

        await foreach (var (id, lastWrite) in _uploads.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (lastWrite < before && await _sessions.GetAsync(id, cancellationToken).ConfigureAwait(false) is null)
            {
                await _uploads.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
                _states.TryRemove(id, out _);
                removed++;
            }
        }

        return removed;
    }

    /// <summary>
    /// Stops whatever works on the upload, waits for it to finish, then removes the session and its data. False when
    /// the session was gone by then (completed or cancelled meanwhile). Not cancellable: once the upload is marked
    /// abandoned it must not stay half removed (the wait is short, as the work in flight was just told to stop).
    /// </summary>
    private async Task<bool> CancelOrderedAsync(string id)
    {
        var state = _states.GetOrAdd(id, static _ => new UploadState());
        state.Abandon();
        await state.Lock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var exists = await _sessions.GetAsync(id, CancellationToken.None).ConfigureAwait(false) is not null;
            await RemoveLockedAsync(id, state, CancellationToken.None).ConfigureAwait(false);
            return exists;
        }
        finally
        {
            state.Lock.Release();
        }
    }

    /// <summary>
    /// After a write failed for lack of room: removes the upload's data first (the room it holds is what the store is
    /// short of), then its session (which may fail too when the metadata store is the one that is full; a session left
    /// without data answers BLOB_UPLOAD_UNKNOWN and the sweeper removes it). Never throws: the caller rethrows the
    /// original error. The caller holds <paramref name="state"/>'s lock.
    /// </summary>
    private async Task FreeLockedAsync(string id, UploadState state, Exception cause)
    {
        state.Abandon();
        await DeleteDataQuietlyAsync(id).ConfigureAwait(false);
        try
        {
            await _sessions.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Best effort: the upload's bytes are gone already, which is what matters on a full disk.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogSessionLeft(_logger, id, ex.Message);
        }

        _states.TryRemove(new KeyValuePair<string, UploadState>(id, state));
        state.Reset();
        LogFreed(_logger, id, cause.Message);
    }

    private async Task DeleteDataQuietlyAsync(string id)
    {
        try
        {
            await _uploads.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The caller reports the error that brought it here; the sweeper retries the removal.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogDataLeft(_logger, id, ex.Message);
        }
    }

    /// <summary>Removes the session and its data; the caller holds <paramref name="state"/>'s lock.</summary>
    private async Task RemoveLockedAsync(string id, UploadState state, CancellationToken cancellationToken)
    {
        state.Abandon();
        await _sessions.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        await _uploads.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        _states.TryRemove(new KeyValuePair<string, UploadState>(id, state));
        state.Reset();
    }

    private async Task<Result<UploadStatus>> AppendLockedAsync(RepositoryName repository, UploadSession? session, UploadState state, string id, Stream body, ContentRange? range, long? declaredLength, CancellationToken cancellationToken, bool keepHash = false, Digest? digest = null)
    {
        // The session as it is now (another node may have appended since the request looked it up).
        var current = session is null ? null : await _sessions.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (session is not null && current is null)
        {
            return UnknownUpload(id);
        }

        var stored = await _uploads.GetLengthAsync(id, current?.StoreState, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return UnknownUpload(id);
        }

        // The acknowledged offset; a session from before schema 4 has none, and its data's length is its offset.
        var expected = current is null ? (long?)null : current.Offset;
        var offset = expected ?? stored.Value;
        if (range is { } r)
        {
            if (r.Start != offset)
            {
                return new RegistryError(OciErrorCode.RangeInvalid,
                    $"chunk starts at {r.Start} but the upload holds {offset} bytes; resume at {offset}",
                    new { uploaded = offset });
            }

            if (declaredLength is { } declared && declared != r.Length)
            {
                return new RegistryError(OciErrorCode.RangeInvalid,
                    $"Content-Range covers {r.Length} bytes but Content-Length is {declared}", new { uploaded = offset });
            }
        }

        var remaining = MaxBlobBytes - offset;
        if (declaredLength is { } d && d > remaining)
        {
            return TooLarge();
        }

        // A declared length is checked against the quota before a byte is written (a chunk of unknown length after).
        if (_quota is not null && declaredLength is > 0
            && await _quota.CheckAsync(repository.Project, declaredLength.Value, cancellationToken, digest?.ToString()).ConfigureAwait(false) is { } early)
        {
            return await RefuseOverQuotaAsync(session, id, state, early).ConfigureAwait(false);
        }

        var (status, writer) = await _uploads.OpenWriterAsync(id, offset, current?.StoreState, cancellationToken).ConfigureAwait(false);
        if (status == UploadAppendStatus.NotFound)
        {
            return UnknownUpload(id);
        }

        if (status == UploadAppendStatus.OffsetMismatch)
        {
            // Fewer bytes stored than acknowledged: a power loss took data the disk had not flushed. It cannot verify.
            await RemoveLockedAsync(id, state, cancellationToken).ConfigureAwait(false);
            return UnknownUpload(id);
        }

        if (status == UploadAppendStatus.Busy || writer is null)
        {
            return ConcurrentAppend(offset);
        }

        RunningHash? hash = null;
        try
        {
            // Disposed without commit (the copy failed, the client went, the chunk was too large), the writer drops its bytes.
            await using (writer.ConfigureAwait(false))
            {
                // Holding the upload, check the offset is still the one we open at: another node may have appended and
                // let go in between, and our first write would cut its acknowledged bytes off.
                if (session is not null && (await _sessions.GetAsync(id, cancellationToken).ConfigureAwait(false)) is var again
                    && (again is null || again.Offset != expected))
                {
                    return again is null ? UnknownUpload(id) : ConcurrentAppend(again.Offset ?? offset);
                }

                hash = RunningHash.TryRestoreSha256(current?.HashState) ?? await RebuildSha256Async(id, offset, current?.StoreState, cancellationToken).ConfigureAwait(false);
                long copied;
                try
                {
                    // A cancel of the upload stops the copy (its token), then waits for this request to let go of the file.
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, state.Abandoned);
                    copied = await HashingCopier.CopyAsync(body, writer, hash, remaining, stop.Token).ConfigureAwait(false);
                }
                catch (Exception) when (state.IsAbandoned && !cancellationToken.IsCancellationRequested)
                {
                    return UnknownUpload(id);
                }

                if (copied < 0)
                {
                    await writer.DisposeAsync().ConfigureAwait(false);
                    await RemoveLockedAsync(id, state, cancellationToken).ConfigureAwait(false);
                    return TooLarge();
                }

                var end = offset + copied;
                if (_quota is not null && declaredLength is null
                    && await _quota.CheckAsync(repository.Project, copied, cancellationToken, digest?.ToString()).ConfigureAwait(false) is { } exceeded)
                {
                    await writer.DisposeAsync().ConfigureAwait(false); // uncommitted: the chunk's bytes are dropped
                    return await RefuseOverQuotaAsync(session, id, state, exceeded).ConfigureAwait(false);
                }

                // Durable in the store first, then acknowledged with the state the store needs to continue (the writer
                // keeps the upload until it is disposed, after the acknowledgement). A chunk whose acknowledgement
                // fails stays unacknowledged: the next writer drops it.
                var storeState = await writer.CommitAsync(cancellationToken).ConfigureAwait(false);
                if (session is not null && !keepHash)
                {
                    // The acknowledgement: durable before the 202, and only if nobody advanced the offset meanwhile. Each
                    // chunk costs this one (group-committed) metadata write; it also records the activity. The last
                    // chunk of a PUT is not acknowledged on its own: the completion that follows ends the session in
                    // its own transaction, and the blob commit refuses the data if another request appended meanwhile
                    // (UploadCommitResult.Changed), so a push costs one metadata write less.
                    var advanced = await _sessions.AdvanceAsync(id, expected, end, hash.Export(), storeState, _clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                    if (advanced != UploadAdvanceResult.Advanced)
                    {
                        return advanced == UploadAdvanceResult.SessionNotFound ? UnknownUpload(id) : ConcurrentAppend(offset);
                    }
                }

                if (range is { } rr && declaredLength is null && copied != rr.Length)
                {
                    // The chunk is stored (it is a valid prefix), but tell the client its range was not honoured.
                    return new RegistryError(OciErrorCode.RangeInvalid, $"Content-Range announced {rr.Length} bytes but {copied} arrived", new { uploaded = end });
                }

                if (keepHash)
                {
                    state.SetHash(hash, storeState);
                    hash = null;
                }

                return new UploadStatus(id, end);
            }
        }
        finally
        {
            hash?.Dispose();
        }
    }

    /// <summary>
    /// A chunk over the project's quota: the upload goes with its bytes, as on a full store (a monolithic upload's data is
    /// removed by its caller), and the client is told why. The caller holds <paramref name="state"/>'s lock.
    /// </summary>
    private async Task<RegistryError> RefuseOverQuotaAsync(UploadSession? session, string id, UploadState state, Quotas.QuotaExceeded exceeded)
    {
        if (session is not null)
        {
            await RemoveLockedAsync(id, state, CancellationToken.None).ConfigureAwait(false);
        }

        LogOverQuota(_logger, id, exceeded.Message);
        return ManifestService.QuotaRefused(exceeded);
    }

    private static RegistryError ConcurrentAppend(long offset) =>
        new(OciErrorCode.RangeInvalid, "the upload is being appended to concurrently (another request or node); ask for its status and resume",
            new { uploaded = offset });

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private RegistryError TooLarge() =>
        new(OciErrorCode.SizeInvalid, $"blob exceeds the server's limit of {_options.Value.MaxBlobBytes} bytes");

    /// <summary>The SHA-256 of the first <paramref name="length"/> stored bytes, read back (no saved state to continue).</summary>
    private async Task<RunningHash> RebuildSha256Async(string id, long length, string? storeState, CancellationToken cancellationToken)
    {
        var hash = RunningHash.CreateSha256();
        if (length > 0)
        {
            await HashStoredAsync(hash, id, length, storeState, cancellationToken).ConfigureAwait(false);
            LogHashRebuilt(_logger, id, length);
        }

        return hash;
    }

    private async Task HashStoredAsync(RunningHash hash, string id, long length, string? storeState, CancellationToken cancellationToken)
    {
        var stream = await _uploads.OpenReadAsync(id, storeState, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return;
        }

        await using (stream.ConfigureAwait(false))
        {
            // Bytes after the acknowledged length were never acknowledged: they are not part of the upload.
            await HashingCopier.CopyAsync(new BoundedStream(stream, length), Stream.Null, hash, long.MaxValue, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<UploadSession?> FindAsync(RepositoryName repository, string id, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 64)
        {
            return null;
        }

        var session = await _sessions.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return session is not null && session.Repository == repository ? session : null;
    }

    /// <summary>
    /// After a link of a digest that garbage collection deleted recently: true when the bytes exist (asked of the storage,
    /// not a cache); otherwise the link just made is removed (the bytes this upload found already stored went with the
    /// collection) and false. See ARCHITECTURE.md, "Garbage collection".
    /// </summary>
    private async Task<bool> BytesSurvivedCollectionAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        if ((await _blobs.StatUncachedAsync(digest, cancellationToken).ConfigureAwait(false)).Exists)
        {
            return true;
        }

        await _blobIndex.UnlinkAsync(repository, digest, CancellationToken.None).ConfigureAwait(false);
        LogCollectedUnderUpload(_logger, digest.ToString(), repository.Value);
        return false;
    }

    private static RegistryError BeingCollected(Digest digest) =>
        new(OciErrorCode.BlobUploadInvalid, "blob was being garbage collected, upload it again", new { digest = digest.ToString() });

    private static RegistryError ProjectGone(RepositoryName repository) =>
        new(OciErrorCode.NameUnknown, $"project '{repository.Project}' does not exist (it was deleted during the upload)", new { name = repository.Value });

    private static RegistryError UnknownUpload(string id) =>
        new(OciErrorCode.BlobUploadUnknown, "upload unknown: it was never started, already completed, cancelled or expired", new { upload = id });

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information, Message = "Upload of {Digest} to {Repository} refused: garbage collection deleted its bytes under it; the client uploads it again")]
    private static partial void LogCollectedUnderUpload(ILogger logger, string digest, string repository);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "Committed blob {Digest} ({Size} bytes) to {Repository}; already stored: {Deduplicated}")]
    private static partial void LogCommitted(ILogger logger, string repository, string digest, long size, bool deduplicated);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Storage full: removed upload {Upload} with its data ({Reason})")]
    private static partial void LogFreed(ILogger logger, string upload, string reason);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Could not remove the session of upload {Upload} (its data is gone; the sweeper removes it): {Reason}")]
    private static partial void LogSessionLeft(ILogger logger, string upload, string reason);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Information, Message = "Refused upload {Upload} and removed it with its data: {Reason}")]
    private static partial void LogOverQuota(ILogger logger, string upload, string reason);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Could not remove the data of upload {Upload} (the sweeper retries): {Reason}")]
    private static partial void LogDataLeft(ILogger logger, string upload, string reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Rebuilt the hash of upload {Upload} from {Length} stored bytes (no saved hash state: a session from before schema 4, or no OpenSSL)")]
    private static partial void LogHashRebuilt(ILogger logger, string upload, long length);

    /// <summary>The first <c>limit</c> bytes of a stream (read only).</summary>
    private sealed class BoundedStream(Stream inner, long limit) : Stream
    {
        private long _left = limit;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
            _left -= read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
            _left -= read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class UploadState
    {
        private readonly CancellationTokenSource _abandoned = new();

        public SemaphoreSlim Lock { get; } = new(1, 1);

        /// <summary>Cancelled when the upload is cancelled, completed or removed: appends in flight stop, waiting ones give up.</summary>
        public CancellationToken Abandoned => _abandoned.Token;

        public bool IsAbandoned => _abandoned.IsCancellationRequested;

        public void Abandon()
        {
            try
            {
                _abandoned.Cancel();
            }
            catch (AggregateException)
            {
                // A callback of a linked token failed; the upload is abandoned all the same.
            }
        }

        private RunningHash? _hash;

        /// <summary>
        /// Hands the hash and store state of the chunk just appended to the completion in the same request (never kept
        /// between requests).
        /// </summary>
        public void SetHash(RunningHash hash, string? storeState)
        {
            _hash?.Dispose();
            _hash = hash;
            StoreState = storeState;
        }

        /// <summary>The store state of the chunk <see cref="SetHash"/> handed over.</summary>
        public string? StoreState { get; private set; }

        public RunningHash? TakeHash()
        {
            var hash = _hash;
            _hash = null;
            return hash;
        }

        public void Reset() => _hash?.Dispose();
    }
}
