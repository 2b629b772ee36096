using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.Api.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Api.Tests;

/// <summary>
/// The zero-copy sender's contract (<see cref="IFileSendFeature"/>) on a bare Kestrel server over real sockets, in the
/// orders of writes the blob endpoint does not make itself: a file placed after everything before it was already
/// flushed and sent (no unflushed byte is left to wake the sender with), and files between ordinary bytes in one
/// response. Each case runs several times on one kept-alive connection, so a file misplaced by a byte shows.
/// </summary>
public sealed class FileSendConnectionTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "berth-filesendconn-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] _first = RandomBytes(300_000);
    private readonly byte[] _second = RandomBytes(70_000);
    private readonly byte[] _big = RandomBytes(6 * 1024 * 1024 + 7);
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        await File.WriteAllBytesAsync(Path.Combine(_folder, "first"), _first);
        await File.WriteAllBytesAsync(Path.Combine(_folder, "second"), _second);
        await File.WriteAllBytesAsync(Path.Combine(_folder, "big"), _big);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseFileSend()));
        _app = builder.Build();

        // The head alone goes out first; then the whole first file.
        _app.MapGet("/head-flushed", async context =>
        {
            using var file = Open("first");
            context.Response.ContentLength = _first.Length;
            await context.Response.StartAsync();
            await context.Response.BodyWriter.FlushAsync();
            await SendAsync(context, file, 0, _first.Length);
        });

        // "<", part of the first file (flushed before it), "|", the second file (placed while "|" is unflushed), ">".
        _app.MapGet("/between", async context =>
        {
            using var first = Open("first");
            using var second = Open("second");
            context.Response.ContentLength = 1 + 100_000 + 1 + _second.Length + 1;
            await context.Response.BodyWriter.WriteAsync("<"u8.ToArray());
            await SendAsync(context, first, 10, 100_000);
            context.Response.BodyWriter.Write("|"u8);
            await SendAsync(context, second, 0, _second.Length);
            await context.Response.BodyWriter.WriteAsync(">"u8.ToArray());
        });

        // A whole file larger than a loopback socket's send buffer starts out.
        _app.MapGet("/big", async context =>
        {
            using var file = Open("big");
            context.Response.ContentLength = _big.Length;
            await context.Response.StartAsync();
            await SendAsync(context, file, 0, _big.Length);
        });

        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        // A hang (a sender nobody wakes) fails the test instead of stalling the run.
        _client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task FilePlacedAfterEverythingBeforeItWasFlushed_IsSent()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(_first, await _client.GetByteArrayAsync("/head-flushed"));
        }
    }

    [Fact]
    public async Task FilesBetweenOrdinaryBytes_KeepTheirPlaces()
    {
        var expected = "<"u8.ToArray().Concat(_first.AsSpan(10, 100_000).ToArray()).Concat("|"u8.ToArray()).Concat(_second)
            .Concat(">"u8.ToArray()).ToArray();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(expected, await _client.GetByteArrayAsync("/between"));
        }
    }

    [Fact]
    public async Task BothKindsInTurn_OnOneConnection()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(_first, await _client.GetByteArrayAsync("/head-flushed"));
            Assert.Equal(1 + 100_000 + 1 + _second.Length + 1, (await _client.GetByteArrayAsync("/between")).Length);
        }
    }

    [Fact]
    public async Task SlowReader_GetsTheWholeFile()
    {
        // The sender fills the socket's buffer, waits until the client makes room, and goes on.
        Assert.Equal(_big, await SlowDownloadAsync("/big"));
    }

    [Fact]
    public async Task AllSenderThreadsBusy_TheRestGoesTheRuntimesWay()
    {
        var max = FileSendThreads.MaxBusy;
        FileSendThreads.MaxBusy = 0;
        try
        {
            // What the first sendfile put into the buffer, then the rest through Socket.SendPacketsAsync.
            Assert.Equal(_big, await SlowDownloadAsync("/big"));
            Assert.Equal(_big, await _client.GetByteArrayAsync("/big"));
        }
        finally
        {
            FileSendThreads.MaxBusy = max;
        }
    }

    /// <summary>One GET on a raw socket with a small receive buffer, pausing after the first 64 KiB: the body.</summary>
    private async Task<byte[]> SlowDownloadAsync(string path)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
        await socket.ConnectAsync(IPAddress.Loopback, _client.BaseAddress!.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        var paused = false;
        int n;
        while ((n = await socket.ReceiveAsync(buffer)) > 0)
        {
            received.Write(buffer, 0, n);
            if (!paused && received.Length >= 64 * 1024)
            {
                paused = true;
                await Task.Delay(1000);
            }
        }

        var all = received.ToArray();
        var end = all.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(all, 0, end), StringComparison.Ordinal);
        return all[end..];
    }

    private FileStream Open(string name) => new(Path.Combine(_folder, name), new FileStreamOptions
    {
        Mode = FileMode.Open,
        Access = FileAccess.Read,
        Options = FileOptions.Asynchronous,
        BufferSize = 0,
    });

    /// <summary>Places a file range and writes its placeholders, as the blob endpoint does.</summary>
    private static async Task SendAsync(HttpContext context, FileStream file, long offset, int length)
    {
        var feature = context.Features.Get<IFileSendFeature>();
        Assert.NotNull(feature);
        var send = feature.Begin(file, offset, length);
        Assert.NotNull(send);
        var writer = context.Response.BodyWriter;
        var written = 0;
        while (written < length)
        {
            var count = Math.Min(writer.GetMemory().Length, length - written);
            writer.Advance(count);
            written += count;
        }

        var flush = await writer.FlushAsync();
        Assert.False(flush.IsCompleted || flush.IsCanceled);
        Assert.True(await send.WhenSentAsync());
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}
