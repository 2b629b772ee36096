using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Storage.S3.Tests;

/// <summary>
/// The socket GET against a scripted server on loopback (no S3 server needed): what it sends, the bodies it hands
/// out, and every answer it must not take apart itself (left to the HTTP client) or must refuse.
/// </summary>
public sealed class SocketGetTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(70_000)]
    [InlineData(1_000_003)]
    public async Task Ok_WithContentLength_ReadsExactlyTheBody_SplitAnywhere(int size)
    {
        var body = new byte[size];
        Random.Shared.NextBytes(body);
        await using var server = await ScriptedServer.StartAsync(Concat(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nETag: \"x\"\r\n\r\n"), body), splitEvery: 777);

        var result = Assert.IsType<SocketGet.Result.Body>(await SocketGet.SendAsync(server.Url("/bucket/key?X-Amz-Signature=abc"), CancellationToken.None));
        Assert.Equal(size, result.Length);
        await using var stream = result.Stream;
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(body, copy.ToArray());

        var request = await server.RequestAsync();
        Assert.StartsWith("GET /bucket/key?X-Amz-Signature=abc HTTP/1.1\r\n", request, StringComparison.Ordinal);
        Assert.Contains($"\r\nHost: 127.0.0.1:{server.Port}\r\n", request, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", request, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", HttpStatusCode.NotFound)]
    [InlineData("HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!", HttpStatusCode.Forbidden)]
    [InlineData("HTTP/1.1 503 Slow Down\r\n\r\n", HttpStatusCode.ServiceUnavailable)]
    public async Task OtherStatus_IsReportedAsSuch(string answer, HttpStatusCode expected)
    {
        await using var server = await ScriptedServer.StartAsync(Encoding.ASCII.GetBytes(answer));
        var result = Assert.IsType<SocketGet.Result.Status>(await SocketGet.SendAsync(server.Url("/b/k"), CancellationToken.None));
        Assert.Equal(expected, result.Code);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\n\r\nno length, ended by the close")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nno colon here\r\n\r\nhello")]
    [InlineData("ICY 200 OK\r\nContent-Length: 5\r\n\r\nhello")]
    [InlineData("HTTP/1.1 abc OK\r\n\r\n")]
    public async Task AnswerItDoesNotTakeApart_IsUnsupported(string answer)
    {
        await using var server = await ScriptedServer.StartAsync(Encoding.ASCII.GetBytes(answer));
        Assert.IsType<SocketGet.Result.Unsupported>(await SocketGet.SendAsync(server.Url("/b/k"), CancellationToken.None));
    }

    [Fact]
    public async Task HugeHead_IsUnsupported_NotReadForever()
    {
        var head = "HTTP/1.1 200 OK\r\n" + string.Concat(Enumerable.Repeat("X-Filler: " + new string('a', 1000) + "\r\n", 40)) + "\r\n";
        await using var server = await ScriptedServer.StartAsync(Encoding.ASCII.GetBytes(head));
        Assert.IsType<SocketGet.Result.Unsupported>(await SocketGet.SendAsync(server.Url("/b/k"), CancellationToken.None));
    }

    [Fact]
    public async Task BodyShorterThanItsLength_FailsTheRead()
    {
        await using var server = await ScriptedServer.StartAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n").Concat(new byte[5000]).ToArray());
        var result = Assert.IsType<SocketGet.Result.Body>(await SocketGet.SendAsync(server.Url("/b/k"), CancellationToken.None));
        await using var stream = result.Stream;
        var error = await Assert.ThrowsAsync<IOException>(() => stream.CopyToAsync(Stream.Null));
        Assert.Contains("ended", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MoreThanItsLengthWithTheHead_IsRefused()
    {
        await using var server = await ScriptedServer.StartAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello"));
        await Assert.ThrowsAsync<IOException>(() => SocketGet.SendAsync(server.Url("/b/k"), CancellationToken.None));
    }

    [Fact]
    public async Task ClosedBeforeAnswering_IsAnError()
    {
        await using var server = await ScriptedServer.StartAsync([]);
        await Assert.ThrowsAsync<IOException>(() => SocketGet.SendAsync(server.Url("/b/k"), CancellationToken.None));
    }

    [Fact]
    public async Task Https_IsNotItsBusiness()
    {
        var result = await SocketGet.SendAsync(new Uri("https://127.0.0.1:1/b/k"), CancellationToken.None);
        Assert.IsType<SocketGet.Result.Unsupported>(result);
    }

    [Fact]
    public async Task TakenStream_HandsOverTheSocketOnce_AndAReadStreamCannotBeTaken()
    {
        var body = Encoding.ASCII.GetBytes("0123456789");
        await using var server = await ScriptedServer.StartAsync(Concat(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), body), splitEvery: 1000);
        var first = Assert.IsType<SocketGet.Result.Body>(await SocketGet.SendAsync(server.Url("/b/k"), CancellationToken.None));
        await using (first.Stream)
        {
            Assert.Equal((byte)'0', (byte)first.Stream.ReadByte());
            Assert.False(first.Stream.TryTakeSocket(out _, out _));
        }
    }

    private static byte[] Concat(byte[] a, byte[] b) => [.. a, .. b];

    /// <summary>Accepts one connection, reads the request head, writes the scripted bytes (in pieces), closes.</summary>
    private sealed class ScriptedServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly Task<string> _served;

        private ScriptedServer(TcpListener listener, byte[] answer, int splitEvery)
        {
            _listener = listener;
            _served = ServeAsync(answer, splitEvery);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static Task<ScriptedServer> StartAsync(byte[] answer, int splitEvery = int.MaxValue)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return Task.FromResult(new ScriptedServer(listener, answer, splitEvery));
        }

        public Uri Url(string pathAndQuery) => new($"http://127.0.0.1:{Port}{pathAndQuery}");

        public Task<string> RequestAsync() => _served;

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            try
            {
                await _served;
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
            {
            }
        }

        private async Task<string> ServeAsync(byte[] answer, int splitEvery)
        {
            using var socket = await _listener.AcceptSocketAsync();
            var head = new List<byte>();
            var one = new byte[1];
            while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
            {
                if (await socket.ReceiveAsync(one, SocketFlags.None) == 0)
                {
                    break;
                }

                head.Add(one[0]);
            }

            for (var at = 0; at < answer.Length; at += splitEvery)
            {
                await socket.SendAsync(answer.AsMemory(at, Math.Min(splitEvery, answer.Length - at)), SocketFlags.None);
            }

            socket.Shutdown(SocketShutdown.Send);
            return Encoding.ASCII.GetString(head.ToArray());
        }
    }
}
