using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;

namespace Berth.Storage.FileSystem;

/// <summary>
/// The stream an upload's bytes are appended through. Each time the file grows past another
/// <see cref="FlushEvery"/> boundary it asks <see cref="UploadFlusher"/> to make the file durable in the background, so
/// the fsync at commit finds little left to write: most of its cost (on a virtual disk, the host persisting what the
/// guest wrote, ~1.5 ms per MiB on the machines the benchmark runs on) is paid while the rest of the body is still
/// arriving instead of after its last byte. Nothing depends on these early flushes: commit still fsyncs the whole file.
/// </summary>
internal sealed class UploadFileStream : Stream
{
    /// <summary>How much the file grows between two background flushes (8 MiB: small uploads never ask for one).</summary>
    internal const long FlushEvery = 8L << 20;

    private readonly FileStream _file;
    private long _nextFlushAt;
    private int _flushPending;
    private int _flushesCompleted;
    private long _truncateTo;

    /// <param name="offset">Where appending starts; bytes stored after it are cut off at the first write (they were never acknowledged).</param>
    public UploadFileStream(FileStream file, long offset)
    {
        _file = file;
        _truncateTo = file.Length > offset ? offset : -1;
        _nextFlushAt = NextBoundary(file.Position);
    }

    /// <summary>How many background flushes this stream asked for (tests).</summary>
    internal int FlushesRequested { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => _file.CanSeek;

    public override bool CanWrite => true;

    public override long Length => _file.Length;

    public override long Position
    {
        get => _file.Position;
        set => throw new NotSupportedException("an upload is only appended to");
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        TruncateOnce();
        _file.Write(buffer);
        Wrote();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        TruncateOnce();
        await _file.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        Wrote();
    }

    public override void Flush() => _file.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _file.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("an upload is only appended to");

    public override void SetLength(long value) => throw new NotSupportedException("an upload is only appended to");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>How many of those flushes reached the disk (tests).</summary>
    internal int FlushesCompleted => Volatile.Read(ref _flushesCompleted);

    /// <summary>Whether a flush asked for has not run yet (tests).</summary>
    internal bool FlushPending => Volatile.Read(ref _flushPending) != 0;

    /// <summary>Called by <see cref="UploadFlusher"/> when this stream's flush has run, or could not.</summary>
    internal void FlushDone(bool flushed)
    {
        if (flushed)
        {
            Interlocked.Increment(ref _flushesCompleted);
        }

        Volatile.Write(ref _flushPending, 0);
    }

    internal SafeFileHandle Handle => _file.SafeFileHandle;

    /// <summary>
    /// Drops bytes after the append offset before the first write (an empty one too): a chunk that never advanced the
    /// session's offset (its request died, or it lost the race to another node) must not stay between acknowledged bytes.
    /// Lazily, so the caller can still check, with this stream's lock held, that the offset it opened at is current.
    /// </summary>
    private void TruncateOnce()
    {
        if (_truncateTo >= 0)
        {
            _file.SetLength(_truncateTo);
            _file.Seek(_truncateTo, SeekOrigin.Begin);
            _truncateTo = -1;
        }
    }

    private static long NextBoundary(long position) => position - (position % FlushEvery) + FlushEvery;

    private void Wrote()
    {
        var position = _file.Position;
        if (position < _nextFlushAt)
        {
            return;
        }

        _nextFlushAt = NextBoundary(position);

        // At most one flush per stream waits or runs at a time; a boundary crossed meanwhile is covered by the next one
        // (or by commit's own fsync).
        if (Interlocked.Exchange(ref _flushPending, 1) == 0)
        {
            FlushesRequested++;
            UploadFlusher.Shared.Enqueue(this);
        }
    }
}

/// <summary>
/// One long-lived background thread that fsyncs upload files on request (<see cref="UploadFileStream"/>). A dedicated
/// thread rather than the thread pool: an fsync blocks for tens of milliseconds, and a disk flushes one file at a time
/// anyway. A file closed before its turn is skipped; errors are left to the fsync at commit, which reports them.
/// </summary>
internal sealed class UploadFlusher
{
    public static readonly UploadFlusher Shared = new();

    private readonly BlockingCollection<UploadFileStream> _queue = new(new ConcurrentQueue<UploadFileStream>());
    private readonly Lock _startLock = new();
    private Thread? _thread;

    public void Enqueue(UploadFileStream stream)
    {
        EnsureStarted();
        _queue.Add(stream);
    }

    private void EnsureStarted()
    {
        if (Volatile.Read(ref _thread) is not null)
        {
            return;
        }

        lock (_startLock)
        {
            if (_thread is null)
            {
                var thread = new Thread(Run) { IsBackground = true, Name = "berth-upload-fsync" };
                thread.Start();
                Volatile.Write(ref _thread, thread);
            }
        }
    }

    private void Run()
    {
        foreach (var stream in _queue.GetConsumingEnumerable())
        {
            var flushed = false;
            try
            {
                RandomAccess.FlushToDisk(stream.Handle);
                flushed = true;
            }
            catch (Exception ex) when (ex is ObjectDisposedException or IOException or UnauthorizedAccessException)
            {
                // Closed already, or the disk refused: commit's fsync runs regardless and reports what is wrong.
            }
            finally
            {
                stream.FlushDone(flushed);
            }
        }
    }
}
