using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Berth.Api.Hosting;

/// <summary>
/// <c>sendfile(2)</c> the way nginx does it: call it until the socket's send buffer is full, wait with <c>poll(2)</c> until
/// there is room again, call it again. Through the runtime's sockets (<see cref="Socket.SendPacketsAsync"/>) each refill
/// of the send buffer takes two wake-ups (the socket engine's thread, then a pool thread that calls sendfile), and on a
/// busy host each can wait for a CPU; here the thread that waits is the one that sends. The first call is made on the
/// caller's thread, so a file that fits into the send buffer never leaves it; the rest goes to a few long-lived sender
/// threads, at most <see cref="MaxBusy"/> busy at once, and when all are busy the caller falls back to the runtime's path.
/// Linux only (its caller checks).
/// </summary>
internal static partial class FileSendThreads
{
    /// <summary>Sender threads busy at once, at most (each waits on one connection at a time); settable for tests.</summary>
    internal static int MaxBusy { get; set; } = Math.Max(4, 4 * Environment.ProcessorCount);

    /// <summary>How long one poll waits before looking again whether the connection is still wanted.</summary>
    private const int PollMilliseconds = 1000;

    /// <summary>sendfile sends at most about 2 GiB per call.</summary>
    private const int MaxChunk = 1 << 30;

    private const int EIntr = 4, EBadF = 9, EAgain = 11, EPipe = 32, EConnReset = 104;
    private const short PollIn = 0x001, PollOut = 0x004;

    private static readonly BlockingCollection<Job> Jobs = [];
    private static int _busy;
    private static int _threads;

    /// <summary>
    /// Sends the file range to the socket: a task that completes when the kernel has the whole range, or fails with the
    /// socket's error. Null when every sender thread is busy and the send buffer filled up first: then
    /// <paramref name="sent"/> bytes of the range are out and the caller sends the rest another way.
    /// </summary>
    public static Task? TrySend(Socket socket, FileStream file, long offset, long length, CancellationToken aborted, out long sent)
    {
        var job = new FileJob(socket, file, offset, length, aborted);
        try
        {
            // As much as the send buffer takes, here and now: a range that fits never leaves this thread.
            var more = job.Send(wait: false);
            sent = job.Sent;
            if (!more)
            {
                job.Release();
                return Task.CompletedTask;
            }
        }
        catch (Exception ex)
        {
            job.Release();
            sent = job.Sent;
            return Task.FromException(ex);
        }

        return Enqueue(job);
    }

    /// <summary>
    /// Passes the next <paramref name="length"/> bytes of the <paramref name="source"/> socket to <paramref name="socket"/>
    /// inside the kernel (<c>splice(2)</c> through a pipe) on a sender thread: a task that completes when the kernel has
    /// them all, or fails (the source ended early or went quiet for <see cref="SourceIdle"/>, the client went away). Null
    /// when every sender thread is busy; nothing has been read then. Nothing is tried on the caller's thread: the source
    /// has rarely arrived yet.
    /// </summary>
    public static Task? TrySplice(Socket source, Socket socket, long length, CancellationToken aborted) =>
        Enqueue(new SpliceJob(source, socket, length, aborted));

    /// <summary>How long a spliced source may send nothing before the send fails.</summary>
    internal static TimeSpan SourceIdle { get; set; } = TimeSpan.FromMinutes(2);

    private static Task? Enqueue(Job job)
    {
        if (Interlocked.Increment(ref _busy) > MaxBusy)
        {
            Interlocked.Decrement(ref _busy);
            job.Release();
            return null;
        }

        EnsureThread();
        Jobs.Add(job);
        return job.Done;
    }

    /// <summary>Starts another sender thread while there are fewer than busy jobs (threads stay, idle ones wait for work).</summary>
    private static void EnsureThread()
    {
        while (true)
        {
            var threads = Volatile.Read(ref _threads);
            if (threads >= Volatile.Read(ref _busy))
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _threads, threads + 1, threads) == threads)
            {
                new Thread(Run) { IsBackground = true, Name = "berth-sendfile" }.Start();
                return;
            }
        }
    }

    private static void Run()
    {
        foreach (var job in Jobs.GetConsumingEnumerable())
        {
            try
            {
                job.Send(wait: true);
                job.Finish(null);
            }
            catch (Exception ex)
            {
                job.Finish(ex);
            }
            finally
            {
                Interlocked.Decrement(ref _busy);
            }
        }
    }

    /// <summary>One transfer to a client's socket, run by a sender thread; holds its descriptors until it ends.</summary>
    private abstract class Job
    {
        private readonly List<SafeHandle> _held = new(2);
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected Job(Socket socket, CancellationToken aborted)
        {
            Socket = Hold(socket.SafeHandle);
            Aborted = aborted;
        }

        public Task Done => _done.Task;

        protected SafeHandle Socket { get; }

        protected CancellationToken Aborted { get; }

        /// <summary>Sends until done (false) or, without <paramref name="wait"/>, until a wait would be needed (true).</summary>
        public abstract bool Send(bool wait);

        public void Finish(Exception? error)
        {
            Release();
            if (error is null)
            {
                _done.TrySetResult();
            }
            else
            {
                _done.TrySetException(error);
            }
        }

        public virtual void Release()
        {
            foreach (var handle in _held)
            {
                handle.DangerousRelease();
            }

            _held.Clear();
        }

        /// <summary>Held until the job ends: a descriptor closed meanwhile cannot give its number to another file.</summary>
        protected SafeHandle Hold(SafeHandle handle)
        {
            var added = false;
            handle.DangerousAddRef(ref added);
            if (added)
            {
                _held.Add(handle);
            }

            return handle;
        }

        /// <summary>Waits until <paramref name="fd"/> is ready for <paramref name="events"/>, an error or a hang-up; false after <paramref name="limit"/>.</summary>
        protected bool WaitFor(int fd, short events, TimeSpan limit)
        {
            var poll = new PollFd { Fd = fd, Events = events };
            var waited = TimeSpan.Zero;
            while (true)
            {
                if (Aborted.IsCancellationRequested)
                {
                    throw new SocketException((int)SocketError.ConnectionAborted);
                }

                if (waited >= limit)
                {
                    return false;
                }

                var ready = Poll(ref poll, 1, PollMilliseconds);
                if (ready > 0)
                {
                    // Ready, or an error or hang-up (POLLERR, POLLHUP) that the next call reports.
                    return true;
                }

                if (ready < 0 && Marshal.GetLastPInvokeError() is var error && error != EIntr)
                {
                    throw Failure(error);
                }

                waited += TimeSpan.FromMilliseconds(PollMilliseconds);
            }
        }
    }

    private sealed class FileJob : Job
    {
        private readonly SafeHandle _file;
        private readonly long _start;
        private readonly long _end;
        private long _offset;

        public FileJob(Socket socket, FileStream file, long offset, long length, CancellationToken aborted)
            : base(socket, aborted)
        {
            _file = Hold(file.SafeFileHandle);
            _offset = offset;
            _end = offset + length;
            _start = offset;
        }

        public long Sent => _offset - _start;

        public override bool Send(bool wait)
        {
            var socket = (int)Socket.DangerousGetHandle();
            var file = (int)_file.DangerousGetHandle();
            while (_offset < _end)
            {
                var sent = SendFile(socket, file, ref _offset, (nint)Math.Min(_end - _offset, MaxChunk));
                if (sent > 0)
                {
                    continue;
                }

                if (sent == 0)
                {
                    throw new IOException($"the file ended {_end - _offset} bytes before the range to send");
                }

                var error = Marshal.GetLastPInvokeError();
                if (error == EIntr)
                {
                    continue;
                }

                if (error != EAgain)
                {
                    throw Failure(error);
                }

                if (!wait)
                {
                    return true;
                }

                WaitFor(socket, PollOut, Timeout.InfiniteTimeSpan);
            }

            return false;
        }
    }

    /// <summary>
    /// Source socket → pipe → client socket with <c>splice(2)</c>: the bytes never enter user space. The pipe is the
    /// job's own (1 MiB where the system allows), both ends non-blocking; the source is made non-blocking too, so each
    /// side's wait is a <c>poll(2)</c> on that side.
    /// </summary>
    private sealed class SpliceJob : Job
    {
        private const uint SpliceMove = 1, SpliceNonBlock = 2;
        private const int OCloexec = 0x80000, ONonBlock = 0x800, FGetFl = 3, FSetFl = 4, FSetPipeSize = 1031;
        private const int PipeSize = 1024 * 1024;

        /// <summary>Bytes the source must have waiting before a wait for it ends (<c>SO_RCVLOWAT</c>).</summary>
        /// <remarks>Without it the sender woke for every 64 KiB segment radosgw sent; 256 KiB saved about a tenth of the server's CPU per MB.</remarks>
        private const int LowWater = 256 * 1024;

        private const int SolSocket = 1, SoRcvLowat = 18;
        private int _lowWater = 1;

        private void SetReceiveLowWater(int fd, int bytes)
        {
            if (bytes != _lowWater)
            {
                _lowWater = bytes;
                _ = SetSockOpt(fd, SolSocket, SoRcvLowat, ref bytes, sizeof(int));
            }
        }

        private readonly SafeHandle _source;
        private readonly int[] _pipe = [-1, -1];
        private long _left;
        private long _inPipe;

        public SpliceJob(Socket source, Socket socket, long length, CancellationToken aborted)
            : base(socket, aborted)
        {
            _source = Hold(source.SafeHandle);
            _left = length;
        }

        public override bool Send(bool wait)
        {
            var socket = (int)Socket.DangerousGetHandle();
            var source = (int)_source.DangerousGetHandle();
            if (_pipe[0] < 0)
            {
                if (Pipe2(_pipe, OCloexec | ONonBlock) != 0)
                {
                    throw new IOException($"pipe2 failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                }

                _ = Fcntl(_pipe[1], FSetPipeSize, PipeSize); // a larger pipe where allowed; 64 KiB otherwise
                var flags = Fcntl(source, FGetFl, 0);
                if (flags < 0 || ((flags & ONonBlock) == 0 && Fcntl(source, FSetFl, flags | ONonBlock) < 0))
                {
                    throw new IOException($"fcntl on the source failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                }
            }

            while (_left > 0 || _inPipe > 0)
            {
                if (_inPipe > 0)
                {
                    // Never SPLICE_F_MORE: like TCP_CORK it holds a partial segment back until more comes, and when the
                    // source then made the sender wait, the client waited for the held tail (up to 200 ms, every stall).
                    var n = Splice(_pipe[0], 0, socket, 0, (nuint)_inPipe, SpliceMove | SpliceNonBlock);
                    if (n > 0)
                    {
                        _inPipe -= n;
                        continue;
                    }

                    var error = Marshal.GetLastPInvokeError();
                    if (n == 0 || (error != EIntr && error != EAgain))
                    {
                        throw n == 0 ? new IOException("splice to the client moved nothing") : Failure(error);
                    }

                    if (error == EAgain)
                    {
                        if (!wait)
                        {
                            return true;
                        }

                        WaitFor(socket, PollOut, Timeout.InfiniteTimeSpan);
                    }

                    continue;
                }

                var read = Splice(source, 0, _pipe[1], 0, (nuint)Math.Min(_left, PipeSize), SpliceMove | SpliceNonBlock);
                if (read > 0)
                {
                    _inPipe += read;
                    _left -= read;
                    continue;
                }

                if (read == 0)
                {
                    throw new IOException($"the store's response ended {_left} bytes early");
                }

                var readError = Marshal.GetLastPInvokeError();
                if (readError == EIntr)
                {
                    continue;
                }

                if (readError != EAgain)
                {
                    throw new IOException($"reading the store's response failed: {Marshal.GetPInvokeErrorMessage(readError)} (errno {readError})");
                }

                if (!wait)
                {
                    return true;
                }

                // Wake for a good piece rather than for every segment that arrives: at most what is left, which the
                // source's end (its server closes the connection after the body) reports anyway.
                SetReceiveLowWater(source, (int)Math.Min(_left, LowWater));
                if (!WaitFor(source, PollIn, SourceIdle))
                {
                    throw new IOException($"the store sent nothing for {SourceIdle.TotalSeconds:F0} s with {_left} bytes to go");
                }
            }

            return false;
        }

        public override void Release()
        {
            foreach (ref var fd in _pipe.AsSpan())
            {
                if (fd >= 0)
                {
                    _ = Close(fd);
                    fd = -1;
                }
            }

            base.Release();
        }
    }

    /// <summary>A connection the client ended is a <see cref="SocketException"/>, as the runtime reports it; anything else an I/O error.</summary>
    private static Exception Failure(int errno) => errno switch
    {
        EPipe or EConnReset => new SocketException((int)SocketError.ConnectionReset),
        EBadF => new ObjectDisposedException(nameof(Socket)),
        _ => new IOException($"sendfile failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})"),
    };

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    private static partial nint SendFile(int outFd, int inFd, ref long offset, nint count);

    [LibraryImport("libc", EntryPoint = "splice", SetLastError = true)]
    private static partial nint Splice(int fdIn, nint offIn, int fdOut, nint offOut, nuint length, uint flags);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, ref int value, uint length);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static partial int Pipe2([Out] int[] fds, int flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeout);
}
