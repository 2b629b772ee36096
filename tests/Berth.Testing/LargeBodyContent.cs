using System.Net;

namespace Berth.Testing;

/// <summary>
/// A request body of <see cref="Length"/> bytes made up as it is sent (never held in memory): <c>prefix</c>, then
/// <c>fill</c> bytes. With <c>declareLength</c> false it is sent chunked. (What the server read of it: see
/// <see cref="BerthApplication.BodyProbeHeader"/>.)
/// </summary>
public sealed class LargeBodyContent : HttpContent
{
    private const int ChunkSize = 64 * 1024;
    private readonly byte[] _prefix;
    private readonly byte _fill;
    private readonly bool _declareLength;

    public LargeBodyContent(long length, byte[]? prefix = null, byte fill = (byte)'a', bool declareLength = true, string? contentType = null)
    {
        Length = length;
        _prefix = prefix ?? [];
        _fill = fill;
        _declareLength = declareLength;
        if (contentType is not null)
        {
            Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
    }

    public long Length { get; }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        var chunk = new byte[ChunkSize];
        long position = 0;
        while (position < Length)
        {
            var count = (int)Math.Min(ChunkSize, Length - position);
            for (var i = 0; i < count; i++)
            {
                var at = position + i;
                chunk[i] = at < _prefix.Length ? _prefix[at] : _fill;
            }

            await stream.WriteAsync(chunk.AsMemory(0, count));
            position += count;
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = Length;
        return _declareLength;
    }
}
