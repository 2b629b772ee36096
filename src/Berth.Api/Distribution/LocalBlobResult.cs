using Microsoft.AspNetCore.Http;
using Microsoft.Win32.SafeHandles;

namespace Berth.Api.Distribution;

/// <summary>
/// Sends a whole local blob file by reading it straight into the server's output buffers (one copy, no intermediate
/// buffer). Used for plain GETs; ranges and conditional requests go through the framework's file result.
/// </summary>
internal sealed class LocalBlobResult(string path, long length, string etag) : IResult
{
    /// <summary>Bytes asked of the output pipe per read.</summary>
    private const int ChunkSize = 256 * 1024;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        using (handle)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/octet-stream";
            response.ContentLength = length;
            response.Headers.ETag = etag;
            response.Headers.AcceptRanges = "bytes";
            var writer = response.BodyWriter;
            var cancellation = httpContext.RequestAborted;
            long offset = 0;
            while (offset < length)
            {
                var memory = writer.GetMemory(ChunkSize);
                var want = (int)Math.Min(memory.Length, length - offset);
                var read = await RandomAccess.ReadAsync(handle, memory[..want], offset, cancellation);
                if (read == 0)
                {
                    throw new IOException($"blob file {path} ended at {offset} of {length} bytes");
                }

                writer.Advance(read);
                offset += read;
                var flush = await writer.FlushAsync(cancellation);
                if (flush.IsCanceled || flush.IsCompleted)
                {
                    return;
                }
            }
        }
    }
}
