using Berth.Core.Storage;
using Microsoft.Data.Sqlite;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// SQLite's <c>SQLITE_FULL</c> (13, "database or disk is full"): the file system of <c>berth.db</c> has no room for
/// the write-ahead log to grow. Answered as the registry's storage being full (507), never as a failure of the server.
/// </summary>
public sealed class SqliteStorageFull : IStorageFullDetector
{
    /// <summary>SQLITE_FULL.</summary>
    public const int ErrorCode = 13;

    public bool IsStorageFull(Exception exception) => exception is SqliteException { SqliteErrorCode: ErrorCode };
}
