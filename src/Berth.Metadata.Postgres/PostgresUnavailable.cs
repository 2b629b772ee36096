using System.Net.Sockets;
using Berth.Core.Storage;
using Npgsql;

namespace Berth.Metadata.Postgres;

/// <summary>
/// PostgreSQL out of reach: no connection could be made or kept (Npgsql's own errors, which are not the server's
/// answers: refused, reset, timed out, the pool exhausted), or the server's answers that it cannot serve now
/// (class 08 connection exceptions, shutting down, starting up, too many connections). Answered 503, not 500.
/// </summary>
public sealed class PostgresUnavailable : IStoreUnavailableDetector
{
    public bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal)
            || pg.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
                or PostgresErrorCodes.TooManyConnections,
        NpgsqlException npgsql => npgsql.InnerException is SocketException or IOException or TimeoutException || npgsql.IsTransient,
        _ => false,
    };
}
