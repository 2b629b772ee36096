using Berth.Core.Storage;
using Npgsql;

namespace Berth.Metadata.Postgres;

/// <summary>
/// PostgreSQL's <c>disk_full</c> (SQLSTATE 53100): the database server has no room to write. Answered as the
/// registry's storage being full (507), never as a failure of the server.
/// </summary>
public sealed class PostgresStorageFull : IStorageFullDetector
{
    public bool IsStorageFull(Exception exception) => exception is PostgresException { SqlState: PostgresErrorCodes.DiskFull };
}
