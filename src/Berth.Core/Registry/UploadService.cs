using System.Collections.Concurrent;
using System.Security.Cryptography;
using Berth.Core.Events;
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
/// <see cref="IUploadStore"/>/<see cref="IBlobStore"/> pair. Bytes are hashed (sha256) while they are written; after a
/// restart the hash is rebuilt by reading back what was stored, so a resumed upload still verifies.
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

    /// <summary>
    /// A finished upload raises <see cref="BlobCommitted"/>, a mount <see cref="BlobMounted"/>, once linked, attributed to
    /// <see cref="EventActorContext.Current"/>. Without <paramref name="events"/> (a service built by hand) nothing is raised.
    /// </summary>
    public UploadService(IUploadStore uploads, IBlobStore blobs, IUploadSessionStore sessions, IBlobIndex blobIndex,
        TimeProvider clock, IOptions<RegistryOptions> options, ILogger<UploadService> logger, IRegistryEventPublisher? events = null)
    {
        _events = events ?? NoRegistryEvents.Instance;
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
        await _sessions.CreateAsync(new UploadSession(id, repository, now, now), cancellationToken).ConfigureAwait(false);
        return new UploadStatus(id, 0);
    }

    /// <summary>Reports how many bytes the session holds.</summary>
    public async Task<Result<UploadStatus>> GetStatusAsync(RepositoryName repository, string id, CancellationToken cancellationToken)
    {
        var session = await FindAsync(repository, id, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return UnknownUpload(id);
        }

        var length = await _uploads.GetLengthAsync(id, cancellationToken).ConfigureAwait(false);
        return length is null ? UnknownUpload(id) : new UploadStatus(id, length.Value);
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

            return await AppendLockedAsync(session, state, id, body, range, declaredLength, cancellationToken).ConfigureAwait(false);
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
        await _uploads.CreateAsync(id, cancellationToken).ConfigureAwait(false);
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
        catch
        {
            await _uploads.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        finally
        {
            state.Reset();
        }
    }

    private async Task<Result<CommittedBlob>> CompleteLockedAsync(RepositoryName repository, UploadSession? session, string id, UploadState state, Digest digest, Stream? body, ContentRange? range, long? declaredLength, CancellationToken cancellationToken)
    {
        if (body is not null)
        {
            var appended = await AppendLockedAsync(session, state, id, body, range, declaredLength, cancellationToken).ConfigureAwait(false);
            if (!appended.IsSuccess)
            {
                return appended.Error!;
            }
        }

        var length = await _uploads.GetLengthAsync(id, cancellationToken).ConfigureAwait(false);
        if (length is null)
        {
            return UnknownUpload(id);
        }

        var actual = await ComputeDigestAsync(state, id, length.Value, digest.Algorithm, cancellationToken).ConfigureAwait(false);
        if (actual != digest)
        {
            await RemoveLockedAsync(id, state, cancellationToken).ConfigureAwait(false);
            return new RegistryError(OciErrorCode.DigestInvalid, "provided digest did not match uploaded content",
                new { expected = digest.ToString(), actual = actual.ToString(), size = length.Value });
        }

        var commit = await _uploads.CommitAsync(id, digest, cancellationToken).ConfigureAwait(false);
        if (commit == UploadCommitResult.NotFound)
        {
            return UnknownUpload(id);
        }

        // Bytes first, then the link (and the end of the session, in the same transaction): a crash in between
        // leaves at worst an unlinked blob for garbage collection, never a link to missing bytes.
        var completed = session is null
            ? await _blobIndex.LinkAsync(repository, digest, length.Value, cancellationToken).ConfigureAwait(false) == BlobLinkResult.Linked
                ? UploadCompleteResult.Completed : UploadCompleteResult.ProjectNotFound
            : await _sessions.CompleteAsync(id, repository, digest, length.Value, cancellationToken).ConfigureAwait(false);
        state.Abandon(); // requests still waiting for this upload find it gone
        _states.TryRemove(new KeyValuePair<string, UploadState>(id, state));
        if (completed != UploadCompleteResult.Completed)
        {
            // The session or the project went while the bytes arrived (a cancel, expiry, or the project's delete):
            // the committed blob stays unlinked, garbage for collection.
            return completed == UploadCompleteResult.SessionNotFound ? UnknownUpload(id) : ProjectGone(repository);
        }

        LogCommitted(_logger, repository.Value, digest.ToString(), length.Value, commit == UploadCommitResult.AlreadyExists);
        await _events.PublishAsync(new BlobCommitted(repository, _clock.GetUtcNow(), EventActorContext.Current, digest, length.Value,
            commit == UploadCommitResult.AlreadyExists)).ConfigureAwait(false);
        return new CommittedBlob(digest, length.Value);
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
                && await _blobIndex.LinkAsync(repository, digest, size.Value, cancellationToken).ConfigureAwait(false) == BlobLinkResult.Linked)
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

    /// <summary>Removes the session and its data; the caller holds <paramref name="state"/>'s lock.</summary>
    private async Task RemoveLockedAsync(string id, UploadState state, CancellationToken cancellationToken)
    {
        state.Abandon();
        await _sessions.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        await _uploads.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        _states.TryRemove(new KeyValuePair<string, UploadState>(id, state));
        state.Reset();
    }

    private async Task<Result<UploadStatus>> AppendLockedAsync(UploadSession? session, UploadState state, string id, Stream body, ContentRange? range, long? declaredLength, CancellationToken cancellationToken)
    {
        var length = await _uploads.GetLengthAsync(id, cancellationToken).ConfigureAwait(false);
        if (length is null)
        {
            return UnknownUpload(id);
        }

        if (range is { } r)
        {
            if (r.Start != length.Value)
            {
                return new RegistryError(OciErrorCode.RangeInvalid,
                    $"chunk starts at {r.Start} but the upload holds {length.Value} bytes; resume at {length.Value}",
                    new { uploaded = length.Value });
            }

            if (declaredLength is { } declared && declared != r.Length)
            {
                return new RegistryError(OciErrorCode.RangeInvalid,
                    $"Content-Range covers {r.Length} bytes but Content-Length is {declared}", new { uploaded = length.Value });
            }
        }

        var remaining = MaxBlobBytes - length.Value;
        if (declaredLength is { } d && d > remaining)
        {
            return TooLarge();
        }

        await EnsureHashAsync(state, id, length.Value, cancellationToken).ConfigureAwait(false);
        var (status, stream) = await _uploads.OpenAppendAsync(id, length.Value, cancellationToken).ConfigureAwait(false);
        if (status == UploadAppendStatus.NotFound)
        {
            return UnknownUpload(id);
        }

        if (status == UploadAppendStatus.OffsetMismatch || stream is null)
        {
            state.Reset();
            return new RegistryError(OciErrorCode.RangeInvalid, "the upload changed concurrently; ask for its status and resume");
        }

        long copied;
        try
        {
            // A cancel of the upload stops the copy (its token), then waits for this request to let go of the file.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, state.Abandoned);
            await using (stream.ConfigureAwait(false))
            {
                copied = await HashingCopier.CopyAsync(body, stream, state.Hash, remaining, stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception) when (state.IsAbandoned && !cancellationToken.IsCancellationRequested)
        {
            state.Reset();
            return UnknownUpload(id);
        }
        catch
        {
            // Whatever reached the store is a valid prefix of the stream, but the hash may be ahead of it: rebuild next time.
            state.Reset();
            throw;
        }

        if (copied < 0)
        {
            await RemoveLockedAsync(id, state, cancellationToken).ConfigureAwait(false);
            return TooLarge();
        }

        if (range is { } rr && declaredLength is null && copied != rr.Length)
        {
            // The chunk is stored (it is a valid prefix), but tell the client its range was not honoured.
            state.Offset = length.Value + copied;
            return new RegistryError(OciErrorCode.RangeInvalid, $"Content-Range announced {rr.Length} bytes but {copied} arrived", new { uploaded = state.Offset });
        }

        state.Offset = length.Value + copied;
        var now = _clock.GetUtcNow();
        if (session is not null && now - session.UpdatedAt > TouchInterval)
        {
            // Activity is recorded at most once per interval: expiry is measured in hours, and each write costs an fsync.
            await _sessions.TouchAsync(id, now, cancellationToken).ConfigureAwait(false);
        }

        return new UploadStatus(id, state.Offset);
    }

    private static readonly TimeSpan TouchInterval = TimeSpan.FromSeconds(30);

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private RegistryError TooLarge() =>
        new(OciErrorCode.SizeInvalid, $"blob exceeds the server's limit of {_options.Value.MaxBlobBytes} bytes");

    private async Task EnsureHashAsync(UploadState state, string id, long length, CancellationToken cancellationToken)
    {
        if (state.Hash is not null && state.Offset == length)
        {
            return;
        }

        state.Reset();
        state.Hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (length > 0)
        {
            await HashStoredAsync(state.Hash, id, cancellationToken).ConfigureAwait(false);
            LogHashRebuilt(_logger, id, length);
        }

        state.Offset = length;
    }

    private async Task<Digest> ComputeDigestAsync(UploadState state, string id, long length, DigestAlgorithm algorithm, CancellationToken cancellationToken)
    {
        if (algorithm == DigestAlgorithm.Sha256)
        {
            await EnsureHashAsync(state, id, length, cancellationToken).ConfigureAwait(false);
            return Digest.FromHash(DigestAlgorithm.Sha256, state.Hash!.GetCurrentHash());
        }

        // sha512 uploads are rare: hash the stored bytes once more rather than hashing every upload twice.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        await HashStoredAsync(hash, id, cancellationToken).ConfigureAwait(false);
        return Digest.FromHash(DigestAlgorithm.Sha512, hash.GetCurrentHash());
    }

    private async Task HashStoredAsync(IncrementalHash hash, string id, CancellationToken cancellationToken)
    {
        var stream = await _uploads.OpenReadAsync(id, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return;
        }

        await using (stream.ConfigureAwait(false))
        {
            await HashingCopier.CopyAsync(stream, Stream.Null, hash, long.MaxValue, cancellationToken).ConfigureAwait(false);
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

    private static RegistryError ProjectGone(RepositoryName repository) =>
        new(OciErrorCode.NameUnknown, $"project '{repository.Project}' does not exist (it was deleted during the upload)", new { name = repository.Value });

    private static RegistryError UnknownUpload(string id) =>
        new(OciErrorCode.BlobUploadUnknown, "upload unknown: it was never started, already completed, cancelled or expired", new { upload = id });

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "Committed blob {Digest} ({Size} bytes) to {Repository}; already stored: {Deduplicated}")]
    private static partial void LogCommitted(ILogger logger, string repository, string digest, long size, bool deduplicated);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Rebuilt the hash of upload {Upload} from {Length} stored bytes (resumed after a restart or on another node)")]
    private static partial void LogHashRebuilt(ILogger logger, string upload, long length);

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

        public IncrementalHash? Hash { get; set; }

        public long Offset { get; set; }

        public void Reset()
        {
            Hash?.Dispose();
            Hash = null;
            Offset = -1;
        }
    }
}
