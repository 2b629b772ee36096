using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Berth.Api.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests;

/// <summary>
/// The zero-copy sender (<see cref="FileSendConnections"/>) on the real server over real sockets: whole-blob GETs go out
/// with sendfile, byte for byte, in order with everything else a kept-alive or pipelined connection carries, and a client
/// that goes away mid-transfer hurts nothing.
/// </summary>
public sealed class FileSendTests : IAsyncLifetime
{
    private const string Password = "file-send-test-password";
    private readonly string _data = Path.Combine(Path.GetTempPath(), "berth-filesend-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, byte[]> _blobs = [];
    private WebApplication _app = null!;
    private Uri _base = null!;

    public static TheoryData<int> Sizes => new() { 1, 4096, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 1024 * 1024 + 17, 5 * 1024 * 1024 + 3 };

    public async Task InitializeAsync() => await StartAsync(sendFile: true);

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task WholeBlobGet_ReturnsTheExactBytes_AndUsesSendfileFromItsThreshold(int size)
    {
        var blob = await PushAsync(size);
        using var meter = new SendFileMeter();
        using var client = CreateClient();

        using var response = await client.GetAsync(BlobUri(blob));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(size, response.Content.Headers.ContentLength);
        Assert.Equal(_blobs[blob], await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(size >= 64 * 1024 ? 1 : 0, await meter.FilesAsync(size >= 64 * 1024 ? 1 : 0));
        Assert.Equal(size >= 64 * 1024 ? size : 0, meter.Bytes);
    }

    [Fact]
    public async Task KeptAliveConnection_CarriesSendfileAndCopiedResponsesInOrder()
    {
        var big = await PushAsync(3 * 1024 * 1024 + 5);
        var small = await PushAsync(1000);
        var medium = await PushAsync(300 * 1024);
        using var meter = new SendFileMeter();
        var connections = 0;
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            ConnectCallback = async (context, token) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var client = CreateClient(handler);

        for (var round = 0; round < 5; round++)
        {
            foreach (var blob in new[] { big, small, medium, big })
            {
                Assert.Equal(_blobs[blob], await client.GetByteArrayAsync(BlobUri(blob)));
            }

            using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, BlobUri(big)));
            Assert.Equal(_blobs[big].Length, head.Content.Headers.ContentLength);

            using var range = new HttpRequestMessage(HttpMethod.Get, BlobUri(medium));
            range.Headers.Range = new RangeHeaderValue(1000, 200_999);
            using var partial = await client.SendAsync(range);
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.Equal(_blobs[medium].AsSpan(1000, 200_000).ToArray(), await partial.Content.ReadAsByteArrayAsync());

            using var missing = await client.GetAsync(new Uri(_base, $"/v2/files/send/blobs/sha256:{new string('0', 64)}"));
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Contains("BLOB_UNKNOWN", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(1, connections);
        // Per round: big twice, medium whole and medium's 200,000-byte range (a range is sent from the file too); small is copied.
        Assert.Equal(20, await meter.FilesAsync(20));
        Assert.Equal(5 * ((2L * _blobs[big].Length) + _blobs[medium].Length + 200_000), meter.Bytes);
    }

    [Fact]
    public async Task PipelinedRequests_AreAnsweredInOrder()
    {
        var big = await PushAsync(2 * 1024 * 1024 + 1);
        var medium = await PushAsync(100 * 1024);
        var small = await PushAsync(10);
        using var meter = new SendFileMeter();
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _base.Port);
        using var stream = new NetworkStream(socket);
        var order = new[] { big, medium, small, big, medium };

        // All five requests in one write: the server reads them together and must answer them one after the other.
        var requests = new StringBuilder();
        foreach (var blob in order)
        {
            requests.Append($"GET {BlobUri(blob).PathAndQuery} HTTP/1.1\r\nHost: {_base.Authority}\r\nAuthorization: {BasicAuthorization()}\r\n\r\n");
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes(requests.ToString()));
        var reader = new ResponseReader(stream);
        foreach (var blob in order)
        {
            var (status, body) = await reader.ReadAsync();
            Assert.Equal(200, status);
            Assert.Equal(_blobs[blob], body);
        }

        Assert.True(await meter.FilesAsync(1) >= 1, "at least the first large blob goes out with sendfile");
    }

    [Fact]
    public async Task ConnectionClose_SendsTheWholeFileBeforeClosing()
    {
        var blob = await PushAsync(4 * 1024 * 1024 + 7);
        using var meter = new SendFileMeter();

        var (head, body) = await RawExchangeAsync($"GET {BlobUri(blob).PathAndQuery} HTTP/1.1\r\nHost: {_base.Authority}\r\nAuthorization: {BasicAuthorization()}\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Contains("Connection: close", head, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(_blobs[blob], body);
        Assert.Equal(1, await meter.FilesAsync(1));
    }

    [Fact]
    public async Task Http10Request_IsAnsweredByCopying()
    {
        var blob = await PushAsync(1024 * 1024);
        using var meter = new SendFileMeter();

        var (head, body) = await RawExchangeAsync($"GET {BlobUri(blob).PathAndQuery} HTTP/1.0\r\nHost: {_base.Authority}\r\nAuthorization: {BasicAuthorization()}\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Equal(_blobs[blob], body);
        Assert.Equal(0, meter.Files);
    }

    [Fact]
    public async Task ParallelDownloads_EachGetTheirOwnBytes()
    {
        var blobs = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            blobs.Add(await PushAsync((2 * 1024 * 1024) + (i * 4099)));
        }

        using var meter = new SendFileMeter();
        using var client = CreateClient();
        await Parallel.ForEachAsync(Enumerable.Range(0, 48), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) =>
        {
            var blob = blobs[i % blobs.Count];
            Assert.Equal(_blobs[blob], await client.GetByteArrayAsync(BlobUri(blob), token));
        });

        Assert.Equal(48, await meter.FilesAsync(48));
    }

    [Fact]
    public async Task ClientLeavingMidTransfer_LeavesTheServerAndTheBlobIntact()
    {
        var blob = await PushAsync(16 * 1024 * 1024);
        for (var i = 0; i < 5; i++)
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
            await socket.ConnectAsync(IPAddress.Loopback, _base.Port);
            var request = $"GET {BlobUri(blob).PathAndQuery} HTTP/1.1\r\nHost: {_base.Authority}\r\nAuthorization: {BasicAuthorization()}\r\n\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(request));
            var buffer = new byte[64 * 1024];
            var received = 0;
            while (received < 200 * 1024)
            {
                var n = await socket.ReceiveAsync(buffer);
                Assert.True(n > 0, "the server closed the connection before sending 200 KiB");
                received += n;
            }

            if (i % 2 == 0)
            {
                socket.LingerState = new LingerOption(true, 0); // a reset rather than a close
            }

            socket.Close();
        }

        using var client = CreateClient();
        Assert.Equal(_blobs[blob], await client.GetByteArrayAsync(BlobUri(blob)));
    }

    [Fact]
    public async Task SendfileOff_SendsTheSameBytesByCopying()
    {
        await _app.DisposeAsync();
        await StartAsync(sendFile: false);
        var blob = await PushAsync(3 * 1024 * 1024);
        using var meter = new SendFileMeter();
        using var client = CreateClient();

        Assert.Equal(_blobs[blob], await client.GetByteArrayAsync(BlobUri(blob)));
        Assert.Equal(0, meter.Files);
    }

    private async Task StartAsync(bool sendFile)
    {
        _app = Berth.Testing.MigratedServer.Build(new Dictionary<string, string?>
        {
            ["Berth:Data"] = _data,
            ["Berth:Listen"] = "http://127.0.0.1:0",
            ["Berth:AdminPassword"] = Password,
            ["Berth:AutoCreateProjects"] = "true",
            ["Berth:SendFile"] = sendFile ? "true" : "false",
            ["Berth:Auth:Passwords:Iterations"] = "1000",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        _base = new Uri(address);
    }

    private HttpClient CreateClient(HttpMessageHandler? handler = null)
    {
        var client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        client.BaseAddress = _base;
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", BasicAuthorization());
        return client;
    }

    private static string BasicAuthorization() => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{Password}"));

    private Uri BlobUri(string digest) => new(_base, $"/v2/files/send/blobs/{digest}");

    private async Task<string> PushAsync(int size)
    {
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        using var client = CreateClient();
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await client.PostAsync(new Uri(_base, $"/v2/files/send/blobs/uploads/?digest={digest}"), content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        _blobs[digest] = bytes;
        return digest;
    }

    /// <summary>Sends one request on a new connection and reads until the server closes it: the head and the body.</summary>
    private async Task<(string Head, byte[] Body)> RawExchangeAsync(string request)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _base.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(request));
        using var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await socket.ReceiveAsync(buffer)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        var all = received.ToArray();
        var end = all.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        return (Encoding.ASCII.GetString(all, 0, end), all[end..]);
    }

    /// <summary>Reads HTTP/1.1 responses with a Content-Length off a stream, one after the other.</summary>
    private sealed class ResponseReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public async Task<(int Status, byte[] Body)> ReadAsync()
        {
            var head = new List<byte>();
            while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
            {
                head.Add(await ReadByteAsync());
            }

            var lines = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n");
            var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            var length = lines.Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                .Select(l => int.Parse(l["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)).Single();
            var body = new byte[length];
            for (var i = 0; i < length; i++)
            {
                if (_start == _end)
                {
                    await FillAsync();
                }

                var n = Math.Min(length - i, _end - _start);
                _buffer.AsSpan(_start, n).CopyTo(body.AsSpan(i));
                _start += n;
                i += n - 1;
            }

            return (status, body);
        }

        private async Task<byte> ReadByteAsync()
        {
            if (_start == _end)
            {
                await FillAsync();
            }

            return _buffer[_start++];
        }

        private async Task FillAsync()
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer);
            if (_end == 0)
            {
                throw new EndOfStreamException("the server closed the connection");
            }
        }
    }

    /// <summary>Counts this process's sendfile sends while it lives (the meter is process-wide; these tests do not run in parallel).</summary>
    private sealed class SendFileMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _files;
        private long _bytes;

        public SendFileMeter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == FileSendConnections.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                if (instrument.Name == "berth.file_send.files")
                {
                    Interlocked.Add(ref _files, value);
                }
                else
                {
                    Interlocked.Add(ref _bytes, value);
                }
            });
            _listener.Start();
        }

        public long Files => Interlocked.Read(ref _files);

        /// <summary>
        /// The count once it reaches <paramref name="expected"/> (or after 10 s): the sender counts a file when the kernel
        /// has taken its last byte, which may be a moment after the client has read it.
        /// </summary>
        public async Task<long> FilesAsync(long expected)
        {
            for (var i = 0; i < 200 && Files < expected; i++)
            {
                await Task.Delay(50);
            }

            return Files;
        }

        public long Bytes => Interlocked.Read(ref _bytes);

        public void Dispose() => _listener.Dispose();
    }
}
