using System.Buffers;
using Amazon.S3;
using Amazon.S3.Model;
using Berth.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Berth.Storage.S3;

/// <summary>
/// One chunk of an S3 upload: its bytes become one new segment object under a fresh token, preceded by the tail (a
/// last segment below <see cref="S3BlobStore.MinimumPartSize"/>) read back at the first write. A segment that fits in
/// one part is put in one request at commit; a larger one is sent as the writer's own multipart upload, a part each
/// time <see cref="S3BlobStore.PartSize"/> bytes are buffered, completed at commit. Nothing another writer or the
/// acknowledged state depends on is ever touched: cancel or dispose aborts the multipart upload, and a segment whose
/// state is never saved is garbage under the upload's prefix.
/// </summary>
internal sealed class S3UploadWriter : IUploadWriter
{
    private readonly S3Bucket _bucket;
    private readonly string _uploadId;
    private readonly List<Segment> _segments;
    private readonly UploadLock _lock;
    private readonly ILogger _logger;
    private readonly Action<string?, string?>? _committed;
    private readonly string _token = UploadSegments.NewToken();
    private readonly List<PartETag> _parts = [];
    private byte[]? _buffer;
    private int _buffered;
    private long _segmentLength;
    private bool _started;
    private string? _multipartId;
    private State _state;

    /// <param name="committed">Told the token of the segment a commit wrote (null when it wrote none) and the state it made.</param>
    public S3UploadWriter(S3Bucket bucket, string uploadId, long offset, List<Segment> segments, UploadLock held, ILogger logger, Action<string?, string?>? committed = null)
    {
        (_bucket, _uploadId, _segments, _lock, _logger, _committed) = (bucket, uploadId, segments, held, logger, committed);
        Size = offset;
    }

    private enum State
    {
        Open,
        Committed,
        Cancelled,
    }

    public long Size { get; private set; }

    private string Key => _bucket.SegmentKey(_uploadId, _token);

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_state != State.Open)
        {
            throw new InvalidOperationException("the writer was committed or cancelled");
        }

        if (data.IsEmpty)
        {
            return;
        }

        if (!_started)
        {
            _started = true;
            await TakeTailAsync(cancellationToken).ConfigureAwait(false);
        }

        while (!data.IsEmpty)
        {
            Reserve(data.Length);
            var n = Math.Min(data.Length, Math.Min(_buffer!.Length, S3BlobStore.PartSize) - _buffered);
            data.Span[..n].CopyTo(_buffer.AsSpan(_buffered));
            _buffered += n;
            _segmentLength += n;
            Size += n;
            data = data[n..];
            if (_buffered == S3BlobStore.PartSize)
            {
                await SendPartAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await _lock.RenewIfDueAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<string?> CommitAsync(CancellationToken cancellationToken)
    {
        if (_state == State.Committed)
        {
            return UploadSegments.Encode(_segments);
        }

        if (_state != State.Open)
        {
            throw new InvalidOperationException("the writer was cancelled");
        }

        if (_started)
        {
            if (_multipartId is null)
            {
                using var content = new MemoryStream(_buffer!, 0, _buffered, writable: false);
                await _bucket.Client.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = _bucket.Name,
                    Key = Key,
                    InputStream = content,
                    AutoCloseStream = false,
                }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                if (_buffered > 0)
                {
                    await SendPartAsync(cancellationToken).ConfigureAwait(false);
                }

                await _bucket.Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
                {
                    BucketName = _bucket.Name,
                    Key = Key,
                    UploadId = _multipartId,
                    PartETags = _parts,
                }, cancellationToken).ConfigureAwait(false);
                _multipartId = null;
            }

            _segments.Add(new Segment(_token, _segmentLength));
        }

        // A writer that wrote nothing answers the segments up to its offset: the unacknowledged ones are dropped.
        _state = State.Committed;
        ReturnBuffer();
        var state = UploadSegments.Encode(_segments);
        _committed?.Invoke(_started ? _token : null, state);
        return state;
    }

    public async Task CancelAsync(CancellationToken cancellationToken)
    {
        if (_state != State.Open)
        {
            return;
        }

        _state = State.Cancelled;
        Size -= _segmentLength - TailLength;
        ReturnBuffer();
        if (_multipartId is { } id)
        {
            _multipartId = null;
            await S3BlobStore.AbortQuietlyAsync(_bucket.Client, _bucket.Name, Key, id, _logger).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CancelAsync(CancellationToken.None).ConfigureAwait(false);
        await _lock.ReleaseAsync().ConfigureAwait(false);
    }

    private long TailLength { get; set; }

    /// <summary>
    /// A last segment below the minimum part size cannot be a part of the final blob but the last, so this writer's
    /// segment starts with its bytes (read back: less than 5 MiB) and replaces it in the state.
    /// </summary>
    private async Task TakeTailAsync(CancellationToken cancellationToken)
    {
        if (_segments.Count == 0 || _segments[^1].Length >= S3BlobStore.MinimumPartSize)
        {
            return;
        }

        var tail = _segments[^1];
        Reserve((int)tail.Length);
        using (var response = await _bucket.Client.GetObjectAsync(new GetObjectRequest
               {
                   BucketName = _bucket.Name,
                   Key = _bucket.SegmentKey(_uploadId, tail.Token),
                   ByteRange = new Amazon.S3.Model.ByteRange(0, tail.Length - 1),
               }, cancellationToken).ConfigureAwait(false))
        {
            await response.ResponseStream.ReadExactlyAsync(_buffer.AsMemory(0, (int)tail.Length), cancellationToken).ConfigureAwait(false);
        }

        _segments.RemoveAt(_segments.Count - 1);
        _buffered = (int)tail.Length;
        _segmentLength = tail.Length;
        TailLength = tail.Length;
    }

    /// <summary>Makes room for up to <paramref name="more"/> bytes (never past one part), growing from small so a 1-byte chunk costs little.</summary>
    private void Reserve(int more)
    {
        var wanted = (int)Math.Min(S3BlobStore.PartSize, (long)_buffered + more);
        if (_buffer is not null && _buffer.Length >= wanted)
        {
            return;
        }

        var size = Math.Min(S3BlobStore.PartSize, Math.Max(64 * 1024, (int)Math.Min(S3BlobStore.PartSize, Math.Max(wanted, (_buffer?.Length ?? 0) * 2L))));
        var grown = ArrayPool<byte>.Shared.Rent(size);
        if (_buffer is not null)
        {
            _buffer.AsSpan(0, _buffered).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = grown;
    }

    private async Task SendPartAsync(CancellationToken cancellationToken)
    {
        _multipartId ??= (await _bucket.Client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = _bucket.Name,
            Key = Key,
        }, cancellationToken).ConfigureAwait(false)).UploadId;

        using var content = new MemoryStream(_buffer!, 0, _buffered, writable: false);
        var part = await _bucket.Client.UploadPartAsync(new UploadPartRequest
        {
            BucketName = _bucket.Name,
            Key = Key,
            UploadId = _multipartId,
            PartNumber = _parts.Count + 1,
            InputStream = content,
            PartSize = _buffered,
        }, cancellationToken).ConfigureAwait(false);
        _parts.Add(new PartETag(_parts.Count + 1, part.ETag));
        _buffered = 0;
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
