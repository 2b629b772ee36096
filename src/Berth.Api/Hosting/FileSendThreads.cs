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
    private const short PollOut = 0x004;

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
        var job = new Job(socket, file, offset, length, aborted);
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

    private sealed class Job
    {
        private readonly SafeHandle _socket;
        private readonly SafeHandle _file;
        private readonly CancellationToken _aborted;
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly long _start;
        private readonly long _end;
        private bool _socketReferenced;
        private bool _fileReferenced;
        private long _offset;

        public Job(Socket socket, FileStream file, long offset, long length, CancellationToken aborted)
        {
            // Held until the job ends: a connection closed meanwhile cannot give its descriptor number to another socket.
            _socket = socket.SafeHandle;
            _file = file.SafeFileHandle;
            _socket.DangerousAddRef(ref _socketReferenced);
            _file.DangerousAddRef(ref _fileReferenced);
            _offset = offset;
            _end = offset + length;
            _aborted = aborted;
            _start = offset;
        }

        public long Sent => _offset - _start;

        public Task Done => _done.Task;

        /// <summary>Sends until done (false) or, without <paramref name="wait"/>, until the send buffer is full (true).</summary>
        public bool Send(bool wait)
        {
            var socket = (int)_socket.DangerousGetHandle();
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

                WaitWritable(socket);
            }

            return false;
        }

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

        public void Release()
        {
            if (_socketReferenced)
            {
                _socketReferenced = false;
                _socket.DangerousRelease();
            }

            if (_fileReferenced)
            {
                _fileReferenced = false;
                _file.DangerousRelease();
            }
        }

        private void WaitWritable(int socket)
        {
            var poll = new PollFd { Fd = socket, Events = PollOut };
            while (true)
            {
                if (_aborted.IsCancellationRequested)
                {
                    throw new SocketException((int)SocketError.ConnectionAborted);
                }

                var ready = Poll(ref poll, 1, PollMilliseconds);
                if (ready > 0)
                {
                    // Writable, or an error or hang-up (POLLERR, POLLHUP) that the next sendfile reports.
                    return;
                }

                if (ready < 0 && Marshal.GetLastPInvokeError() is var error && error != EIntr)
                {
                    throw Failure(error);
                }
            }
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

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeout);
}
