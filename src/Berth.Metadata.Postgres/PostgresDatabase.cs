using Npgsql;

namespace Berth.Metadata.Postgres;

/// <summary>
/// The PostgreSQL database every store of this provider works through: one pooled <see cref="NpgsqlDataSource"/>.
/// Reads run on a pooled connection at READ COMMITTED. Writes run in a SERIALIZABLE transaction and are retried (a
/// bounded number of times, with a short random pause) when PostgreSQL reports a serialization failure or deadlock,
/// so a store's write is the same all-or-nothing step it is on SQLite's single writer, now across several nodes:
/// a write function must therefore only touch the database (it may run more than once) and decide from what it reads
/// in its own transaction.
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable, IDisposable
{
    private const int MaxAttempts = 12;
    private readonly NpgsqlDataSource _source;

    /// <summary>Opens the data source; checks nothing (the migrator and the probe talk to the server first).</summary>
    public PostgresDatabase(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ConnectionString = connectionString;
        Where = PostgresConnectionStrings.Describe(connectionString);
        _source = NpgsqlDataSource.Create(WithAutoPrepare(connectionString));
    }

    /// <summary>
    /// Turns on Npgsql's automatic preparation unless the connection string sets it: the stores send the same few
    /// statements over and over (positional parameters, typed), and a prepared statement skips PostgreSQL's parse and
    /// plan on each. Kept per physical connection across pool rentals. Also, unless the connection string says
    /// otherwise, pooled connections are not reset when returned (<c>No Reset On Close</c>): the reset (RESET ALL,
    /// UNLISTEN, unlocking session advisory locks, …) ran on the server at every rental, one statement for each of the
    /// stores' one- or two-statement operations, and nothing here leaves session state behind: the pooled connections
    /// never SET, LISTEN or take session advisory locks (transaction locks end with their transaction; the migrator's
    /// session lock is on an unpooled connection of its own).
    /// </summary>
    internal static string WithAutoPrepare(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase))
        {
            builder.NoResetOnClose = true;
        }

        if (builder.MaxAutoPrepare > 0 || connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
        {
            return builder.ConnectionString;
        }

        builder.MaxAutoPrepare = 64;
        builder.AutoPrepareMinUsages = 2;
        return builder.ConnectionString;
    }

    /// <summary>The complete connection string (with the password: never log it).</summary>
    internal string ConnectionString { get; }

    /// <summary>Where the database is, for messages (<c>HOST:PORT/DB as USER</c>).</summary>
    public string Where { get; }

    /// <summary>The data source, for what needs a raw connection (LISTEN, advisory locks).</summary>
    public NpgsqlDataSource DataSource => _source;

    /// <summary>Runs <paramref name="read"/> on a pooled connection.</summary>
    public async Task<T> ReadAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        return await read(connection, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="write"/> in a SERIALIZABLE transaction and commits it when it answers Commit = true (rolls
    /// back otherwise), retrying the whole function on a serialization failure or deadlock.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task<(T Result, bool Commit)>> write, CancellationToken cancellationToken) =>
        WriteAsync(write, System.Data.IsolationLevel.Serializable, cancellationToken);

    /// <summary>
    /// As <see cref="WriteAsync{T}(Func{NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task{ValueTuple{T, bool}}}, CancellationToken)"/>
    /// at the given isolation level. READ COMMITTED is for hot writes whose every check is made safe by the locks the
    /// write takes itself (row locks, advisory locks, the table locks of a project delete): SERIALIZABLE's predicate
    /// locks cover index pages, so many pushes into neighbouring repositories abort each other (false conflicts) and
    /// under load exhaust the retries.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task<(T Result, bool Commit)>> write, System.Data.IsolationLevel isolation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await _source.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(isolation, cancellationToken);
            try
            {
                var (result, commit) = await write(connection, transaction, cancellationToken);
                if (commit)
                {
                    await transaction.CommitAsync(cancellationToken);
                }
                else
                {
                    await transaction.RollbackAsync(cancellationToken);
                }

                return result;
            }
            catch (PostgresException ex) when (IsRetryable(ex) && attempt < MaxAttempts)
            {
                // The transaction is dead; dispose rolls it back. Pause a little so the racing writers spread out.
                await Task.Delay(Random.Shared.Next(1, 4 * attempt), cancellationToken);
            }
        }
    }

    /// <summary>A plain write in its own transaction (no retry needed: a single statement at READ COMMITTED).</summary>
    public async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] args)
    {
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, sql, args);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>True for the errors a SERIALIZABLE transaction is retried on: serialization failure and deadlock.</summary>
    public static bool IsRetryable(PostgresException exception) =>
        exception?.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected;

    /// <summary>True when the exception is a unique-key violation (a name taken).</summary>
    public static bool IsUniqueViolation(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    /// <summary>A command with named parameters (<c>@name</c>; give names without the <c>@</c>); null becomes SQL NULL.</summary>
    public static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params ReadOnlySpan<(string Name, object? Value)> args)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in args)
        {
            command.Parameters.AddWithValue(name.TrimStart('@', '$'), value ?? DBNull.Value);
        }

        return command;
    }

    public void Dispose() => _source.Dispose();

    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
