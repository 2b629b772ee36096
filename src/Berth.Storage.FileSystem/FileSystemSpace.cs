using Berth.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem;

/// <summary>
/// Free space of the file system that holds the file store's folder, and its reserve
/// (<see cref="FileSystemStorageOptions.ReserveBytes"/>): below the reserve, new uploads and chunks are refused
/// (<see cref="StorageFullException"/>, 507 on the wire) while reads and deletes go on, so the metadata database, which
/// lives in the same folder by default, keeps room to commit the deletes that free space.
/// <para>
/// The file system is asked (statvfs, through <see cref="DriveInfo"/>) at most once per <see cref="MeasureEvery"/>;
/// between two measurements the bytes this process wrote into uploads are subtracted, so a burst of concurrent uploads
/// cannot run through the reserve on a stale figure. A warning is logged when the reserve is reached, once per change.
/// </para>
/// </summary>
public sealed partial class FileSystemSpace : IStorageSpace
{
    /// <summary>How long one measurement of the file system is used.</summary>
    public static readonly TimeSpan MeasureEvery = TimeSpan.FromSeconds(1);

    /// <summary>The default reserve is the larger of this and <see cref="DefaultReservePercent"/> of the file system…</summary>
    public const long DefaultReserveMinimum = 1L << 30;

    /// <summary>…in percent of the file system's size…</summary>
    public const int DefaultReservePercent = 2;

    /// <summary>…but never more than a quarter of a small file system (under 4 GiB), which would refuse every upload.</summary>
    public const int DefaultReserveMaxFraction = 4;

    private readonly string _root;
    private readonly long? _configured;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Lock _measureLock = new();
    private long _total;
    private long _free;
    private long _written;
    private long _measuredAt;
    private bool _measured;
    private bool _reached;

    /// <remarks>
    /// The measurement's age is real time (<see cref="TimeProvider.System"/>), never the registry's injected clock: free
    /// space changes with the disk, not with a test's fake time.
    /// </remarks>
    public FileSystemSpace(IOptions<FileSystemStorageOptions> options, ILogger<FileSystemSpace>? logger = null)
    {
        _root = Path.GetFullPath(options.Value.RootPath);
        _configured = options.Value.ReserveBytes;
        _clock = TimeProvider.System;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    /// <summary>The reserve on a file system of <paramref name="totalBytes"/>: the configured one, or the default.</summary>
    public long ReserveFor(long totalBytes) => _configured is { } configured
        ? Math.Max(0, configured)
        : DefaultReserve(totalBytes);

    /// <summary>The larger of 1 GiB and 2 % of <paramref name="totalBytes"/>, at most a quarter of it.</summary>
    public static long DefaultReserve(long totalBytes) =>
        Math.Min(Math.Max(DefaultReserveMinimum, totalBytes / 100 * DefaultReservePercent), totalBytes / DefaultReserveMaxFraction);

    public StorageSpaceReport Report()
    {
        MeasureIfStale();
        var total = Volatile.Read(ref _total);
        var free = Math.Max(0, Volatile.Read(ref _free) - Interlocked.Read(ref _written));
        var reserve = ReserveFor(total);
        var reached = reserve > 0 && free < reserve;
        NoteState(reached, free, reserve);
        return new StorageSpaceReport(_root, total, free, reserve, reached);
    }

    /// <summary>Refuses a new upload (or chunk) when the reserve is reached.</summary>
    /// <exception cref="StorageFullException">Free space is below the reserve.</exception>
    public void EnsureRoom()
    {
        if (_configured is 0)
        {
            return;
        }

        var report = Report();
        if (report.ReserveReached)
        {
            throw Refusal(report);
        }
    }

    /// <summary>
    /// Counts <paramref name="bytes"/> about to be written into an upload against the free space, and refuses them when
    /// they would take it below the reserve.
    /// </summary>
    /// <exception cref="StorageFullException">The write would reach into the reserve.</exception>
    public void Claim(long bytes)
    {
        if (_configured is 0)
        {
            return;
        }

        MeasureIfStale();
        var free = Volatile.Read(ref _free) - Interlocked.Add(ref _written, bytes);
        var reserve = ReserveFor(Volatile.Read(ref _total));
        if (reserve > 0 && free < reserve)
        {
            Interlocked.Add(ref _written, -bytes); // not written
            var report = Report();
            throw Refusal(report with { ReserveReached = true });
        }
    }

    private static StorageFullException Refusal(StorageSpaceReport report) => new(
        $"free space on {report.Location} ({report.FreeBytes} bytes) is below the storage reserve ({report.ReserveBytes} bytes): new uploads are refused");

    private void MeasureIfStale()
    {
        var now = _clock.GetTimestamp();
        if (Volatile.Read(ref _measured) && _clock.GetElapsedTime(Volatile.Read(ref _measuredAt), now) < MeasureEvery)
        {
            return;
        }

        lock (_measureLock)
        {
            if (_measured && _clock.GetElapsedTime(_measuredAt, now) < MeasureEvery)
            {
                return;
            }

            try
            {
                var drive = new DriveInfo(_root);
                Volatile.Write(ref _total, drive.TotalSize);
                Volatile.Write(ref _free, drive.AvailableFreeSpace);
                Interlocked.Exchange(ref _written, 0);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // Not measurable now (the folder went): keep the last figures; the probe reports the folder itself.
                LogNotMeasured(_logger, _root, ex.Message);
            }

            Volatile.Write(ref _measuredAt, now);
            Volatile.Write(ref _measured, true);
        }
    }

    private void NoteState(bool reached, long free, long reserve)
    {
        lock (_measureLock)
        {
            if (reached == _reached)
            {
                return;
            }

            _reached = reached;
        }

        if (reached)
        {
            LogReserveReached(_logger, _root, free, reserve);
        }
        else
        {
            LogReserveLeft(_logger, _root, free, reserve);
        }
    }

    [LoggerMessage(EventId = 1801, Level = LogLevel.Warning, Message = "Storage reserve reached: {Free} bytes free on the file system of {Path}, below the reserve of {Reserve} bytes (--storage-reserve). New uploads are refused (507) until space is freed; pulls and deletes go on")]
    private static partial void LogReserveReached(ILogger logger, string path, long free, long reserve);

    [LoggerMessage(EventId = 1802, Level = LogLevel.Information, Message = "Storage reserve left: {Free} bytes free on the file system of {Path}, above the reserve of {Reserve} bytes; uploads are accepted again")]
    private static partial void LogReserveLeft(ILogger logger, string path, long free, long reserve);

    [LoggerMessage(EventId = 1803, Level = LogLevel.Warning, Message = "Could not measure the free space of {Path}: {Reason}")]
    private static partial void LogNotMeasured(ILogger logger, string path, string reason);
}
