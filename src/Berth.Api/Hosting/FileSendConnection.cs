using System.Buffers;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Api.Hosting;

/// <summary>
/// Zero-copy file sends on plain-HTTP connections. Kestrel has no <c>sendfile(2)</c>: every byte of a file it sends is read
/// into user space and written to the socket again. This connection middleware puts a pipe of its own between Kestrel's
/// HTTP/1.1 writer and the socket and sends that pipe's bytes itself, in order. A response may then ask
/// (<see cref="IFileSendFeature"/>) that the next N bytes of its body come from a file: it writes N placeholder bytes
/// through Kestrel as usual, so Kestrel's Content-Length accounting holds, but the connection's writer keeps them out of
/// the pipe (they are never even written to memory), and the sender hands the file to the kernel at that point of the
/// stream. The response's last flush returns when the kernel has the file, so Kestrel times the send like any other
/// write. Only for connections Kestrel serves from a socket without TLS.
/// </summary>
public static partial class FileSendConnections
{
    /// <summary>Meter of the zero-copy sender, for dotnet-counters and tests.</summary>
    public const string MeterName = "Berth.FileSend";

    internal static readonly Meter Meter = new(MeterName);
    internal static readonly Counter<long> FilesSent = Meter.CreateCounter<long>("berth.file_send.files", description: "File ranges sent with sendfile");
    internal static readonly Counter<long> BytesSent = Meter.CreateCounter<long>("berth.file_send.bytes", "By", "Bytes sent with sendfile");
    internal static readonly Counter<long> BytesSpliced = Meter.CreateCounter<long>("berth.file_send.spliced_bytes", "By", "Bytes passed from an object store's connection to the client's");

    /// <summary>Adds the zero-copy sender to a plain-HTTP endpoint, before any other connection middleware; never on a TLS endpoint.</summary>
    public static ListenOptions UseFileSend(this ListenOptions listen)
    {
        var logger = listen.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(FileSendConnections)) ?? NullLogger.Instance;
        listen.Use(next => async connection =>
        {
            var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
            if (socket is null || socket.SocketType != SocketType.Stream)
            {
                await next(connection);
                return;
            }

            var transport = connection.Transport;
            var sender = new FileSendConnection(socket, transport.Output, connection, logger);
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

    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: the client went away while being sent to")]
    internal static partial void LogClientGone(ILogger logger, string connectionId, Exception error);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Connection {ConnectionId}: sending failed; the connection was aborted")]
    internal static partial void LogSendFailed(ILogger logger, string connectionId, Exception error);
}

/// <summary>A connection's offer to send file ranges with <c>sendfile(2)</c> (see <see cref="FileSendConnections"/>).</summary>
internal interface IFileSendFeature
{
    /// <summary>
    /// Arranges that the next <paramref name="length"/> bytes written to the connection (after everything written so far)
    /// are the file's bytes from <paramref name="offset"/>. The caller then writes exactly that many placeholder bytes
    /// (their content is ignored; the memory handed out for them is shared scratch) and flushes; that flush completes when
    /// the kernel has the file. The file must stay open until then, or until <see cref="FileSend.TryAbandon"/> succeeds.
    /// Null when the connection is closing.
    /// </summary>
    FileSend? Begin(FileStream file, long offset, long length);

    /// <summary>
    /// As <see cref="Begin"/>, but the next <paramref name="length"/> bytes are the next bytes read from
    /// <paramref name="source"/>, a connected socket (an object store's response body), passed from socket to socket
    /// inside the kernel where it can. The socket must stay open until the flush after the placeholders returns, or until
    /// <see cref="FileSend.TryAbandon"/> succeeds.
    /// </summary>
    FileSend? BeginSplice(Socket source, long length);
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

    internal FileSend(Socket source, long length, long position)
    {
        Source = source;
        Length = length;
        Position = position;
    }

    /// <summary>The file to send from (at <see cref="Offset"/>), or null when the bytes come from <see cref="Source"/>.</summary>
    internal FileStream? File { get; }

    /// <summary>A connected socket whose next <see cref="Length"/> bytes are to be passed on (<c>splice(2)</c>), or null for a file.</summary>
    internal Socket? Source { get; }

    internal long Offset { get; }

    internal long Length { get; }

    /// <summary>Where in the bytes of the connection's pipe the file goes.</summary>
    internal long Position { get; }

    /// <summary>
    /// For a response that could not write all its placeholders: true when the sender had not started on the file and now
    /// never will; false when it has (wait with <see cref="WhenSentAsync"/> before closing the file).
    /// </summary>
    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Waiting;

    /// <summary>True once the kernel has the whole range; false when the connection failed first.</summary>
    public async Task<bool> WhenSentAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _done.Task.WaitAsync(cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            // The connection broke; Kestrel notices and ends the request on its own.
            return false;
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

    private const int IpProtocolTcp = 6, TcpCork = 3; // <netinet/tcp.h>

    /// <summary>sendfile sends at most about 2 GiB per call.</summary>
    private const int MaxFileChunk = 1 << 30;

    private readonly Socket _socket;
    private readonly PipeWriter _transportOutput;
    private readonly ConnectionContext _connection;
    private readonly ILogger _logger;
    private readonly Pipe _pipe;
    private readonly OutputWriter _writer;
    private readonly List<ArraySegment<byte>> _segments = new(16);
    private readonly Task _pump;

    /// <summary>File sends in output order; a response may place its file before the sender is done with the last one.</summary>
    private readonly Queue<FileSend> _pending = new();
    private bool _closed;
    private bool _corked;

    public FileSendConnection(Socket socket, PipeWriter transportOutput, ConnectionContext connection, ILogger logger)
    {
        _logger = logger;
        _socket = socket;
        _transportOutput = transportOutput;
        _connection = connection;
        var pool = connection.Features.Get<IMemoryPoolFeature>()?.MemoryPool;
        _pipe = new Pipe(new PipeOptions(pool, PipeScheduler.ThreadPool, PipeScheduler.ThreadPool, PauseAt, PauseAt / 2, useSynchronizationContext: false));
        _writer = new OutputWriter(_pipe.Writer);
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>What Kestrel writes the connection's output to.</summary>
    public PipeWriter Output => _writer;

    public FileSend? Begin(FileStream file, long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return Place(position => new FileSend(file, offset, length, position));
    }

    public FileSend? BeginSplice(Socket source, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return Place(position => new FileSend(source, length, position));
    }

    private FileSend? Place(Func<long, FileSend> create)
    {
        FileSend send;
        lock (_pending)
        {
            if (_closed || _writer.IsPlacing)
            {
                return null;
            }

            // The file goes where the pipe's bytes written so far end; its placeholders never enter the pipe.
            send = create(_writer.Written);
            _writer.Place(send);
            _pending.Enqueue(send);
        }

        // Usually the response head is still unflushed (Kestrel writes it when the response starts and flushes it with the
        // body), and the flush of the last placeholder wakes the sender with it. When everything before the file has been
        // flushed, the sender may be waiting for bytes that will not come (the placeholders): wake it to look at its queue.
        if (!_writer.HasUnflushedBytes)
        {
            _pipe.Reader.CancelPendingRead();
        }

        return send;
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
        long sent = 0; // bytes of the pipe sent so far
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
                    if (file is not null && sent == file.Position)
                    {
                        if (!await SendFileAsync(file))
                        {
                            throw new IOException("a response ended before its file was sent");
                        }

                        lock (_pending)
                        {
                            _pending.Dequeue();
                        }

                        continue;
                    }

                    if (buffer.IsEmpty)
                    {
                        break;
                    }

                    var take = file is null ? buffer.Length : Math.Min(buffer.Length, file.Position - sent);
                    if (file is not null && take == file.Position - sent)
                    {
                        // The response head goes out in the same segment as the file's first bytes.
                        Cork(true);
                    }

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
            if (error is SocketException or ObjectDisposedException)
            {
                FileSendConnections.LogClientGone(_logger, _connection.ConnectionId, error);
            }
            else
            {
                FileSendConnections.LogSendFailed(_logger, _connection.ConnectionId, error);
            }

            _connection.Abort(new ConnectionAbortedException("the connection's output failed", error));
        }

        await _transportOutput.CompleteAsync();
    }

    /// <summary>
    /// TCP_CORK around a file send: the kernel sends only full segments until uncorked. Without it, with Kestrel's
    /// TCP_NODELAY, every 64 KiB that sendfile splices ends in a short segment of its own (loopback's MSS is 65,483), and
    /// large pulls ran about 12% slower (pull-64m@2: 1,843–2,063 against 2,053–2,270 MB/s, alternating runs).
    /// </summary>
    private void Cork(bool on)
    {
        if (_corked == on || !OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            Span<byte> value = stackalloc byte[sizeof(int)];
            BitConverter.TryWriteBytes(value, on ? 1 : 0);
            _socket.SetRawSocketOption(IpProtocolTcp, TcpCork, value);
            _corked = on;
        }
        catch (SocketException)
        {
            // The connection is going; the send that follows reports it.
        }
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
            if (file.Source is { } source)
            {
                Cork(true);
                await SpliceAsync(source, file.Length);
                Cork(false); // sends the tail now: left corked, the last partial segment waited 200 ms for the kernel's timer
                FileSendConnections.BytesSpliced.Add(file.Length);
                file.Complete(null);
                return true;
            }

            var offset = file.Offset;
            var left = file.Length;
            Cork(true);
            if (OperatingSystem.IsLinux())
            {
                if (!Thread.CurrentThread.IsThreadPoolThread)
                {
                    // A socket thread (inline completions) continued the sender: sendfile may read the disk, and no
                    // socket thread may wait for a disk.
                    await Task.Yield();
                }

                var sending = FileSendThreads.TrySend(_socket, file.File!, offset, left, _connection.ConnectionClosed, out var sent);
                if (sending is not null)
                {
                    await sending;
                    left = 0;
                }
                else
                {
                    // Every sender thread is busy: the rest goes the runtime's way.
                    offset += sent;
                    left -= sent;
                }
            }

            while (left > 0)
            {
                var count = (int)Math.Min(left, MaxFileChunk);
                await SendPacketsAsync(new SendPacketsElement(file.File!, offset, count, endOfPacket: true));
                offset += count;
                left -= count;
            }

            Cork(false); // sends the tail now

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

    /// <summary>
    /// Passes the next <paramref name="length"/> bytes of <paramref name="source"/> to the client: inside the kernel on a
    /// sender thread (<see cref="FileSendThreads.TrySplice"/>), or, when every sender thread is busy or off Linux, through
    /// a buffer.
    /// </summary>
    private async Task SpliceAsync(Socket source, long length)
    {
        if (OperatingSystem.IsLinux() && FileSendThreads.TrySplice(source, _socket, length, _connection.ConnectionClosed) is { } splicing)
        {
            await splicing;
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var left = length;
            while (left > 0)
            {
                var n = await source.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), SocketFlags.None, _connection.ConnectionClosed);
                if (n == 0)
                {
                    throw new IOException($"the store's response ended {left} bytes early");
                }

                await SendAllAsync(buffer.AsMemory(0, n));
                left -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
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

    /// <summary>
    /// The pipe's writer as Kestrel sees it: counts the bytes that enter the pipe (a file's place in the stream), and while
    /// a file is placed takes the response's placeholder bytes without writing them anywhere.
    /// </summary>
    private sealed class OutputWriter(PipeWriter inner) : PipeWriter
    {
        /// <summary>Where placeholders are "written": never read, shared by every connection.</summary>
        private static readonly byte[] Scratch = GC.AllocateUninitializedArray<byte>(1024 * 1024);

        private long _placeholdersLeft;

        /// <summary>Bytes that entered the pipe.</summary>
        public long Written { get; private set; }

        /// <summary>The file whose placeholders are being taken, until the flush after the last one.</summary>
        public FileSend? Placing { get; private set; }

        public bool IsPlacing => Placing is not null;

        /// <summary>Whether bytes have entered the pipe that its reader cannot see yet (a flush will show them).</summary>
        public bool HasUnflushedBytes => inner.CanGetUnflushedBytes && inner.UnflushedBytes > 0;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public void Place(FileSend file)
        {
            Placing = file;
            _placeholdersLeft = file.Length;
        }

        public override void Advance(int bytes)
        {
            if (_placeholdersLeft > 0)
            {
                if (bytes > _placeholdersLeft)
                {
                    throw new InvalidOperationException($"a response wrote {bytes - _placeholdersLeft} bytes past the file it placed");
                }

                _placeholdersLeft -= bytes;
                return;
            }

            inner.Advance(bytes);
            Written += bytes;
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) =>
            _placeholdersLeft > 0 ? PlaceholderMemory(sizeHint) : inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) =>
            _placeholdersLeft > 0 ? PlaceholderMemory(sizeHint).Span : inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            if (Placing is { } file && _placeholdersLeft == 0)
            {
                Placing = null;
                return FlushThenWaitAsync(file, cancellationToken);
            }

            return inner.FlushAsync(cancellationToken);
        }

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            if (_placeholdersLeft > 0)
            {
                Advance(source.Length);
                return FlushAsync(cancellationToken);
            }

            Written += source.Length;
            return inner.WriteAsync(source, cancellationToken);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        private static Memory<byte> PlaceholderMemory(int sizeHint) =>
            sizeHint <= Scratch.Length ? Scratch : new byte[sizeHint];

        /// <summary>The response's last flush: it completes when the kernel has the file, so Kestrel times the send.</summary>
        private async ValueTask<FlushResult> FlushThenWaitAsync(FileSend file, CancellationToken cancellationToken)
        {
            var result = await inner.FlushAsync(cancellationToken);
            return await file.WhenSentAsync(cancellationToken) ? result : new FlushResult(isCanceled: false, isCompleted: true);
        }
    }
}
