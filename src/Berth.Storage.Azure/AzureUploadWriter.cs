using System.Buffers;
using System.Globalization;
using System.Text;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Berth.Core.Storage;

namespace Berth.Storage.Azure;

/// <summary>
/// One chunk of an Azure upload: its bytes become one new segment (a block blob under a fresh token), staged in blocks of
/// <see cref="AzureBlobStore.BlockSize"/> from one pooled buffer and committed by <see cref="CommitAsync"/>, which
/// returns the upload's segments with the new one last. A last segment below a block (a small earlier chunk) is read
/// back into the buffer at the first write and rewritten at the start of the new segment, so every segment but the
/// last holds at least 4 MiB and the state stays small. Nothing stored is changed before <see cref="CommitAsync"/>, and
/// then only the new segment is created: bytes a writer wrote whose state is never saved are garbage under the
/// upload's prefix, never part of the upload. Holds the lease on the upload's marker until disposed.
/// </summary>
internal sealed class AzureUploadWriter : IUploadWriter
{
    private static readonly long RenewEvery = (long)(AzureBlobStore.LeaseDuration.TotalSeconds / 3 * System.Diagnostics.Stopwatch.Frequency);

    private readonly AzureBlobStore _store;
    private readonly string _uploadId;
    private readonly BlobLeaseClient _lease;
    private readonly List<Segment> _kept;
    private readonly List<string> _blockIds = [];
    private long _lastRenewal = System.Diagnostics.Stopwatch.GetTimestamp();
    private BlockBlobClient? _segment;
    private string? _token;
    private byte[]? _buffer;
    private int _buffered;
    private long _segmentLength;
    private readonly long _offset;
    private bool _done;
    private bool _committed;
    private bool _released;

    public AzureUploadWriter(AzureBlobStore store, string uploadId, BlobLeaseClient lease, List<Segment> kept, long offset)
    {
        _store = store;
        _uploadId = uploadId;
        _lease = lease;
        _kept = kept;
        _offset = offset;
        Size = offset;
    }

    public long Size { get; private set; }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_done)
        {
            throw new InvalidOperationException("the writer was committed or cancelled");
        }

        if (data.IsEmpty)
        {
            return;
        }

        if (_segment is null)
        {
            await StartSegmentAsync(cancellationToken).ConfigureAwait(false);
        }

        await KeepLeaseAsync(cancellationToken).ConfigureAwait(false);
        while (!data.IsEmpty)
        {
            var take = Math.Min(data.Length, AzureBlobStore.BlockSize - _buffered);
            data.Span[..take].CopyTo(_buffer.AsSpan(_buffered));
            _buffered += take;
            data = data[take..];
            Size += take;
            if (_buffered == AzureBlobStore.BlockSize)
            {
                await StageBufferAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task<string?> CommitAsync(CancellationToken cancellationToken)
    {
        if (_done)
        {
            throw new InvalidOperationException("the writer was committed or cancelled");
        }

        _done = true;
        _committed = true;
        try
        {
            if (_segment is null)
            {
                // Nothing written: the upload is its first Size bytes, which the kept segments describe.
                return UploadState.Format(_kept);
            }

            if (_buffered > 0)
            {
                await StageBufferAsync(cancellationToken).ConfigureAwait(false);
            }

            await KeepLeaseAsync(cancellationToken).ConfigureAwait(false);
            await _segment.CommitBlockListAsync(_blockIds, cancellationToken: cancellationToken).ConfigureAwait(false);
            return UploadState.Format([.. _kept, new Segment(_token!, _segmentLength)]);
        }
        finally
        {
            ReturnBuffer();
        }
    }

    public Task CancelAsync(CancellationToken cancellationToken)
    {
        // Staged blocks of a blob never committed are not part of anything; the service drops them within a week,
        // and the upload's deletion drops them with it.
        if (!_committed)
        {
            Size = _offset;
        }

        _done = true;
        ReturnBuffer();
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_done)
        {
            await CancelAsync(CancellationToken.None).ConfigureAwait(false);
        }

        if (!_released)
        {
            _released = true;
            await AzureBlobStore.ReleaseAsync(_lease).ConfigureAwait(false);
        }
    }

    /// <summary>Creates the segment and, when the last kept segment is under a block, reads it back to rewrite it first.</summary>
    private async Task StartSegmentAsync(CancellationToken cancellationToken)
    {
        _token = Segment.NewToken();
        _segment = _store.Segment(_uploadId, _token);
        _buffer = ArrayPool<byte>.Shared.Rent(AzureBlobStore.BlockSize);
        if (_kept.Count > 0 && _kept[^1].Length < AzureBlobStore.BlockSize)
        {
            var tail = _kept[^1];
            var download = await _store.Segment(_uploadId, tail.Token)
                .DownloadStreamingAsync(new BlobDownloadOptions { Range = new global::Azure.HttpRange(0, tail.Length) }, cancellationToken).ConfigureAwait(false);
            await using (download.Value.Content.ConfigureAwait(false))
            {
                await download.Value.Content.ReadExactlyAsync(_buffer.AsMemory(0, (int)tail.Length), cancellationToken).ConfigureAwait(false);
            }

            _buffered = (int)tail.Length;
            _kept.RemoveAt(_kept.Count - 1);
        }
    }

    private async Task StageBufferAsync(CancellationToken cancellationToken)
    {
        // Block ids of one blob must all have the same length: a six-digit index (50,000 blocks at most).
        var id = Convert.ToBase64String(Encoding.ASCII.GetBytes(_blockIds.Count.ToString("D6", CultureInfo.InvariantCulture)));
        using (var block = new MemoryStream(_buffer!, 0, _buffered, writable: false))
        {
            await _segment!.StageBlockAsync(id, block, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        _blockIds.Add(id);
        _segmentLength += _buffered;
        _buffered = 0;
    }

    private async Task KeepLeaseAsync(CancellationToken cancellationToken)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (now - _lastRenewal >= RenewEvery)
        {
            _lastRenewal = now;
            await _store.RenewAsync(_uploadId, _lease, cancellationToken).ConfigureAwait(false);
        }
    }

    private void ReturnBuffer()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}
