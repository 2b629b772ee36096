using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.Core.Storage;

namespace Berth.Storage.S3;

/// <summary>
/// A whole-object GET of a presigned plain-HTTP URL over a socket of its own (HTTP/1.1, <c>Connection: close</c>), so
/// the server can pass the body from that socket to the client's inside the kernel (<see cref="ISocketBody"/>). Used
/// only for <c>http://</c> endpoints; a response it does not expect (no Content-Length, chunked, an unusual status
/// line) is reported as <see cref="Result.Unsupported"/> and the caller reads the object the ordinary way.
/// </summary>
internal static class SocketGet
{
    /// <summary>Response heads larger than this are not what an S3 server sends for a GET.</summary>
    private const int MaxHead = 32 * 1024;

    /// <summary>How long the server may take to start answering.</summary>
    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(60);

    internal abstract record Result
    {
        private Result()
        {
        }

        /// <summary>200 with a Content-Length: the body to read or splice.</summary>
        public sealed record Body(SocketBodyStream Stream, long Length) : Result;

        /// <summary>Any other status (404, 403, 503…).</summary>
        public sealed record Status(HttpStatusCode Code) : Result;

        /// <summary>An answer this reader does not take apart: read the object another way.</summary>
        public sealed record Unsupported(string Why) : Result;
    }

    public static async Task<Result> SendAsync(Uri url, CancellationToken cancellationToken)
    {
        if (url.Scheme != Uri.UriSchemeHttp)
        {
            return new Result.Unsupported("not plain HTTP");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        byte[]? head = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(HeadTimeout);
            await socket.ConnectAsync(new DnsEndPoint(url.IdnHost, url.Port), timeout.Token).ConfigureAwait(false);
            var request = Encoding.ASCII.GetBytes(
                $"GET {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nUser-Agent: berth\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n");
            await socket.SendAsync(request, SocketFlags.None, timeout.Token).ConfigureAwait(false);

            head = ArrayPool<byte>.Shared.Rent(MaxHead);
            var filled = 0;
            int end;
            while ((end = head.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
            {
                if (filled == MaxHead)
                {
                    return Fail(socket, "a response head over 32 KiB");
                }

                var n = await socket.ReceiveAsync(head.AsMemory(filled, MaxHead - filled), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException($"GET {url.AbsolutePath}: the S3 server closed the connection before answering");
                }

                filled += n;
            }

            var parsed = ParseHead(Encoding.ASCII.GetString(head, 0, end));
            if (parsed is null)
            {
                return Fail(socket, "an unusual response head");
            }

            var (status, length, chunked) = parsed.Value;
            if (status != HttpStatusCode.OK)
            {
                socket.Dispose();
                return new Result.Status(status);
            }

            if (length is null || chunked)
            {
                return Fail(socket, "a body without a Content-Length");
            }

            var buffered = head.AsSpan(end + 4, filled - end - 4).ToArray();
            if (buffered.Length > length.Value)
            {
                throw new IOException($"GET {url.AbsolutePath}: the S3 server sent more than its Content-Length");
            }

            return new Result.Body(new SocketBodyStream(socket, buffered, length.Value), length.Value);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        finally
        {
            if (head is not null)
            {
                ArrayPool<byte>.Shared.Return(head);
            }
        }
    }

    private static Result.Unsupported Fail(Socket socket, string why)
    {
        socket.Dispose();
        return new Result.Unsupported(why);
    }

    /// <summary>Status, Content-Length and whether the body is chunked; null for a head that is not HTTP/1.x.</summary>
    internal static (HttpStatusCode Status, long? Length, bool Chunked)? ParseHead(string head)
    {
        var lines = head.Split("\r\n");
        var status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !status[0].StartsWith("HTTP/1.", StringComparison.Ordinal)
            || !int.TryParse(status[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code) || code is < 100 or > 999)
        {
            return null;
        }

        long? length = null;
        var chunked = false;
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return null;
            }

            var name = line.AsSpan(0, colon).Trim();
            var value = line.AsSpan(colon + 1).Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (length is not null || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var l))
                {
                    return null; // two lengths, or one that is not a number: not ours to guess
                }

                length = l;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = true; // any transfer coding: leave it to HttpClient
            }
        }

        return ((HttpStatusCode)code, length, chunked);
    }
}

/// <summary>
/// The body of a <see cref="SocketGet"/> response: the bytes that came with the head, then the socket's, exactly
/// <c>length</c> in all; its end before that is an <see cref="IOException"/>. Disposing it closes the socket.
/// </summary>
internal sealed class SocketBodyStream(Socket socket, byte[] buffered, long length) : Stream, ISocketBody
{
    private int _bufferedAt;
    private long _left = length;
    private bool _touched;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public bool TryTakeSocket(out Socket taken, out ReadOnlyMemory<byte> prefix)
    {
        if (_touched)
        {
            taken = null!;
            prefix = default;
            return false;
        }

        _touched = true;
        _left = 0; // what is left is the taker's now
        taken = socket;
        prefix = buffered;
        return true;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        _touched = true;
        if (_left == 0 || buffer.IsEmpty)
        {
            return 0;
        }

        if (_bufferedAt < buffered.Length)
        {
            return FromBuffered(buffer);
        }

        var n = socket.Receive(buffer[..(int)Math.Min(buffer.Length, _left)], SocketFlags.None);
        return Took(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _touched = true;
        if (_left == 0 || buffer.IsEmpty)
        {
            return 0;
        }

        if (_bufferedAt < buffered.Length)
        {
            return FromBuffered(buffer.Span);
        }

        var n = await socket.ReceiveAsync(buffer[..(int)Math.Min(buffer.Length, _left)], SocketFlags.None, cancellationToken).ConfigureAwait(false);
        return Took(n);
    }

    private int FromBuffered(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, buffered.Length - _bufferedAt);
        buffered.AsSpan(_bufferedAt, n).CopyTo(buffer);
        _bufferedAt += n;
        _left -= n;
        return n;
    }

    private int Took(int n)
    {
        if (n == 0)
        {
            throw new IOException($"the S3 server's response ended {_left} bytes early");
        }

        _left -= n;
        return n;
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
            socket.Dispose();
        }

        base.Dispose(disposing);
    }
}
