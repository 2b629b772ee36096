using System.Net;
using System.Net.Sockets;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A TCP relay in the test process: listens on <c>127.0.0.1:RANDOM</c> (<see cref="Host"/>) and forwards each
/// connection to the server from another loopback address, so the server sees a client at that address (for IP
/// allow lists). A client cannot simply be pointed at <c>127.0.0.2:PORT</c>: on Linux a connection to any 127.x
/// address leaves from 127.0.0.1 (the preferred source of the loopback route), and skopeo and podman cannot choose
/// their source address. The relay binds its outgoing socket to the address instead. Requests keep their
/// <c>Host</c> header, so the token realm the server advertises points back through the relay.
/// </summary>
public sealed class SourceAddressRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly IPAddress _source;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _disposed;

    /// <param name="listenPort">The port to listen on (0: any free one); a relay stopped and started again on the same port looks to its clients like a server that went away and came back.</param>
    public SourceAddressRelay(int targetPort, IPAddress source, int listenPort = 0)
    {
        _listener = new TcpListener(IPAddress.Loopback, listenPort);
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _source = source;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary><c>127.0.0.1:RELAYPORT</c>, as skopeo and podman want it (auth file entries are per host and port).</summary>
    public string Host => $"127.0.0.1:{Port}";

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using (client)
        {
            try
            {
                upstream.Bind(new IPEndPoint(_source, 0));
                await upstream.ConnectAsync(_target, _stop.Token);
                using var both = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                await Task.WhenAll(PumpAsync(client, upstream, both), PumpAsync(upstream, client, both));
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
            {
            }
        }
    }

    /// <summary>Copies one direction until its end; then half-closes the other side. A failure ends both directions.</summary>
    private static async Task PumpAsync(Socket from, Socket to, CancellationTokenSource both)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, both.Token);
                if (read == 0)
                {
                    break;
                }

                var sent = 0;
                while (sent < read)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, both.Token);
                }
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            await both.CancelAsync();
        }
    }
}
