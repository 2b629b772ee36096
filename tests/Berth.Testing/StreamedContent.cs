using System.Net;

namespace Berth.Testing;

/// <summary>A request body of unknown length (sent chunked, without Content-Length), as a streaming client sends it.</summary>
public sealed class StreamedContent : HttpContent
{
    private readonly byte[] _content;

    public StreamedContent(byte[] content) => _content = content;

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        // Several writes, as a client streaming from a pipe would make.
        var half = _content.Length / 2;
        await stream.WriteAsync(_content.AsMemory(0, half));
        await stream.FlushAsync();
        await stream.WriteAsync(_content.AsMemory(half));
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
