using Amazon.S3.Model;

namespace Berth.Storage.S3;

/// <summary>An upload's segments read one after the other (each only as far as the state says), one request open at a time.</summary>
internal sealed class SegmentReadStream(S3Bucket bucket, string uploadId, IReadOnlyList<Segment> segments) : Stream
{
    private int _next;
    private GetObjectResponse? _current;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

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
                if (_next >= segments.Count)
                {
                    return 0;
                }

                var segment = segments[_next++];
                _current = await bucket.Client.GetObjectAsync(new GetObjectRequest
                {
                    BucketName = bucket.Name,
                    Key = bucket.SegmentKey(uploadId, segment.Token),
                    ByteRange = new ByteRange(0, segment.Length - 1),
                }, cancellationToken).ConfigureAwait(false);
            }

            var read = await _current.ResponseStream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read > 0)
            {
                return read;
            }

            _current.Dispose();
            _current = null;
        }
    }

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
}
