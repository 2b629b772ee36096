using System.Buffers;
using System.IO.Pipelines;
using Berth.Api.Hosting;
using Berth.Core.Storage;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Distribution;

/// <summary>
/// Copies exactly <paramref name="length"/> bytes of a store's stream to the response (the handler has set the status
/// and headers) through two pooled buffers, reading the next piece from the store while the previous one is written to
/// the client, so an object store's latency and the client's overlap; a request holds at most those two buffers
/// whatever the blob's size. The stream is disposed by the response (the handler registers it). A stream that ends
/// early cannot be finished within the promised Content-Length: the connection is aborted.
/// <para>
/// A stream that is an object store's response arriving on a socket (<see cref="ISocketBody"/>) is not read at all on a
/// plain-HTTP/1.1 connection with the zero-copy sender: the connection passes its bytes from that socket to the
/// client's inside the kernel (<see cref="IFileSendFeature.BeginSplice"/>), as it sends local files with sendfile.
/// </para>
/// </summary>
internal sealed class StreamedBlobResult(Stream content, long length) : IResult
{
    /// <summary>Bytes per read: large enough that an object store's stream is not asked for tiny pieces.</summary>
    private const int BufferSize = 128 * 1024;

    /// <summary>Below this the copy costs less than arranging a splice.</summary>
    private const long SpliceMinimum = 64 * 1024;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        if (length == 0)
        {
            return;
        }

        if (length >= SpliceMinimum && content is ISocketBody socketBody && HttpProtocol.IsHttp11(httpContext.Request.Protocol)
            && httpContext.Features.Get<IFileSendFeature>() is { } sender)
        {
            await httpContext.Response.StartAsync(httpContext.RequestAborted);
            if (socketBody.TryTakeSocket(out var socket, out var buffered))
            {
                await SpliceAsync(httpContext, sender, socket, buffered);
                return;
            }
        }

        var body = httpContext.Response.Body;
        var cancellation = httpContext.RequestAborted;
        var current = ArrayPool<byte>.Shared.Rent(BufferSize);
        var next = ArrayPool<byte>.Shared.Rent(BufferSize);
        Task<int>? pending = null;
        try
        {
            long copied = 0;
            var read = await FillAsync(current, copied, cancellation);
            while (true)
            {
                if (read == 0)
                {
                    httpContext.Abort();
                    throw new IOException($"the blob's stream ended at {copied} of {length} bytes");
                }

                copied += read;
                pending = copied < length ? FillAsync(next, copied, cancellation).AsTask() : null;
                await body.WriteAsync(current.AsMemory(0, read), cancellation);
                if (pending is null)
                {
                    break;
                }

                read = await pending;
                pending = null;
                (current, next) = (next, current);
            }
        }
        finally
        {
            if (pending is not null)
            {
                // A write failed while a read was in flight: let it finish before its buffer goes back to the pool.
                // The request is failing already: the write's exception is the one that matters.
                await ((Task)pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
        }
    }

    private async Task SpliceAsync(HttpContext httpContext, IFileSendFeature sender, System.Net.Sockets.Socket socket, ReadOnlyMemory<byte> buffered)
    {
        var writer = httpContext.Response.BodyWriter;
        if (!buffered.IsEmpty)
        {
            // What came with the store's response head goes first, through the writer as usual.
            writer.Write(buffered.Span);
        }

        var rest = length - buffered.Length;
        if (rest == 0)
        {
            await writer.FlushAsync(httpContext.RequestAborted);
            return;
        }

        if (sender.BeginSplice(socket, rest) is { } send)
        {
            await Placeholders.WriteAsync(httpContext, send, rest);
            return;
        }

        // The connection is closing: copy what it still takes.
        var left = rest;
        while (left > 0)
        {
            var memory = writer.GetMemory(BufferSize);
            var n = await socket.ReceiveAsync(memory[..(int)Math.Min(memory.Length, left)], System.Net.Sockets.SocketFlags.None, httpContext.RequestAborted);
            if (n == 0)
            {
                httpContext.Abort();
                throw new IOException($"the blob's stream ended {left} bytes early");
            }

            writer.Advance(n);
            left -= n;
            var flush = await writer.FlushAsync(httpContext.RequestAborted);
            if (flush.IsCanceled || flush.IsCompleted)
            {
                return;
            }
        }
    }

    private int Piece(long copied) => (int)Math.Min(BufferSize, length - copied);

    /// <summary>
    /// Fills the buffer with the next piece (less only at the stream's end): a network stream (an object store's
    /// response) answers a read with whatever arrived, often a few KB, and the client would get as many small writes.
    /// </summary>
    private ValueTask<int> FillAsync(byte[] buffer, long copied, CancellationToken cancellation)
    {
        var piece = Piece(copied);
        return content.ReadAtLeastAsync(buffer.AsMemory(0, piece), piece, throwOnEndOfStream: false, cancellation);
    }
}
