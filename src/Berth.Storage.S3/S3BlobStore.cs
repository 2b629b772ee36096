using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Berth.Core.Storage;
using Berth.Oci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Storage.S3;

/// <summary>
/// Blobs and uploads as objects in one S3 bucket (AWS, radosgw, MinIO…), below the configured prefix:
/// <code>
/// PREFIX/blobs/sha256/ab/ab12…            a committed blob, named by its digest
/// PREFIX/uploads/ID/marker               empty; the upload exists while it does (CreateAsync)
/// PREFIX/uploads/ID/lock                 the lease of the writer that holds the upload (UploadLock)
/// PREFIX/uploads/ID/segments/TOKEN       one writer's bytes; the store state lists the upload's segments in order
/// </code>
/// The design is the one of <see cref="IUploadStore"/>'s doc comment: every writer writes only a fresh segment (the
/// tail below <see cref="MinimumPartSize"/> it was opened with read back and written again in front of its own bytes),
/// so every segment but the last reaches S3's minimum part size, and the final commit builds the blob by server-side
/// copies (<c>UploadPartCopy</c>, or one <c>CopyObject</c>), without the bytes passing through this process. A writer
/// holds at most one part (<see cref="PartSize"/>) in memory. An S3 write is durable when it returns.
/// <para>
/// A private upload (<see cref="CreatePrivateAsync"/>, a single-request push) has neither marker nor lock: this process
/// remembers it until it is committed or deleted, so such a push costs four requests (the segment, a HEAD of the blob,
/// the copy, the segment's delete) instead of about sixteen. Its segment is listed by <see cref="ListAsync"/> like any
/// other if the process dies first.
/// </para>
/// <para>
/// A shared upload costs fewer requests when one process does it (<see cref="KnownUpload"/>): the marker it created or
/// saw is believed for <see cref="MarkerTrust"/>, and a commit of the state its own writer made takes no lock, trusts
/// the segments it wrote and deletes the upload's objects by name. A docker-style push (POST, then PUT with the bytes)
/// costs eight requests: the marker, the writer's lock and its release, the segment, a HEAD of the blob, the copy, and
/// the deletes of marker and segment. What another node left below an upload committed so is removed by the sweeper:
/// <see cref="ListAsync"/> reports objects and pending multipart uploads.
/// </para>
/// </summary>
public sealed partial class S3BlobStore : IBlobStore, IUploadStore
{
    /// <summary>S3's minimum size of every part of a multipart upload but the last.</summary>
    internal const int MinimumPartSize = 5 * 1024 * 1024;

    /// <summary>
    /// What a writer buffers before it sends a part: one part, the most memory a writer holds. Above the minimum so a
    /// segment written in parts never has a short part but its last.
    /// </summary>
    internal const int PartSize = 8 * 1024 * 1024;

    /// <summary>The largest range one <c>UploadPartCopy</c> or <c>CopyObject</c> copies.</summary>
    internal const long MaximumCopySize = 5L * 1024 * 1024 * 1024;

    private readonly S3Bucket _bucket;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;

    /// <summary>How long an upload's marker, once created or seen by this process, is believed to exist without a HEAD.</summary>
    internal static readonly TimeSpan MarkerTrust = TimeSpan.FromSeconds(30);

    /// <summary>Beyond this many, what this process remembers of shared uploads is forgotten (it only saves requests).</summary>
    private const int MaxKnownUploads = 10_000;

    /// <summary>The private uploads this process has open (ids are unguessable and known to one request each).</summary>
    private readonly ConcurrentDictionary<string, byte> _private = new(StringComparer.Ordinal);

    /// <summary>What this process knows of shared uploads it created, saw or wrote (<see cref="KnownUpload"/>).</summary>
    private readonly ConcurrentDictionary<string, KnownUpload> _known = new(StringComparer.Ordinal);

    internal S3BlobStore(S3Bucket bucket, TimeProvider clock, ILogger<S3BlobStore>? logger = null)
    {
        _bucket = bucket;
        _clock = clock;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        LockLease = bucket.Options.UploadLockLease;
        Cache = new SmallBlobCache(bucket.Options.BlobCacheBytes, clock);
    }

    /// <summary>Small blobs' bytes and recent existence answers (<see cref="S3StorageOptions.BlobCacheBytes"/>).</summary>
    internal SmallBlobCache Cache { get; }

    /// <summary>How long a writer's lock holds without renewal (it renews while it writes); a dead writer's lock lapses after it.</summary>
    internal TimeSpan LockLease { get; init; }

    internal IAmazonS3 Client => _bucket.Client;

    // ---------------------------------------------------------------- IBlobStore

    public async Task<BlobStat> StatAsync(Digest digest, CancellationToken cancellationToken)
    {
        if (Cache.TryGetPresent(digest, out var known))
        {
            return new BlobStat(true, known);
        }

        var size = await SizeOfAsync(_bucket.BlobKey(digest), cancellationToken).ConfigureAwait(false);
        if (size is not { } s)
        {
            return BlobStat.Missing;
        }

        Cache.MarkPresent(digest, s);
        return new BlobStat(true, s);
    }

    public Task<BlobStat> StatUncachedAsync(Digest digest, CancellationToken cancellationToken)
    {
        Cache.Forget(digest);
        return StatAsync(digest, cancellationToken);
    }

    public async Task<BlobRead> OpenAsync(Digest digest, Berth.Core.Storage.ByteRange? range, BlobReadOptions options, CancellationToken cancellationToken)
    {
        var key = _bucket.BlobKey(digest);
        var redirect = options.AllowRedirect && _bucket.Options.Redirect;
        if (!redirect && Cache.TryGetBytes(digest, out var cached))
        {
            return FromMemory(cached, range);
        }

        if (range is null && !redirect)
        {
            // The whole blob: one request, its length from the response; a small one is read whole and kept. The bytes
            // are read over the bucket's own HTTP client from a URL signed here (no request), not through the SDK's
            // response stream, whose layers cost a large pull a sixth of its throughput.
            var url = await PresignAsync(key, TimeSpan.FromMinutes(15)).ConfigureAwait(false);
            if (_bucket.Options.SocketReads && url.Scheme == Uri.UriSchemeHttp)
            {
                // Over a socket of its own, which the server may then pass to the client inside the kernel (ISocketBody).
                switch (await SocketGet.SendAsync(url, cancellationToken).ConfigureAwait(false))
                {
                    case SocketGet.Result.Status { Code: HttpStatusCode.NotFound }:
                        Cache.Forget(digest);
                        return BlobRead.NotFound.Instance;
                    case SocketGet.Result.Status other:
                        throw new HttpRequestException($"GET {key}: the S3 server answered {(int)other.Code}", null, other.Code);
                    case SocketGet.Result.Body body when !Cache.Accepts(body.Length):
                        return new BlobRead.Streamed(body.Stream, 0, body.Length, body.Length);
                    case SocketGet.Result.Body small:
                        var bytes = new byte[small.Length];
                        await using (small.Stream.ConfigureAwait(false))
                        {
                            await small.Stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
                        }

                        Cache.AddBytes(digest, bytes);
                        return FromMemory(bytes, null);
                }

                // Unsupported: an answer shaped unlike S3's; read it the ordinary way below.
            }

            var response = await _bucket.Direct.SendAsync(new HttpRequestMessage(HttpMethod.Get, url), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            try
            {
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    response.Dispose();
                    Cache.Forget(digest);
                    return BlobRead.NotFound.Instance;
                }

                response.EnsureSuccessStatusCode(); // 503 and the like: the store's trouble, answered as such upstream
                var length = response.Content.Headers.ContentLength ?? throw new HttpRequestException($"GET {key}: the answer has no Content-Length");
                var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                if (!Cache.Accepts(length))
                {
                    return new BlobRead.Streamed(new HttpBodyStream(response, body), 0, length, length);
                }

                var content = new byte[length];
                using (response)
                {
                    await body.ReadExactlyAsync(content, cancellationToken).ConfigureAwait(false);
                }

                Cache.AddBytes(digest, content);
                return FromMemory(content, null);
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }

        // A range is resolved against the size first, so an unsatisfiable one is answered here (416) as by every store.
        if (await SizeOfAsync(key, cancellationToken).ConfigureAwait(false) is not { } size)
        {
            return BlobRead.NotFound.Instance;
        }

        var (offset, count) = (0L, size);
        if (range is { } asked && !asked.TryResolve(size, out offset, out count))
        {
            return new BlobRead.RangeNotSatisfiable(size);
        }

        if (redirect)
        {
            var expires = _clock.GetUtcNow() + _bucket.Options.RedirectExpiry;
            return new BlobRead.Redirect(await PresignAsync(key, _bucket.Options.RedirectExpiry).ConfigureAwait(false), expires);
        }

        try
        {
            var response = await Client.GetObjectAsync(new GetObjectRequest
            {
                BucketName = _bucket.Name,
                Key = key,
                ByteRange = new Amazon.S3.Model.ByteRange(offset, offset + count - 1),
            }, cancellationToken).ConfigureAwait(false);
            return new BlobRead.Streamed(new ResponseStream(response), offset, count, size);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return BlobRead.NotFound.Instance; // deleted between the two requests
        }
    }

    async IAsyncEnumerable<StoredBlob> IBlobStore.ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in ListObjectsAsync(_bucket.BlobsPrefix, cancellationToken).ConfigureAwait(false))
        {
            // Only a key OpenAsync would look up: <algorithm>/<first two hex>/<hex> of a valid digest. Anything else
            // (an operator's object, a misplaced copy) is not a committed blob of this store.
            var parts = item.Key[_bucket.BlobsPrefix.Length..].Split('/');
            if (parts.Length != 3 || !Digest.TryParse(parts[0] + ":" + parts[2], out var digest)
                || digest.AlgorithmName != parts[0] || digest.Hex != parts[2] || digest.Hex[..2] != parts[1])
            {
                continue;
            }

            yield return new StoredBlob(digest, item.Size ?? 0, LastModifiedOf(item));
        }
    }

    public async Task<BlobDeleteResult> DeleteAsync(Digest digest, CancellationToken cancellationToken)
    {
        var key = _bucket.BlobKey(digest);
        Cache.Forget(digest);
        if (await SizeOfAsync(key, cancellationToken).ConfigureAwait(false) is null)
        {
            return BlobDeleteResult.NotFound;
        }

        await Client.DeleteObjectAsync(_bucket.Name, key, cancellationToken).ConfigureAwait(false);
        return BlobDeleteResult.Deleted;
    }

    // ---------------------------------------------------------------- IUploadStore

    public async Task CreateAsync(string uploadId, CancellationToken cancellationToken)
    {
        // Putting the marker again (an existing id) changes nothing else: the segments are untouched.
        await Client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket.Name, Key = _bucket.MarkerKey(uploadId), ContentBody = string.Empty }, cancellationToken).ConfigureAwait(false);
        Know(uploadId).MarkerSeen(_clock.GetUtcNow());
    }

    public Task CreatePrivateAsync(string uploadId, CancellationToken cancellationToken)
    {
        _ = _bucket.UploadPrefix(uploadId); // the same check of the id as every other method
        _private[uploadId] = 0;
        return Task.CompletedTask;
    }

    public async Task<long?> GetLengthAsync(string uploadId, string? storeState, CancellationToken cancellationToken)
    {
        if (!UploadSegments.TryDecode(storeState, out var segments) || !await ExistsAsync(uploadId, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return UploadSegments.LengthOf(segments);
    }

    public async Task<(UploadAppendStatus Status, IUploadWriter? Writer)> OpenWriterAsync(string uploadId, long offset, string? storeState, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (!UploadSegments.TryDecode(storeState, out var segments) || !await ExistsAsync(uploadId, cancellationToken).ConfigureAwait(false))
        {
            return (UploadAppendStatus.NotFound, null);
        }

        if (UploadSegments.LengthOf(segments) < offset)
        {
            return (UploadAppendStatus.OffsetMismatch, null);
        }

        var held = _private.ContainsKey(uploadId)
            ? UploadLock.Unshared(_bucket, uploadId, _clock, _logger)
            : await UploadLock.TryTakeAsync(_bucket, uploadId, _clock, LockLease, _logger, cancellationToken).ConfigureAwait(false);
        if (held is null)
        {
            return (UploadAppendStatus.Busy, null);
        }

        // Nothing is cut in storage: the writer's state simply lists the segments up to the offset.
        return (UploadAppendStatus.Opened, new S3UploadWriter(_bucket, uploadId, offset, UploadSegments.CutAt(segments, offset), held, _logger,
            (token, state) => Know(uploadId).Written(token, state)));
    }

    public async Task<Stream?> OpenReadAsync(string uploadId, string? storeState, CancellationToken cancellationToken)
    {
        if (!UploadSegments.TryDecode(storeState, out var segments) || !await ExistsAsync(uploadId, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new SegmentReadStream(_bucket, uploadId, segments);
    }

    public async Task<UploadCommitResult> CommitAsync(string uploadId, Digest digest, string? storeState, CancellationToken cancellationToken)
    {
        if (!UploadSegments.TryDecode(storeState, out var segments))
        {
            return UploadCommitResult.Changed; // not a state this store wrote: it describes no data it can vouch for
        }

        if (!await ExistsAsync(uploadId, cancellationToken).ConfigureAwait(false))
        {
            return UploadCommitResult.NotFound;
        }

        var target = _bucket.BlobKey(digest);
        if (_private.ContainsKey(uploadId))
        {
            return await CommitPrivateAsync(uploadId, target, digest, segments, cancellationToken).ConfigureAwait(false);
        }

        // This process wrote the state being committed (the usual POST, PATCH…, PUT on one node): its segments exist
        // with the lengths the state names, and every segment object this process made for the upload is known.
        var written = _known.TryGetValue(uploadId, out var known) ? known.TokensIfLastStateIs(storeState) : null;
        if (written is not null)
        {
            return await CommitWrittenAsync(uploadId, target, digest, segments, written, cancellationToken).ConfigureAwait(false);
        }

        if (await SizeOfAsync(target, cancellationToken).ConfigureAwait(false) is not null)
        {
            await DeleteAsync(uploadId, cancellationToken).ConfigureAwait(false); // dedupe: identical bytes, keep those
            return UploadCommitResult.AlreadyExists;
        }

        // Held while the blob is built: no writer adds a segment, and no other commit deletes the ones being copied.
        var held = await UploadLock.TryTakeAsync(_bucket, uploadId, _clock, LockLease, _logger, cancellationToken).ConfigureAwait(false);
        if (held is null)
        {
            return UploadCommitResult.Changed; // a writer has it open: its chunk is not acknowledged yet
        }

        try
        {
            try
            {
                await BuildBlobAsync(uploadId, target, segments, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound || ex.ErrorCode is "NoSuchKey" or "InvalidRange")
            {
                // A segment the state names is gone or shorter (deleted with the upload meanwhile, or never there).
                return await ExistsAsync(uploadId, cancellationToken).ConfigureAwait(false) ? UploadCommitResult.Changed : UploadCommitResult.NotFound;
            }
        }
        finally
        {
            await held.ReleaseAsync().ConfigureAwait(false);
        }

        try
        {
            await DeleteAsync(uploadId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException)
        {
            // The blob is made; what is left of the upload is listed by ListAsync and removed by the sweeper.
            LogCleanupFailed(_logger, uploadId, ex.Message);
        }

        Cache.MarkPresent(digest, UploadSegments.LengthOf(segments));
        return UploadCommitResult.Committed;
    }

    public async Task DeleteAsync(string uploadId, CancellationToken cancellationToken)
    {
        var prefix = _bucket.UploadPrefix(uploadId);
        _private.TryRemove(uploadId, out _);
        _known.TryRemove(uploadId, out _);

        // The marker first: from then on the upload is unknown to every method, whatever is left below it.
        await Client.DeleteObjectAsync(_bucket.Name, _bucket.MarkerKey(uploadId), cancellationToken).ConfigureAwait(false);
        var keys = new List<string>();
        await foreach (var item in ListObjectsAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            keys.Add(item.Key);
        }

        // One by one rather than DeleteObjects: that needs a Content-MD5 or checksum header, which S3-compatible
        // servers disagree on; an upload has a handful of objects.
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
            async (key, ct) => await Client.DeleteObjectAsync(_bucket.Name, key, ct).ConfigureAwait(false)).ConfigureAwait(false);

        // Segments of writers that died before completing them are multipart uploads, invisible to the listing above.
        var request = new ListMultipartUploadsRequest { BucketName = _bucket.Name, Prefix = prefix };
        var response = await Client.ListMultipartUploadsAsync(request, cancellationToken).ConfigureAwait(false);
        foreach (var pending in response.MultipartUploads ?? [])
        {
            await Client.AbortMultipartUploadAsync(_bucket.Name, pending.Key, pending.UploadId, cancellationToken).ConfigureAwait(false);
        }
    }

    public async IAsyncEnumerable<(string Id, DateTimeOffset LastWrite)> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Keys come in order, so an upload's objects are consecutive: each id is reported once, with its newest object.
        string? current = null;
        var lastWrite = DateTimeOffset.MinValue;
        await foreach (var item in ListObjectsAsync(_bucket.UploadsPrefix, cancellationToken).ConfigureAwait(false))
        {
            var rest = item.Key[_bucket.UploadsPrefix.Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var id = slash > 0 ? rest[..slash] : null;
            if (id is null || !S3Bucket.IsUploadId(id))
            {
                continue; // not ours: no other method would accept the name
            }

            if (id != current)
            {
                if (current is not null)
                {
                    yield return (current, lastWrite);
                }

                (current, lastWrite) = (id, DateTimeOffset.MinValue);
            }

            var modified = LastModifiedOf(item);
            if (modified > lastWrite)
            {
                lastWrite = modified;
            }
        }

        if (current is not null)
        {
            yield return (current, lastWrite);
        }

        // A writer that died mid-chunk leaves a multipart upload and possibly no object at all; a commit that deleted
        // the upload's objects by name (CommitWrittenAsync) leaves another node's such leftovers. Both are reported here,
        // as of their start, so the sweeper's DeleteAsync aborts them. (Ids already reported may come again: deleting
        // twice is harmless.)
        var request = new ListMultipartUploadsRequest { BucketName = _bucket.Name, Prefix = _bucket.UploadsPrefix };
        while (true)
        {
            var page = await Client.ListMultipartUploadsAsync(request, cancellationToken).ConfigureAwait(false);
            string? last = null;
            var started = DateTimeOffset.MinValue;
            foreach (var pending in page.MultipartUploads ?? [])
            {
                var rest = pending.Key[_bucket.UploadsPrefix.Length..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                var id = slash > 0 ? rest[..slash] : null;
                if (id is null || !S3Bucket.IsUploadId(id))
                {
                    continue;
                }

                var initiated = pending.Initiated is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t.ToUniversalTime(), DateTimeKind.Utc)) : DateTimeOffset.UnixEpoch;
                if (id != last)
                {
                    if (last is not null)
                    {
                        yield return (last, started);
                    }

                    (last, started) = (id, initiated);
                }
                else if (initiated > started)
                {
                    started = initiated;
                }
            }

            if (last is not null)
            {
                yield return (last, started);
            }

            if (page.IsTruncated != true || (string.IsNullOrEmpty(page.NextKeyMarker) && string.IsNullOrEmpty(page.NextUploadIdMarker)))
            {
                yield break;
            }

            (request.KeyMarker, request.UploadIdMarker) = (page.NextKeyMarker, page.NextUploadIdMarker);
        }
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>
    /// A presigned GET of <paramref name="key"/> valid for <paramref name="validFor"/> (signed locally: no request). The
    /// expiry is counted from the machine's clock, which is what the SDK signs with, never from the injected
    /// <see cref="TimeProvider"/> (a test's clock in the past made every direct read a 403).
    /// </summary>
    private async Task<Uri> PresignAsync(string key, TimeSpan validFor) =>
        new(await Client.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = _bucket.Name,
            Key = key,
            Verb = HttpVerb.GET,
            Expires = DateTime.UtcNow + validFor,
            Protocol = _bucket.Options.Endpoint?.StartsWith("http://", StringComparison.OrdinalIgnoreCase) == true ? Protocol.HTTP : Protocol.HTTPS,
        }).ConfigureAwait(false));

    /// <summary>A read of cached bytes: the whole blob, or the range asked for.</summary>
    private static BlobRead FromMemory(byte[] content, Berth.Core.Storage.ByteRange? range)
    {
        var (offset, count) = (0L, (long)content.Length);
        if (range is { } asked && !asked.TryResolve(content.Length, out offset, out count))
        {
            return new BlobRead.RangeNotSatisfiable(content.Length);
        }

        return new BlobRead.Streamed(new MemoryStream(content, (int)offset, (int)count, writable: false), offset, count, content.Length);
    }

    /// <summary>
    /// Commits a private upload: no lock to take (no other writer can exist) and the segments just written by this
    /// process (no HEAD of the source); then the segments are deleted by name, without a listing. A failure leaves the
    /// upload private, for the caller's <see cref="DeleteAsync"/>.
    /// </summary>
    private async Task<UploadCommitResult> CommitPrivateAsync(string uploadId, string target, Digest digest, List<Segment> segments, CancellationToken cancellationToken)
    {
        var result = UploadCommitResult.AlreadyExists;
        if (await SizeOfAsync(target, cancellationToken).ConfigureAwait(false) is null)
        {
            await BuildBlobAsync(uploadId, target, segments, cancellationToken, sourcesKnown: true).ConfigureAwait(false);
            result = UploadCommitResult.Committed;
        }

        _private.TryRemove(uploadId, out _);
        var written = _known.TryRemove(uploadId, out var known) ? known.Tokens() : [];
        await DeleteByNameAsync(uploadId, marker: false, segments.Select(s => s.Token).Union(written, StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
        Cache.MarkPresent(digest, UploadSegments.LengthOf(segments));
        return result;
    }

    /// <summary>
    /// Commits a shared upload whose state this process wrote last: the segments are known to exist with the lengths
    /// the state names (no HEAD of them), and the upload's objects are deleted by name, the marker first: the state's
    /// segments and every other segment this process wrote for it (a tail rewritten, a chunk never acknowledged), without
    /// a listing. No lock is taken: the bytes were verified against the state, which decides what the blob is, whatever
    /// another writer does meanwhile; anything another node left below the upload (a segment never acknowledged, the
    /// multipart upload of a writer that died) has no marker any more and is removed by the upload sweeper, which lists
    /// both. A failure of the copy leaves the upload for the caller, as the locked path does.
    /// </summary>
    private async Task<UploadCommitResult> CommitWrittenAsync(string uploadId, string target, Digest digest, List<Segment> segments, IReadOnlyCollection<string> written, CancellationToken cancellationToken)
    {
        var result = UploadCommitResult.AlreadyExists;
        if (!Cache.TryGetPresent(digest, out _) && await SizeOfAsync(target, cancellationToken).ConfigureAwait(false) is null)
        {
            try
            {
                await BuildBlobAsync(uploadId, target, segments, cancellationToken, sourcesKnown: true).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound || ex.ErrorCode is "NoSuchKey" or "InvalidRange")
            {
                // Deleted meanwhile (a cancel or a commit of the same upload elsewhere).
                _known.TryRemove(uploadId, out _);
                return await ExistsAsync(uploadId, cancellationToken).ConfigureAwait(false) ? UploadCommitResult.Changed : UploadCommitResult.NotFound;
            }

            result = UploadCommitResult.Committed;
        }

        _known.TryRemove(uploadId, out _);
        await DeleteByNameAsync(uploadId, marker: true, segments.Select(s => s.Token).Union(written, StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
        Cache.MarkPresent(digest, UploadSegments.LengthOf(segments));
        return result;
    }

    /// <summary>Deletes the marker (first) and the named segments of a committed upload; what fails is left for the sweeper.</summary>
    private async Task DeleteByNameAsync(string uploadId, bool marker, IEnumerable<string> tokens, CancellationToken cancellationToken)
    {
        try
        {
            if (marker)
            {
                await Client.DeleteObjectAsync(_bucket.Name, _bucket.MarkerKey(uploadId), cancellationToken).ConfigureAwait(false);
            }

            await Parallel.ForEachAsync(tokens, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
                async (token, ct) => await Client.DeleteObjectAsync(_bucket.Name, _bucket.SegmentKey(uploadId, token), ct).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException)
        {
            LogCleanupFailed(_logger, uploadId, ex.Message); // left for the sweeper, which lists it
        }
    }

    /// <summary>The record of a shared upload this process works on, made when it is first needed (bounded in number).</summary>
    private KnownUpload Know(string uploadId)
    {
        if (_known.Count >= MaxKnownUploads && !_known.ContainsKey(uploadId))
        {
            _known.Clear(); // only requests are saved by it: forgetting is always safe
        }

        return _known.GetOrAdd(uploadId, static _ => new KnownUpload());
    }

    /// <summary>
    /// Makes the blob from the segments by server-side copies: nothing for an empty upload but an empty object, one
    /// <c>CopyObject</c> for one whole segment, else one multipart upload whose parts are <c>UploadPartCopy</c> ranges
    /// (each segment's range split at <see cref="MaximumCopySize"/>; every part but the last is at least 5 MiB since
    /// every segment but the last is).
    /// </summary>
    private async Task BuildBlobAsync(string uploadId, string target, List<Segment> segments, CancellationToken cancellationToken, bool sourcesKnown = false)
    {
        if (segments.Count == 0)
        {
            await Client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket.Name, Key = target, ContentBody = string.Empty }, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (segments.Count == 1 && segments[0].Length <= MaximumCopySize)
        {
            var source = _bucket.SegmentKey(uploadId, segments[0].Token);
            if (sourcesKnown || await SizeOfAsync(source, cancellationToken).ConfigureAwait(false) == segments[0].Length)
            {
                await Client.CopyObjectAsync(new CopyObjectRequest
                {
                    SourceBucket = _bucket.Name,
                    SourceKey = source,
                    DestinationBucket = _bucket.Name,
                    DestinationKey = target,
                }, cancellationToken).ConfigureAwait(false);
                return;
            }
        }

        var multipart = await Client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _bucket.Name, Key = target }, cancellationToken).ConfigureAwait(false);
        try
        {
            var parts = new List<PartETag>();
            foreach (var segment in segments)
            {
                var pieces = (int)((segment.Length + MaximumCopySize - 1) / MaximumCopySize);
                for (var i = 0; i < pieces; i++)
                {
                    var first = segment.Length * i / pieces;
                    var last = (segment.Length * (i + 1) / pieces) - 1;
                    var copied = await Client.CopyPartAsync(new CopyPartRequest
                    {
                        SourceBucket = _bucket.Name,
                        SourceKey = _bucket.SegmentKey(uploadId, segment.Token),
                        DestinationBucket = _bucket.Name,
                        DestinationKey = target,
                        UploadId = multipart.UploadId,
                        PartNumber = parts.Count + 1,
                        FirstByte = first,
                        LastByte = last,
                    }, cancellationToken).ConfigureAwait(false);
                    parts.Add(new PartETag(parts.Count + 1, copied.ETag));
                }
            }

            await Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _bucket.Name,
                Key = target,
                UploadId = multipart.UploadId,
                PartETags = parts,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await AbortQuietlyAsync(Client, _bucket.Name, target, multipart.UploadId, _logger).ConfigureAwait(false);
            throw;
        }
    }

    internal static async Task AbortQuietlyAsync(IAmazonS3 client, string bucket, string key, string uploadId, ILogger logger)
    {
        try
        {
            await client.AbortMultipartUploadAsync(bucket, key, uploadId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException)
        {
            LogAbortFailed(logger, key, ex.Message);
        }
    }

    /// <summary>
    /// Whether the upload exists: private, or its marker created or seen by this process within <see cref="MarkerTrust"/>
    /// (a delete through this process forgets it at once), or else a HEAD of the marker. Believing a marker another node
    /// deleted meanwhile costs nothing: callers reach the store only for a session the metadata store still has, and a
    /// segment written after a delete is listed and removed by the sweeper.
    /// </summary>
    private async Task<bool> ExistsAsync(string uploadId, CancellationToken cancellationToken)
    {
        if (_private.ContainsKey(uploadId))
        {
            return true;
        }

        var now = _clock.GetUtcNow();
        if (_known.TryGetValue(uploadId, out var known) && known.MarkerBelieved(now, MarkerTrust))
        {
            return true;
        }

        if (await SizeOfAsync(_bucket.MarkerKey(uploadId), cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        Know(uploadId).MarkerSeen(now);
        return true;
    }

    /// <summary>The object's size, or null when there is none.</summary>
    private async Task<long?> SizeOfAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var metadata = await Client.GetObjectMetadataAsync(_bucket.Name, key, cancellationToken).ConfigureAwait(false);
            return metadata.ContentLength;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async IAsyncEnumerable<S3Object> ListObjectsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new ListObjectsV2Request { BucketName = _bucket.Name, Prefix = prefix };
        while (true)
        {
            var page = await Client.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.S3Objects ?? [])
            {
                yield return item;
            }

            if (page.IsTruncated != true || string.IsNullOrEmpty(page.NextContinuationToken))
            {
                yield break;
            }

            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    private static DateTimeOffset LastModifiedOf(S3Object item) =>
        item.LastModified is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t.ToUniversalTime(), DateTimeKind.Utc)) : DateTimeOffset.UnixEpoch;

    [LoggerMessage(EventId = 1703, Level = LogLevel.Warning, Message = "Upload {UploadId}: the blob is committed but the upload's objects could not be removed ({Reason}); the upload sweeper removes them")]
    private static partial void LogCleanupFailed(ILogger logger, string uploadId, string reason);

    [LoggerMessage(EventId = 1704, Level = LogLevel.Warning, Message = "Could not abort the S3 multipart upload of {Key} ({Reason}); the upload's delete or a bucket lifecycle rule removes it")]
    private static partial void LogAbortFailed(ILogger logger, string key, string reason);
}
