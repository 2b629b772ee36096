using System.Globalization;
using System.Collections.Concurrent;
using Berth.Core.Storage;
using Microsoft.Win32.SafeHandles;

namespace Berth.Storage.FileSystem;

/// <summary>
/// The file store's <see cref="IUploadWriter"/>: appends to <c>uploads/&lt;id&gt;</c> through an unbuffered handle held
/// with an exclusive lock, so every write goes straight to the OS (a killed process loses nothing it wrote) and a second
/// writer is refused. The store keeps no state (commit returns null): the file is the upload. Cancel (or dispose without
/// commit) truncates the file back to the offset the writer opened at, once it has written; before its first write
/// nothing was changed.
/// <para>
/// Each time the file grows past another <see cref="FlushEvery"/> boundary it asks <see cref="UploadFlusher"/> to make
/// the file durable in the background, so the fsync at commit finds little left to write: most of its cost (on a
/// virtual disk, the host persisting what the guest wrote, ~1.5 ms per MiB on the machines the benchmark runs on) is
/// paid while the rest of the body is still arriving instead of after its last byte. Nothing depends on these early
/// flushes: the blob commit still fsyncs the whole file.
/// </para>
/// </summary>
internal sealed class UploadFileWriter : IUploadWriter
{
    /// <summary>How much the file grows between two background flushes (8 MiB: small uploads never ask for one).</summary>
    internal const long FlushEvery = 8L << 20;

    private readonly FileStream _file;
    private readonly long _offset;
    private readonly FileSystemSpace? _space;

    // Held by the flusher thread while it fsyncs this writer's file, and by dispose while it closes it: a flush in
    // progress holds a reference on the handle, so without this the descriptor (and with it the writer's flock) would
    // outlive dispose by an fsync, and the next chunk's writer or the blob commit would find the upload still locked.
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private bool _closed;
    private long _nextFlushAt;
    private int _flushPending;
    private int _flushesCompleted;
    private long _truncateTo;
    private bool _touched;
    private bool _done;
    private bool _disposed;

    /// <param name="offset">Where appending starts; bytes stored after it are cut off at the first write (they were never acknowledged).</param>
    /// <param name="space">Counts each write against the free space; a write that would reach into the reserve throws <see cref="StorageFullException"/>.</param>
    public UploadFileWriter(FileStream file, long offset, FileSystemSpace? space = null)
    {
        _file = file;
        _offset = offset;
        _space = space;
        _truncateTo = file.Length > offset ? offset : -1;
        file.Seek(offset, SeekOrigin.Begin);
        _nextFlushAt = NextBoundary(offset);
    }

    /// <summary>How many background flushes this writer asked for (tests).</summary>
    internal int FlushesRequested { get; private set; }

    public long Size => _touched ? _file.Position : _offset;

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_done)
        {
            throw new InvalidOperationException("the writer was committed or cancelled");
        }

        _space?.Claim(data.Length);
        TruncateOnce();
        await _file.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        Wrote();
    }

    public Task<string?> CommitAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_done)
        {
            // Writes are unbuffered: the OS has every byte, which survives a crash of this process. An fsync per chunk
            // would cost every PATCH a disk flush; the blob commit fsyncs the file before it is renamed into place.
            TruncateOnce();
            _done = true;
        }

        // The store state is the length the upload has with this chunk: the blob commit refuses data of another length
        // (a chunk appended after the caller read the session), so it never names other bytes by the verified digest.
        return Task.FromResult<string?>(Size.ToString(CultureInfo.InvariantCulture));
    }

    public Task CancelAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_done)
        {
            _done = true;
            if (_touched)
            {
                _file.SetLength(_offset);
            }
        }

        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            await CancelAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _disposed = true;
            await _flushGate.WaitAsync().ConfigureAwait(false);
            try
            {
                _closed = true;
                await _file.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                _flushGate.Release();
            }
        }
    }

    /// <summary>Called on the flusher thread: fsyncs the file unless the writer is closed (then false).</summary>
    internal bool FlushToDisk()
    {
        _flushGate.Wait();
        try
        {
            if (_closed)
            {
                return false;
            }

            RandomAccess.FlushToDisk(_file.SafeFileHandle);
            return true;
        }
        finally
        {
            _flushGate.Release();
        }
    }

    /// <summary>How many of those flushes reached the disk (tests).</summary>
    internal int FlushesCompleted => Volatile.Read(ref _flushesCompleted);

    /// <summary>Whether a flush asked for has not run yet (tests).</summary>
    internal bool FlushPending => Volatile.Read(ref _flushPending) != 0;

    /// <summary>Called by <see cref="UploadFlusher"/> when this writer's flush has run, or could not.</summary>
    internal void FlushDone(bool flushed)
    {
        if (flushed)
        {
            Interlocked.Increment(ref _flushesCompleted);
        }

        Volatile.Write(ref _flushPending, 0);
    }

    /// <summary>
    /// Drops bytes after the append offset before the first write (an empty one too) or the commit: a chunk that never
    /// advanced the session's offset (its request died, or it lost the race to another node) must not stay between
    /// acknowledged bytes. Lazily, so the caller can still check, with this writer's lock held, that the offset it
    /// opened at is current.
    /// </summary>
    private void TruncateOnce()
    {
        _touched = true;
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

        // At most one flush per writer waits or runs at a time; a boundary crossed meanwhile is covered by the next one
        // (or by commit's own fsync).
        if (Interlocked.Exchange(ref _flushPending, 1) == 0)
        {
            FlushesRequested++;
            UploadFlusher.Shared.Enqueue(this);
        }
    }
}

/// <summary>
/// One long-lived background thread that fsyncs upload files on request (<see cref="UploadFileWriter"/>). A dedicated
/// thread rather than the thread pool: an fsync blocks for tens of milliseconds, and a disk flushes one file at a time
/// anyway. A file closed before its turn is skipped; errors are left to the fsync at commit, which reports them.
/// </summary>
internal sealed class UploadFlusher
{
    public static readonly UploadFlusher Shared = new();

    private readonly BlockingCollection<UploadFileWriter> _queue = new(new ConcurrentQueue<UploadFileWriter>());
    private readonly Lock _startLock = new();
    private Thread? _thread;

    public void Enqueue(UploadFileWriter stream)
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
                flushed = stream.FlushToDisk();
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
