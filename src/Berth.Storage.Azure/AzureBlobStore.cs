using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using Berth.Core.Storage;
using Berth.Oci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Storage.Azure;

/// <summary>
/// Blobs and uploads in one Azure Blob container, below <see cref="AzureStorageOptions.Prefix"/>:
/// <c>PREFIX/blobs/&lt;algorithm&gt;/&lt;first two hex&gt;/&lt;hex&gt;</c> for committed content, and for an upload in
/// progress <c>PREFIX/uploads/&lt;id&gt;/marker</c> (an empty blob put by <see cref="CreateAsync"/>; its lease is the
/// upload's writer lock) beside its segments <c>PREFIX/uploads/&lt;id&gt;/s&lt;token&gt;</c>, block blobs each written
/// by one writer under a fresh token (<see cref="UploadState"/> lists the acknowledged ones). A committed blob appears
/// only by one Put Block List of blocks staged from the segments, which is atomic: it is complete or absent.
/// </summary>
public sealed class AzureBlobStore : IBlobStore, IUploadStore
{
    /// <summary>A writer's block: what it buffers at most. Also the size below which a last segment is carried into the next writer's.</summary>
    internal const int BlockSize = 4 * 1024 * 1024;

    /// <summary>The lease on an upload's marker: the shortest Azure grants, renewed while the writer works, so a crashed node's lock ends soon.</summary>
    internal static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(15);

    /// <summary>A block copied server-side into a committed blob (Put Block From URL takes at most 100 MiB on older service versions).</summary>
    private const long CopyPieceSize = 100L * 1024 * 1024;

    /// <summary>A block copied through this node when the service cannot copy from a URL: 8 MiB, so 50,000 blocks make 390 GiB.</summary>
    private const int StreamPieceSize = 8 * 1024 * 1024;

    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private readonly AzureStorageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile bool _copyFromUrlUnsupported;

    public AzureBlobStore(IOptions<AzureStorageOptions> options, ILogger<AzureBlobStore> logger, TimeProvider time)
    {
        _options = options.Value;
        _container = AzureClients.CreateContainer(_options, AzureClients.StoreOptions());
        _prefix = string.IsNullOrEmpty(_options.Prefix) ? string.Empty : _options.Prefix.Trim('/') + "/";
        _logger = logger;
        _time = time;
    }

    internal BlobContainerClient Container => _container;

    // ---------------------------------------------------------------- committed blobs

    public async Task<BlobStat> StatAsync(Digest digest, CancellationToken cancellationToken)
    {
        var size = await SizeAsync(BlobClient(digest), cancellationToken).ConfigureAwait(false);
        return size is { } s ? new BlobStat(true, s) : BlobStat.Missing;
    }

    public async Task<BlobRead> OpenAsync(Digest digest, ByteRange? range, BlobReadOptions options, CancellationToken cancellationToken)
    {
        var blob = BlobClient(digest);
        var redirect = options.AllowRedirect && _options.Redirect && blob.CanGenerateSasUri;
        if (range is null && !redirect)
        {
            // One request: the download answers the size.
            try
            {
                var download = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                var length = download.Value.Details.ContentLength;
                return new BlobRead.Streamed(download.Value.Content, 0, length, length);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                return BlobRead.NotFound.Instance;
            }
        }

        if (await SizeAsync(blob, cancellationToken).ConfigureAwait(false) is not { } size)
        {
            return BlobRead.NotFound.Instance;
        }

        long offset = 0, count = size;
        if (range is { } asked && !asked.TryResolve(size, out offset, out count))
        {
            return new BlobRead.RangeNotSatisfiable(size);
        }

        if (redirect)
        {
            // Read-only, this blob only, until the expiry; the client repeats its Range header there.
            var expires = _time.GetUtcNow() + _options.RedirectExpiry;
            return new BlobRead.Redirect(blob.GenerateSasUri(BlobSasPermissions.Read, expires), expires);
        }

        try
        {
            var part = await blob.DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(offset, count) }, cancellationToken).ConfigureAwait(false);
            return new BlobRead.Streamed(part.Value.Content, offset, count, size);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return BlobRead.NotFound.Instance; // deleted between the two requests
        }
    }

    async IAsyncEnumerable<StoredBlob> IBlobStore.ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var root = _prefix + "blobs/";
        await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = root }, cancellationToken).ConfigureAwait(false))
        {
            // Only names OpenAsync would look up: <algorithm>/<first two hex>/<hex> of a valid digest. Anything else (a
            // foreign or misplaced blob) is not a committed blob of this store.
            var parts = item.Name[root.Length..].Split('/');
            if (parts.Length != 3 || !Digest.TryParse(parts[0] + ":" + parts[2], out var digest)
                || digest.AlgorithmName != parts[0] || digest.Hex != parts[2] || digest.Hex[..2] != parts[1])
            {
                continue;
            }

            yield return new StoredBlob(digest, item.Properties.ContentLength ?? 0, item.Properties.LastModified ?? DateTimeOffset.UnixEpoch);
        }
    }

    public async Task<BlobDeleteResult> DeleteAsync(Digest digest, CancellationToken cancellationToken)
    {
        var deleted = await BlobClient(digest).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
        return deleted.Value ? BlobDeleteResult.Deleted : BlobDeleteResult.NotFound;
    }

    // ---------------------------------------------------------------- uploads

    public async Task CreateAsync(string uploadId, CancellationToken cancellationToken)
    {
        try
        {
            // Only if absent: an existing upload (its marker possibly leased by a writer) is left exactly as it is.
            await Marker(uploadId).UploadAsync(
                BinaryData.Empty,
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } },
                cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
        }
    }

    public async Task<long?> GetLengthAsync(string uploadId, string? storeState, CancellationToken cancellationToken)
    {
        if (await SizeAsync(Marker(uploadId), cancellationToken).ConfigureAwait(false) is null)
        {
            return null;
        }

        // A state this store never wrote describes no data: shorter than anything acknowledged, so the caller sees it as lost.
        return UploadState.TryParse(storeState, out _, out var length) ? length : 0;
    }

    public async Task<(UploadAppendStatus Status, IUploadWriter? Writer)> OpenWriterAsync(string uploadId, long offset, string? storeState, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var marker = Marker(uploadId);
        var (lease, status) = await AcquireAsync(marker, cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            return (status, null);
        }

        if (!UploadState.TryParse(storeState, out var segments, out var length) || length < offset)
        {
            await ReleaseAsync(lease).ConfigureAwait(false);
            return (UploadAppendStatus.OffsetMismatch, null);
        }

        return (UploadAppendStatus.Opened, new AzureUploadWriter(this, uploadId, lease, UploadState.Cut(segments, offset), offset));
    }

    public async Task<Stream?> OpenReadAsync(string uploadId, string? storeState, CancellationToken cancellationToken)
    {
        if (!UploadState.TryParse(storeState, out var segments, out _)
            || await SizeAsync(Marker(uploadId), cancellationToken).ConfigureAwait(false) is null)
        {
            return null;
        }

        return new SegmentReadStream(segments.Select(s => (Segment(uploadId, s.Token), s.Length)).ToList());
    }

    public async Task<UploadCommitResult> CommitAsync(string uploadId, Digest digest, string? storeState, CancellationToken cancellationToken)
    {
        var marker = Marker(uploadId);
        var (lease, status) = await AcquireAsync(marker, cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            // Busy: a writer has the upload open, its chunk not acknowledged yet.
            return status == UploadAppendStatus.NotFound ? UploadCommitResult.NotFound : UploadCommitResult.Changed;
        }

        if (!UploadState.TryParse(storeState, out var segments, out _))
        {
            await ReleaseAsync(lease).ConfigureAwait(false);
            return UploadCommitResult.Changed;
        }

        var target = _container.GetBlockBlobClient(BlobName(digest));
        UploadCommitResult result;
        try
        {
            result = await SizeAsync(target, cancellationToken).ConfigureAwait(false) is not null
                ? UploadCommitResult.AlreadyExists
                : await ComposeAsync(uploadId, segments, target, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await ReleaseAsync(lease).ConfigureAwait(false);
            throw;
        }

        if (result == UploadCommitResult.Changed)
        {
            await ReleaseAsync(lease).ConfigureAwait(false);
            return result;
        }

        try
        {
            await DeleteUploadAsync(uploadId, lease.LeaseId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestFailedException or IOException or HttpRequestException)
        {
            AzureLog.UploadCleanupFailed(_logger, uploadId, digest.ToString(), ex is RequestFailedException r ? $"{r.Status} {r.ErrorCode}" : ex.GetType().Name);
        }

        return result;
    }

    public async Task DeleteAsync(string uploadId, CancellationToken cancellationToken)
    {
        try
        {
            // A writer's lease (perhaps of a dead node) must not keep an abandoned upload alive.
            await Marker(uploadId).GetBlobLeaseClient().BreakAsync(TimeSpan.Zero, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 409)
        {
        }

        await DeleteUploadAsync(uploadId, null, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<(string Id, DateTimeOffset LastWrite)> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A flat listing is in name order, so an upload's blobs (marker and segments) come together: one pass, one
        // upload in memory. An upload whose marker is gone but whose segments remain (a commit that could not clean
        // up) is listed too, so the sweeper removes it.
        var root = _prefix + "uploads/";
        string? current = null;
        var lastWrite = DateTimeOffset.MinValue;
        await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = root }, cancellationToken).ConfigureAwait(false))
        {
            var rest = item.Name[root.Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || !IsUploadId(rest[..slash]))
            {
                continue;
            }

            var id = rest[..slash];
            var modified = item.Properties.LastModified ?? DateTimeOffset.UnixEpoch;
            if (id == current)
            {
                lastWrite = modified > lastWrite ? modified : lastWrite;
                continue;
            }

            if (current is not null)
            {
                yield return (current, lastWrite);
            }

            (current, lastWrite) = (id, modified);
        }

        if (current is not null)
        {
            yield return (current, lastWrite);
        }
    }

    // ---------------------------------------------------------------- parts the writer uses

    internal BlockBlobClient Segment(string uploadId, string token) =>
        _container.GetBlockBlobClient($"{UploadRoot(uploadId)}s{token}");

    /// <summary>Keeps the writer's lease; a failure is only logged: the lease is a courtesy lock, the session's compare-and-set is the truth.</summary>
    internal async Task RenewAsync(string uploadId, BlobLeaseClient lease, CancellationToken cancellationToken)
    {
        try
        {
            await lease.RenewAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex)
        {
            AzureLog.LeaseRenewFailed(_logger, uploadId, ex.ErrorCode ?? ex.Status.ToString(CultureInfo.InvariantCulture));
        }
    }

    internal static async Task ReleaseAsync(BlobLeaseClient lease)
    {
        try
        {
            // Not the caller's token: a cancelled request still lets go of the upload.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await lease.ReleaseAsync(cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestFailedException or OperationCanceledException or HttpRequestException)
        {
            // Expired, broken (the upload was deleted) or unreachable: it ends by itself within LeaseDuration.
        }
    }

    // ---------------------------------------------------------------- internals

    /// <summary>The blob's size, or null when it does not exist.</summary>
    private static async Task<long?> SizeAsync(BlobBaseClient blob, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return properties.Value.ContentLength;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>The upload's lock: a lease on its marker. Null with NotFound (no marker) or Busy (leased).</summary>
    private static async Task<(BlobLeaseClient? Lease, UploadAppendStatus Status)> AcquireAsync(BlobClient marker, CancellationToken cancellationToken)
    {
        var lease = marker.GetBlobLeaseClient(Guid.NewGuid().ToString());
        try
        {
            await lease.AcquireAsync(LeaseDuration, cancellationToken: cancellationToken).ConfigureAwait(false);
            return (lease, UploadAppendStatus.Opened);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return (null, UploadAppendStatus.NotFound);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return (null, UploadAppendStatus.Busy);
        }
    }

    /// <summary>
    /// Stages every segment's bytes into <paramref name="target"/> and commits the block list, only if the blob does
    /// not exist yet. Block ids carry a random nonce: two commits of the same digest never mix their blocks.
    /// </summary>
    private async Task<UploadCommitResult> ComposeAsync(string uploadId, List<Segment> segments, BlockBlobClient target, CancellationToken cancellationToken)
    {
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var pieces = new List<(string BlockId, BlockBlobClient Source, long Offset, long Length)>();
        foreach (var segment in segments)
        {
            var source = Segment(uploadId, segment.Token);
            for (long offset = 0; offset < segment.Length; offset += CopyPieceSize)
            {
                var id = Convert.ToBase64String(Encoding.ASCII.GetBytes(nonce + pieces.Count.ToString("D6", CultureInfo.InvariantCulture)));
                pieces.Add((id, source, offset, Math.Min(CopyPieceSize, segment.Length - offset)));
            }
        }

        try
        {
            var blockIds = new List<string>();
            if (!_copyFromUrlUnsupported && pieces.Count > 0 && !await TryCopyFromUrlAsync(pieces[0], target, cancellationToken).ConfigureAwait(false))
            {
                _copyFromUrlUnsupported = true;
            }

            if (_copyFromUrlUnsupported)
            {
                await StreamSegmentsAsync(uploadId, segments, target, nonce, blockIds, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Parallel.ForEachAsync(
                    pieces.Skip(1),
                    new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
                    async (piece, token) => await TryCopyFromUrlAsync(piece, target, token).ConfigureAwait(false)).ConfigureAwait(false);
                blockIds.AddRange(pieces.Select(p => p.BlockId));
            }

            await target.CommitBlockListAsync(
                blockIds,
                new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } },
                cancellationToken).ConfigureAwait(false);
            return UploadCommitResult.Committed;
        }
        catch (RequestFailedException ex) when (ex.Status is 400 or 404 or 409 or 412)
        {
            // Another commit of the same digest won (its Put Block List discarded our staged blocks, or the blob
            // exists): identical bytes, keep theirs. Otherwise a segment the state names is gone (404, or the service
            // could not read the copy source): the data is not what the state says.
            if (await SizeAsync(target, cancellationToken).ConfigureAwait(false) is not null)
            {
                return UploadCommitResult.AlreadyExists;
            }

            if (ex.Status == 404 || ex.ErrorCode == "CannotVerifyCopySource")
            {
                return UploadCommitResult.Changed;
            }

            throw;
        }
    }

    /// <summary>Put Block From URL of one piece; false when the service does not implement it (Azurite).</summary>
    private async Task<bool> TryCopyFromUrlAsync((string BlockId, BlockBlobClient Source, long Offset, long Length) piece, BlockBlobClient target, CancellationToken cancellationToken)
    {
        // The source must be readable by the service: with a shared key, a short read-only SAS; with a SAS connection
        // string, the client's URL already carries one.
        var source = piece.Source.CanGenerateSasUri
            ? piece.Source.GenerateSasUri(BlobSasPermissions.Read, _time.GetUtcNow().AddHours(1))
            : piece.Source.Uri;
        try
        {
            await target.StageBlockFromUriAsync(
                source,
                piece.BlockId,
                new StageBlockFromUriOptions { SourceRange = new HttpRange(piece.Offset, piece.Length) },
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 501 || ex.ErrorCode == "APINotImplemented")
        {
            AzureLog.CopyFromUrlUnsupported(_logger, ex.ErrorCode ?? ex.Status.ToString(CultureInfo.InvariantCulture));
            return false;
        }
    }

    /// <summary>The fallback: each segment's bytes downloaded and staged again, one 8 MiB buffer at a time.</summary>
    private async Task StreamSegmentsAsync(string uploadId, List<Segment> segments, BlockBlobClient target, string nonce, List<string> blockIds, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(StreamPieceSize);
        try
        {
            foreach (var segment in segments)
            {
                var download = await Segment(uploadId, segment.Token)
                    .DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(0, segment.Length) }, cancellationToken).ConfigureAwait(false);
                await using var content = download.Value.Content;
                var remaining = segment.Length;
                while (remaining > 0)
                {
                    var want = (int)Math.Min(StreamPieceSize, remaining);
                    await content.ReadExactlyAsync(buffer.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
                    var id = Convert.ToBase64String(Encoding.ASCII.GetBytes(nonce + blockIds.Count.ToString("D6", CultureInfo.InvariantCulture)));
                    using var piece = new MemoryStream(buffer, 0, want, writable: false);
                    await target.StageBlockAsync(id, piece, cancellationToken: cancellationToken).ConfigureAwait(false);
                    blockIds.Add(id);
                    remaining -= want;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Deletes the marker (with the lease when the caller holds it) and then every segment.</summary>
    private async Task DeleteUploadAsync(string uploadId, string? leaseId, CancellationToken cancellationToken)
    {
        var conditions = leaseId is null ? null : new BlobRequestConditions { LeaseId = leaseId };
        await Marker(uploadId).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, conditions, cancellationToken).ConfigureAwait(false);
        await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = UploadRoot(uploadId) }, cancellationToken).ConfigureAwait(false))
        {
            await _container.DeleteBlobIfExistsAsync(item.Name, DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private BlobClient BlobClient(Digest digest) => _container.GetBlobClient(BlobName(digest));

    private string BlobName(Digest digest) => $"{_prefix}blobs/{digest.AlgorithmName}/{digest.Hex[..2]}/{digest.Hex}";

    private BlobClient Marker(string uploadId) => _container.GetBlobClient(UploadRoot(uploadId) + "marker");

    private string UploadRoot(string uploadId)
    {
        // Ids are generated by the server (hex); refuse anything that could name another blob.
        if (!IsUploadId(uploadId))
        {
            throw new ArgumentException("invalid upload id", nameof(uploadId));
        }

        return $"{_prefix}uploads/{uploadId}/";
    }

    private static bool IsUploadId(string name) =>
        name.Length is > 0 and <= 128 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
