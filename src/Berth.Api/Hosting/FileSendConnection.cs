using System.Buffers;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Berth.Api.Hosting;

/// <summary>
/// Zero-copy file sends on plain-HTTP connections. Kestrel has no <c>sendfile(2)</c>: every byte of a file it sends is read
/// into user space and written to the socket again. This connection middleware puts a pipe of its own between Kestrel's
/// HTTP/1.1 writer and the socket and sends that pipe's bytes itself, in order; a response may then ask
/// (<see cref="IFileSendFeature"/>) that the next N bytes of its body be taken from a file by the kernel, and writes N
/// placeholder bytes through Kestrel as usual (untouched memory, so Kestrel's Content-Length accounting and flow control
/// hold) which the sender drops instead of sending. Only for connections Kestrel serves from a socket without TLS.
/// </summary>
public static class FileSendConnections
{
    /// <summary>Meter of the zero-copy sender, for dotnet-counters and tests.</summary>
    public const string MeterName = "Berth.FileSend";

    internal static readonly Meter Meter = new(MeterName);
    internal static readonly Counter<long> FilesSent = Meter.CreateCounter<long>("berth.file_send.files", description: "File ranges sent with sendfile");
    internal static readonly Counter<long> BytesSent = Meter.CreateCounter<long>("berth.file_send.bytes", "By", "Bytes sent with sendfile");

    /// <summary>Adds the zero-copy sender to a plain-HTTP endpoint (call before nothing else wraps the transport; never on TLS).</summary>
    public static ListenOptions UseFileSend(this ListenOptions listen)
    {
        listen.Use(next => async connection =>
        {
            var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
            if (socket is null || socket.SocketType != SocketType.Stream)
            {
                await next(connection);
                return;
            }

            var transport = connection.Transport;
            var sender = new FileSendConnection(socket, transport.Output, connection);
            connection.Transport = new Duplex(transport.Input, sender.Output);
            connection.Features.Set<IFileSendFeature>(sender);
            try
            {
                await next(connection);
            }
            finally
            {
                await sender.DisposeAsync();
                connection.Transport = transport;
            }
        });
        return listen;
    }

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}

/// <summary>A connection's offer to send file ranges with <c>sendfile(2)</c> (see <see cref="FileSendConnections"/>).</summary>
internal interface IFileSendFeature
{
    /// <summary>
    /// Arranges that the next <paramref name="length"/> bytes written to the connection (after everything written so far)
    /// are replaced on the wire by the file's bytes from <paramref name="offset"/>. The caller then writes exactly that many
    /// placeholder bytes, and must not release the file before <see cref="FileSend.WhenSentAsync"/> completes (or
    /// <see cref="FileSend.TryAbandon"/> succeeds). Null when the connection is closing.
    /// </summary>
    FileSend? Begin(FileStream file, long offset, long length);
}

/// <summary>One file range waiting for its place in a connection's output.</summary>
internal sealed class FileSend
{
    private const int Waiting = 0, Started = 1, Abandoned = 2;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _state;

    internal FileSend(FileStream file, long offset, long length, long position)
    {
        File = file;
        Offset = offset;
        Length = length;
        Position = position;
    }

    internal FileStream File { get; }

    internal long Offset { get; }

    internal long Length { get; }

    /// <summary>Where in the connection's output stream the file's bytes go.</summary>
    internal long Position { get; }

    internal long End => Position + Length;

    /// <summary>Set by the sender once the kernel has the file's bytes.</summary>
    internal bool IsSent { get; set; }

    /// <summary>
    /// For a response that could not write all its placeholders: true when the sender had not started on the file and now
    /// never will (the connection must then be aborted); false when it already has (wait with <see cref="WhenSentAsync"/>).
    /// </summary>
    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Waiting;

    /// <summary>Completes when the kernel has been handed the whole range, or the connection failed.</summary>
    public async Task WhenSentAsync()
    {
        try
        {
            await _done.Task;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            // The connection broke; Kestrel notices and ends the request on its own.
        }
    }

    internal bool TryStart() => Interlocked.CompareExchange(ref _state, Started, Waiting) == Waiting;

    internal void Complete(Exception? error)
    {
        if (error is null)
        {
            _done.TrySetResult();
        }
        else
        {
            _done.TrySetException(error);
        }
    }
}

/// <summary>The per-connection sender behind <see cref="FileSendConnections"/>.</summary>
internal sealed class FileSendConnection : IFileSendFeature, IAsyncDisposable
{
    /// <summary>Bytes a response may have waiting for the socket before its writes wait (Kestrel's MaxResponseBufferSize is the same).</summary>
    private const long PauseAt = 1024 * 1024;

    /// <summary>sendfile sends at most about 2 GiB per call.</summary>
    private const int MaxFileChunk = 1 << 30;

    private readonly Socket _socket;
    private readonly PipeWriter _transportOutput;
    private readonly ConnectionContext _connection;
    private readonly Pipe _pipe;
    private readonly CountingWriter _writer;
    private readonly List<ArraySegment<byte>> _segments = new(16);
    private readonly Task _pump;
    /// <summary>File sends in output order; a response may begin its own before the sender is done with the last one.</summary>
    private readonly Queue<FileSend> _pending = new();
    private bool _closed;

    public FileSendConnection(Socket socket, PipeWriter transportOutput, ConnectionContext connection)
    {
        _socket = socket;
        _transportOutput = transportOutput;
        _connection = connection;
        var pool = connection.Features.Get<IMemoryPoolFeature>()?.MemoryPool;
        _pipe = new Pipe(new PipeOptions(pool, PipeScheduler.ThreadPool, PipeScheduler.ThreadPool, PauseAt, PauseAt / 2, useSynchronizationContext: false));
        _writer = new CountingWriter(_pipe.Writer);
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>What Kestrel writes the connection's output to.</summary>
    public PipeWriter Output => _writer;

    public FileSend? Begin(FileStream file, long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        lock (_pending)
        {
            if (_closed)
            {
                return null;
            }

            var send = new FileSend(file, offset, length, _writer.Written);
            _pending.Enqueue(send);
            return send;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Kestrel completes the output when the connection ends; make sure of it, then let the sender finish its sends.
        await _writer.CompleteAsync();
        await _pump;
    }

    private async Task PumpAsync()
    {
        var reader = _pipe.Reader;
        long sent = 0; // bytes of the pipe sent or replaced so far
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                while (true)
                {
                    var file = NextPending();
                    if (file is not null && sent >= file.Position)
                    {
                        if (!file.IsSent && !await SendFileAsync(file))
                        {
                            throw new IOException("a response ended before its file was sent");
                        }

                        // Drop the placeholders that stand for the file's bytes.
                        var skip = Math.Min(buffer.Length, file.End - sent);
                        buffer = buffer.Slice(skip);
                        sent += skip;
                        if (sent == file.End)
                        {
                            lock (_pending)
                            {
                                _pending.Dequeue();
                            }

                            continue;
                        }

                        break;
                    }

                    if (buffer.IsEmpty)
                    {
                        break;
                    }

                    var take = file is null ? buffer.Length : Math.Min(buffer.Length, file.Position - sent);
                    await SendAsync(buffer.Slice(0, take));
                    buffer = buffer.Slice(take);
                    sent += take;
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            error = ex;
        }
        finally
        {
            lock (_pending)
            {
                _closed = true;
                foreach (var file in _pending)
                {
                    file.Complete(error ?? new IOException("connection closed"));
                }

                _pending.Clear();
            }
        }

        await reader.CompleteAsync(error);
        if (error is not null)
        {
            // A broken connection: tear it down rather than let Kestrel write into the void.
            _connection.Abort(new ConnectionAbortedException("the connection's output failed", error));
        }

        await _transportOutput.CompleteAsync();
    }

    private FileSend? NextPending()
    {
        lock (_pending)
        {
            return _pending.TryPeek(out var next) ? next : null;
        }
    }

    /// <summary>Hands the file range to the kernel; false when the response abandoned it first.</summary>
    private async Task<bool> SendFileAsync(FileSend file)
    {
        if (!file.TryStart())
        {
            return false;
        }

        try
        {
            var offset = file.Offset;
            var left = file.Length;
            while (left > 0)
            {
                var count = (int)Math.Min(left, MaxFileChunk);
                await SendPacketsAsync(new SendPacketsElement(file.File, offset, count, endOfPacket: true));
                offset += count;
                left -= count;
            }

            file.IsSent = true;
            FileSendConnections.BytesSent.Add(file.Length);
            FileSendConnections.FilesSent.Add(1);
            file.Complete(null);
            return true;
        }
        catch (Exception ex)
        {
            file.Complete(ex);
            throw;
        }
    }

    private Task SendPacketsAsync(SendPacketsElement element)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var args = new SocketAsyncEventArgs { SendPacketsElements = [element], UserToken = done };
        args.Completed += static (_, e) => Finish(e);
        if (!_socket.SendPacketsAsync(args))
        {
            Finish(args);
        }

        return done.Task;

        static void Finish(SocketAsyncEventArgs e)
        {
            var tcs = (TaskCompletionSource)e.UserToken!;
            if (e.SocketError == SocketError.Success)
            {
                tcs.TrySetResult();
            }
            else
            {
                tcs.TrySetException(new SocketException((int)e.SocketError));
            }

            e.Dispose();
        }
    }

    private async ValueTask SendAsync(ReadOnlySequence<byte> data)
    {
        if (data.IsSingleSegment)
        {
            await SendAllAsync(data.First);
            return;
        }

        _segments.Clear();
        foreach (var memory in data)
        {
            if (!MemoryMarshal.TryGetArray(memory, out var segment))
            {
                // Not array-backed (never with Kestrel's pool): send what is gathered, then this piece alone.
                await SendGatheredAsync();
                await SendAllAsync(memory);
                continue;
            }

            _segments.Add(segment);
        }

        await SendGatheredAsync();
    }

    private async ValueTask SendGatheredAsync()
    {
        if (_segments.Count > 0)
        {
            // A stream socket's SendAsync completes once every byte of every segment is sent.
            await _socket.SendAsync(_segments, SocketFlags.None);
            _segments.Clear();
        }
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> memory)
    {
        while (!memory.IsEmpty)
        {
            var n = await _socket.SendAsync(memory, SocketFlags.None);
            memory = memory[n..];
        }
    }

    /// <summary>The pipe's writer, counting what passes so a file send knows its place in the stream.</summary>
    private sealed class CountingWriter(PipeWriter inner) : PipeWriter
    {
        public long Written { get; private set; }

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
            inner.Advance(bytes);
            Written += bytes;
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            Written += source.Length;
            return inner.WriteAsync(source, cancellationToken);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
