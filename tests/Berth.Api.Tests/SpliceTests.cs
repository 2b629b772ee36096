using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Berth.Api.Distribution;
using Berth.Api.Hosting;
using Berth.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Api.Tests;

/// <summary>
/// A blob body that arrives on a socket (an object store's plain-HTTP response, <see cref="ISocketBody"/>) passed to
/// the client inside the kernel by the zero-copy sender, on a bare Kestrel server over real sockets: the bytes that came
/// with the store's head first, then exactly the socket's, in order with other responses on a kept-alive connection; an
/// origin that stops early or a client that leaves ends that connection and nothing else.
/// </summary>
public sealed class SpliceTests : IAsyncLifetime
{
    private readonly Dictionary<string, byte[]> _bodies = [];
    private WebApplication _app = null!;
    private Uri _base = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseFileSend()));
        _app = builder.Build();

        // /blob/{name}?prefix=N[&cut=M]: the body of {name} served from an "origin" socket, N of its bytes already read
        // with the head; with cut, the origin stops after M bytes.
        _app.MapGet("/blob/{name}", async (HttpContext context, string name, int prefix, int? cut) =>
        {
            var body = _bodies[name];
            var stream = await Origin.OpenAsync(body, prefix, cut);
            context.Response.RegisterForDisposeAsync(stream);
            context.Response.ContentLength = body.Length;
            await new StreamedBlobResult(stream, body.Length).ExecuteAsync(context);
        });
        _app.MapGet("/small", () => Results.Text("small answer"));

        await _app.StartAsync();
        _base = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    public static TheoryData<int, int> Cases => new()
    {
        { 64 * 1024 - 1, 0 },
        { 64 * 1024, 0 },
        { 64 * 1024, 1000 },
        { 1024 * 1024 + 17, 0 },
        { 1024 * 1024 + 17, 32 * 1024 },
        { 5 * 1024 * 1024 + 3, 7 },
        { 100_000, 100_000 }, // everything came with the head
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Body_ArrivesExact_AndIsSplicedFromTheThreshold(int size, int prefix)
    {
        var name = Add(size);
        using var meter = new SplicedBytes();
        using var client = new HttpClient { BaseAddress = _base, Timeout = TimeSpan.FromSeconds(30) };

        var bytes = await client.GetByteArrayAsync($"/blob/{name}?prefix={prefix}");

        Assert.Equal(_bodies[name], bytes);
        var expected = size >= 64 * 1024 ? size - prefix : 0;
        Assert.Equal(expected, await meter.ReachesAsync(expected));
    }

    [Fact]
    public async Task KeptAliveConnection_CarriesSplicedAndOrdinaryResponsesInOrder()
    {
        var big = Add(3 * 1024 * 1024 + 5);
        var medium = Add(300 * 1024);
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
        using var client = new HttpClient(handler) { BaseAddress = _base, Timeout = TimeSpan.FromSeconds(30) };

        for (var round = 0; round < 4; round++)
        {
            Assert.Equal(_bodies[big], await client.GetByteArrayAsync($"/blob/{big}?prefix=100"));
            Assert.Equal("small answer", await client.GetStringAsync("/small"));
            Assert.Equal(_bodies[medium], await client.GetByteArrayAsync($"/blob/{medium}?prefix=0"));
        }

        Assert.Equal(1, connections);
    }

    [Fact]
    public async Task OriginEndingEarly_EndsThatResponseIncomplete_AndTheServerGoesOn()
    {
        var name = Add(2 * 1024 * 1024);
        using var client = new HttpClient { BaseAddress = _base, Timeout = TimeSpan.FromSeconds(30) };

        // The client sees a body shorter than its Content-Length: the connection was ended, never "finished".
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync($"/blob/{name}?prefix=10&cut=500000"));

        using var fresh = new HttpClient { BaseAddress = _base, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(_bodies[name], await fresh.GetByteArrayAsync($"/blob/{name}?prefix=10"));
    }

    [Fact]
    public async Task ClientLeavingMidTransfer_HurtsNothing()
    {
        var name = Add(8 * 1024 * 1024);
        for (var i = 0; i < 3; i++)
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, _base.Port);
            await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes($"GET /blob/{name}?prefix=0 HTTP/1.1\r\nHost: x\r\n\r\n"), SocketFlags.None);
            var buffer = new byte[100_000];
            _ = await socket.ReceiveAsync(buffer, SocketFlags.None);
            socket.LingerState = new LingerOption(true, 0); // a reset, as a killed client sends
        }

        using var client = new HttpClient { BaseAddress = _base, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(_bodies[name], await client.GetByteArrayAsync($"/blob/{name}?prefix=0"));
    }

    private string Add(int size)
    {
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        var name = Guid.NewGuid().ToString("N");
        _bodies[name] = bytes;
        return name;
    }

    /// <summary>A socket pair on loopback: the far end writes the body after the prefix (all of it, or up to the cut) and closes.</summary>
    private sealed class Origin(Socket socket, byte[] buffered, long length) : Stream, ISocketBody
    {
        private bool _touched;
        private int _at;
        private long _left = length;

        public static async Task<Origin> OpenAsync(byte[] body, int prefix, int? cut)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var near = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await near.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            var far = await listener.AcceptSocketAsync();
            _ = Task.Run(async () =>
            {
                using (far)
                {
                    try
                    {
                        var end = cut ?? body.Length;
                        for (var at = prefix; at < end; at += 40_000)
                        {
                            await far.SendAsync(body.AsMemory(at, Math.Min(40_000, end - at)), SocketFlags.None);
                        }

                        far.Shutdown(SocketShutdown.Send);
                    }
                    catch (SocketException)
                    {
                        // the server went away first
                    }
                }
            });
            return new Origin(near, body[..prefix], body.Length);
        }

        public bool TryTakeSocket(out Socket taken, out ReadOnlyMemory<byte> prefix)
        {
            taken = socket;
            prefix = buffered;
            if (_touched)
            {
                return false;
            }

            _touched = true;
            return true;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _touched = true;
            if (_left == 0)
            {
                return 0;
            }

            int n;
            if (_at < buffered.Length)
            {
                n = Math.Min(buffer.Length, buffered.Length - _at);
                buffered.AsMemory(_at, n).CopyTo(buffer);
                _at += n;
            }
            else
            {
                n = await socket.ReceiveAsync(buffer[..(int)Math.Min(buffer.Length, _left)], SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    throw new IOException("origin ended early");
                }
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

    private sealed class SplicedBytes : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _bytes;

        public SplicedBytes()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == FileSendConnections.MeterName && instrument.Name == "berth.file_send.spliced_bytes")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _bytes, value));
            _listener.Start();
        }

        /// <summary>The count once it reaches <paramref name="expected"/> (or after 10 s): counted when the kernel has the last byte.</summary>
        public async Task<long> ReachesAsync(long expected)
        {
            for (var i = 0; i < 200 && Interlocked.Read(ref _bytes) < expected; i++)
            {
                await Task.Delay(50);
            }

            return Interlocked.Read(ref _bytes);
        }

        public void Dispose() => _listener.Dispose();
    }
}
