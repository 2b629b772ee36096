using Berth.Api.Hosting;
using Berth.Oci;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Distribution;

/// <summary>
/// Sends <paramref name="length"/> bytes at <paramref name="offset"/> of a local blob file (the whole blob or one range;
/// the handler has set the status and headers): on a plain-HTTP/1.1 connection with the zero-copy sender
/// (<see cref="FileSendConnections"/>) the kernel sends the file (<c>sendfile(2)</c>); otherwise the file is read straight
/// into the server's output buffers (one copy, no intermediate buffer).
/// </summary>
internal sealed class LocalBlobResult(string path, long offset, long length) : IResult
{
    /// <summary>Bytes asked of the output pipe per read when copying.</summary>
    private const int ChunkSize = 256 * 1024;

    /// <summary>Below this the copy costs less than arranging a file send.</summary>
    private const long FileSendMinimum = 64 * 1024;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        FileStream file;
        try
        {
            file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.Read | FileShare.Delete,
                Options = FileOptions.SequentialScan | FileOptions.Asynchronous, // sendfile needs an asynchronous handle
                BufferSize = 0,
            });
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Removed between the lookup and here (garbage collection), or lost from the disk.
            response.ContentLength = null;
            response.Headers.Remove(Microsoft.Net.Http.Headers.HeaderNames.ContentRange);
            await Http.Error(OciErrorCode.BlobUnknown, "the blob's data is not available").ExecuteAsync(httpContext);
            return;
        }

        await using (file)
        {
            if (file.Length < offset + length)
            {
                throw new IOException($"blob file {path} has {file.Length} bytes, fewer than the {offset + length} asked for");
            }

            var sender = length >= FileSendMinimum && HttpProtocol.IsHttp11(httpContext.Request.Protocol)
                ? httpContext.Features.Get<IFileSendFeature>()
                : null;
            if (sender is not null)
            {
                await response.StartAsync(httpContext.RequestAborted);
                var send = sender.Begin(file, offset, length);
                if (send is not null)
                {
                    await Placeholders.WriteAsync(httpContext, send, length);
                    return;
                }
            }

            await CopyAsync(httpContext, file);
        }
    }

    private async Task CopyAsync(HttpContext httpContext, FileStream file)
    {
        var writer = httpContext.Response.BodyWriter;
        var cancellation = httpContext.RequestAborted;
        var handle = file.SafeFileHandle;
        long sent = 0;
        while (sent < length)
        {
            var memory = writer.GetMemory(ChunkSize);
            var want = (int)Math.Min(memory.Length, length - sent);
            // Off Windows an asynchronous file read is a blocking read on another thread-pool thread: read here instead.
            var read = OperatingSystem.IsWindows()
                ? await RandomAccess.ReadAsync(handle, memory[..want], offset + sent, cancellation)
                : RandomAccess.Read(handle, memory.Span[..want], offset + sent);
            if (read == 0)
            {
                throw new IOException($"blob file {path} ended at {offset + sent} of {offset + length} bytes");
            }

            writer.Advance(read);
            sent += read;
            var flush = await writer.FlushAsync(cancellation);
            if (flush.IsCanceled || flush.IsCompleted)
            {
                return;
            }
        }
    }
}
