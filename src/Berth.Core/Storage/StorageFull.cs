namespace Berth.Core.Storage;

/// <summary>
/// A store refused a write for lack of room: the file system is full or below its reserve
/// (<see cref="IStorageSpace"/>), or an object store's quota is used up. Thrown by stores; the API answers it as
/// <c>507</c> with the OCI code <c>DENIED</c>, and an upload that meets it is removed with its bytes at once.
/// </summary>
public sealed class StorageFullException : IOException
{
    public StorageFullException()
        : base(StorageFull.Message)
    {
    }

    public StorageFullException(string message)
        : base(message)
    {
    }

    public StorageFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Recognises a provider's own "out of room" error (SQLite's <c>SQLITE_FULL</c>, PostgreSQL's <c>53100</c>, an object
/// store's quota code). Each provider registers one; <see cref="StorageFullClassifier"/> asks them all.
/// </summary>
public interface IStorageFullDetector
{
    /// <summary>Whether <paramref name="exception"/> itself (not its inner exceptions) says the store is out of room.</summary>
    bool IsStorageFull(Exception exception);
}

/// <summary>What every layer says about a full store, and the errors the operating system gives for one.</summary>
public static class StorageFull
{
    /// <summary>The words clients see (docker prints them after <c>denied:</c>).</summary>
    public const string Message = "the registry's storage is full: it accepts no new uploads until an administrator frees space (delete images, then collect garbage) or adds room";

    // errno values as .NET reports them in IOException.HResult on Unix (the raw errno), and the Win32 errors as HRESULTs.
    private const int Enospc = 28;
    private const int EdquotLinux = 122;
    private const int EdquotBsd = 69;
    private const int WindowsDiskFull = unchecked((int)0x80070070);
    private const int WindowsHandleDiskFull = unchecked((int)0x80070027);

    /// <summary>
    /// Whether <paramref name="exception"/> is the operating system's "no space left on device" or "disk quota
    /// exceeded" (or a <see cref="StorageFullException"/>).
    /// </summary>
    public static bool IsOutOfSpace(Exception exception) => exception switch
    {
        StorageFullException => true,
        IOException io => io.HResult switch
        {
            Enospc or WindowsDiskFull or WindowsHandleDiskFull => true,
            EdquotLinux => OperatingSystem.IsLinux(),
            EdquotBsd => OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD(),
            _ => false,
        },
        _ => false,
    };
}

/// <summary>
/// Decides whether an exception means "the storage is full", whichever layer threw it: the operating system's errors
/// (<see cref="StorageFull.IsOutOfSpace"/>) and every registered <see cref="IStorageFullDetector"/>, looking through
/// inner and aggregated exceptions.
/// </summary>
public sealed class StorageFullClassifier
{
    /// <summary>Knows the operating system's errors only (a service built by hand, tests).</summary>
    public static readonly StorageFullClassifier OperatingSystemOnly = new([]);

    private readonly IStorageFullDetector[] _detectors;

    public StorageFullClassifier(IEnumerable<IStorageFullDetector> detectors)
    {
        _detectors = detectors.ToArray();
    }

    public bool IsStorageFull(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 8; depth++)
        {
            if (StorageFull.IsOutOfSpace(exception) || _detectors.Any(d => d.IsStorageFull(exception)))
            {
                return true;
            }

            if (exception is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Any(IsStorageFull);
            }

            exception = exception.InnerException;
        }

        return false;
    }
}

/// <summary>Free space of the storage, as <see cref="IStorageSpace"/> measured it a moment ago.</summary>
/// <param name="Location">What was measured (the data folder of the file store).</param>
/// <param name="TotalBytes">Size of the file system.</param>
/// <param name="FreeBytes">Bytes available to the server.</param>
/// <param name="ReserveBytes">Free space kept for deletes and metadata; 0 when there is no reserve.</param>
/// <param name="ReserveReached">Whether <paramref name="FreeBytes"/> is below <paramref name="ReserveBytes"/>: new uploads are refused.</param>
public sealed record StorageSpaceReport(string Location, long TotalBytes, long FreeBytes, long ReserveBytes, bool ReserveReached);

/// <summary>
/// The free space of a store that has a measurable amount of it (the file store), with its reserve. Stores without
/// one (object stores) register none.
/// </summary>
public interface IStorageSpace
{
    /// <summary>The space now, from a measurement at most a second old (cheap enough for every request).</summary>
    StorageSpaceReport Report();
}
