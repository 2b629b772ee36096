using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Berth.Storage.Azure;

/// <summary>
/// An upload's segments read one after the other (the used part of each), each downloaded only when the reader gets to
/// it: what <see cref="AzureBlobStore.OpenReadAsync"/> answers, read from the start to the end once.
/// </summary>
internal sealed class SegmentReadStream(IReadOnlyList<(BlockBlobClient Blob, long Length)> segments) : Stream
{
    private int _next;
    private Stream? _current;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => segments.Sum(s => s.Length);

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            if (_current is null)
            {
                if (_next == segments.Count)
                {
                    return 0;
                }

                var (blob, length) = segments[_next++];
                var download = await blob.DownloadStreamingAsync(new BlobDownloadOptions { Range = new global::Azure.HttpRange(0, length) }, cancellationToken).ConfigureAwait(false);
                _current = download.Value.Content;
            }

            var read = await _current.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read > 0)
            {
                _position += read;
                return read;
            }

            await _current.DisposeAsync().ConfigureAwait(false);
            _current = null;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_current is not null)
        {
            await _current.DisposeAsync().ConfigureAwait(false);
            _current = null;
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }
}
