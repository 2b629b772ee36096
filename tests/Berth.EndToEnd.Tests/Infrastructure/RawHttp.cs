using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>What a server answered to a request sent by <see cref="RawHttp"/>, and how much of its body was sent.</summary>
public sealed record RawResponse(int Status, string Head, string Body, long BodyBytesSent)
{
    public override string ToString() => $"{Status} after {BodyBytesSent} body bytes: {Body}";
}

/// <summary>
/// HTTP/1.1 over a plain socket, for what HttpClient does not do: send from a chosen loopback address (for IP allow
/// lists) and keep sending a large body while watching for an early answer. The body is made up as it is sent (a
/// prefix, then a pattern over and over), never held in memory; sending stops as soon as the answer is complete (or the server closes
/// the connection), and <see cref="RawResponse.BodyBytesSent"/> says how much had gone by then.
/// </summary>
public static class RawHttp
{
    private const int ChunkSize = 64 * 1024;

    /// <param name="head">Request line and headers, without Content-Length/Transfer-Encoding and without the blank line.</param>
    /// <param name="bodyLength">Bytes of body; sent with Content-Length, or chunked when <paramref name="chunked"/>.</param>
    /// <param name="prefix">The body's first bytes.</param>
    /// <param name="repeat">What follows the prefix, over and over; by default the letter a.</param>
    public static async Task<RawResponse> SendAsync(int port, IPAddress source, string head, long bodyLength, bool chunked, byte[]? prefix = null, byte[]? repeat = null)
    {
        repeat = repeat is { Length: > 0 } ? repeat : "a"u8.ToArray();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var framing = chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {bodyLength}";
        await SendAllAsync(socket, Encoding.ASCII.GetBytes($"{head}\r\n{framing}\r\n\r\n"), CancellationToken.None);

        using var answered = new CancellationTokenSource();
        var reading = ReadResponseAsync(socket, answered);
        long sent = 0;
        try
        {
            var chunk = new byte[ChunkSize];
            prefix ??= [];
            while (sent < bodyLength && !answered.IsCancellationRequested)
            {
                var count = (int)Math.Min(ChunkSize, bodyLength - sent);
                for (var i = 0; i < count; i++)
                {
                    var at = sent + i;
                    chunk[i] = at < prefix.Length ? prefix[at] : repeat[(at - prefix.Length) % repeat.Length];
                }

                if (chunked)
                {
                    await SendAllAsync(socket, Encoding.ASCII.GetBytes($"{count:x}\r\n"), answered.Token);
                }

                await SendAllAsync(socket, chunk.AsMemory(0, count), answered.Token);
                if (chunked)
                {
                    await SendAllAsync(socket, "\r\n"u8.ToArray(), answered.Token);
                }

                sent += count;
            }

            if (chunked && sent == bodyLength)
            {
                await SendAllAsync(socket, "0\r\n\r\n"u8.ToArray(), answered.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Answered (or closed) before the whole body went.
        }

        var (status, responseHead, body) = await reading.WaitAsync(TimeSpan.FromMinutes(2));
        return new RawResponse(status, responseHead, body, sent);
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var written = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[written..];
        }
    }

    /// <summary>Reads one response (Content-Length or chunked body, or up to the end of the connection), then cancels <paramref name="answered"/>.</summary>
    private static async Task<(int Status, string Head, string Body)> ReadResponseAsync(Socket socket, CancellationTokenSource answered)
    {
        var received = new List<byte>();
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await socket.ReceiveAsync(buffer, SocketFlags.None);
                }
                catch (SocketException)
                {
                    read = 0; // reset after the answer: what came is what there is
                }

                received.AddRange(buffer.AsSpan(0, read));
                if (read == 0 || TryComplete(received, out _))
                {
                    break;
                }
            }

            var text = Encoding.UTF8.GetString(received.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            var head = end < 0 ? text : text[..end];
            var status = head.Split(' ', 3) is [_, var code, ..] && int.TryParse(code, out var parsed) ? parsed : -1;
            var body = end < 0 ? string.Empty : Dechunk(head, text[(end + 4)..]);
            return (status, head, body);
        }
        finally
        {
            await answered.CancelAsync();
        }
    }

    private static bool TryComplete(List<byte> received, out int length)
    {
        length = 0;
        var text = Encoding.ASCII.GetString(received.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var head = text[..end];
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                return received.Count >= end + 4 + length;
            }

            if (line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase) && line.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                return text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal) || text[(end + 4)..].StartsWith("0\r\n\r\n", StringComparison.Ordinal);
            }
        }

        return false; // neither: the body ends with the connection
    }

    private static string Dechunk(string head, string body)
    {
        if (!head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            return body;
        }

        var result = new StringBuilder();
        var at = 0;
        while (at < body.Length)
        {
            var lineEnd = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (lineEnd < 0 || !int.TryParse(body[at..lineEnd], System.Globalization.NumberStyles.HexNumber, null, out var size) || size == 0)
            {
                break;
            }

            result.Append(body, lineEnd + 2, Math.Min(size, body.Length - lineEnd - 2));
            at = lineEnd + 2 + size + 2;
        }

        return result.ToString();
    }
}
