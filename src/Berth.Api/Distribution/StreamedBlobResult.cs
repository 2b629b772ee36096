using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Distribution;

/// <summary>
/// Copies exactly <paramref name="length"/> bytes of a store's stream to the response (the handler has set the status
/// and headers) through one pooled buffer, so a request holds at most that buffer whatever the blob's size. The stream is
/// disposed by the response (the handler registers it). A stream that ends early cannot be finished within the promised
/// Content-Length: the connection is aborted.
/// </summary>
internal sealed class StreamedBlobResult(Stream content, long length) : IResult
{
    /// <summary>Bytes per read: large enough that an object store's stream is not asked for tiny pieces.</summary>
    private const int BufferSize = 128 * 1024;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var body = httpContext.Response.Body;
        var cancellation = httpContext.RequestAborted;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long copied = 0;
            while (copied < length)
            {
                var read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - copied)), cancellation);
                if (read == 0)
                {
                    httpContext.Abort();
                    throw new IOException($"the blob's stream ended at {copied} of {length} bytes");
                }

                await body.WriteAsync(buffer.AsMemory(0, read), cancellation);
                copied += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
