using Berth.Api.Hosting;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Distribution;

/// <summary>The response side of a zero-copy send (<see cref="IFileSendFeature"/>): the placeholders written in the bytes' place.</summary>
internal static class Placeholders
{
    /// <summary>
    /// Writes <paramref name="length"/> placeholder bytes through the server's writer, so its Content-Length accounting
    /// holds; the connection takes them without storing them and sends the placed bytes in their stead. The last flush
    /// returns once the kernel has them. When that fails the response cannot be finished: the connection is ended (once
    /// the sender is done with the source, if it started on it).
    /// </summary>
    public static async Task WriteAsync(HttpContext httpContext, FileSend send, long length)
    {
        var writer = httpContext.Response.BodyWriter;
        long written = 0;
        var finished = false;
        try
        {
            while (written < length)
            {
                var memory = writer.GetMemory();
                var count = (int)Math.Min(memory.Length, length - written);
                writer.Advance(count);
                written += count;
            }

            var flush = await writer.FlushAsync(httpContext.RequestAborted);
            finished = !flush.IsCanceled && !flush.IsCompleted;
        }
        finally
        {
            if (!finished)
            {
                if (!send.TryAbandon())
                {
                    await send.WhenSentAsync();
                }

                httpContext.Abort();
            }
        }
    }
}
