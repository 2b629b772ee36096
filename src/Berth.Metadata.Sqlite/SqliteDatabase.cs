using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// The embedded database: one writer connection (SQLite allows one writer at a time; queuing writers here is
/// cheaper than letting them spin on SQLITE_BUSY) and a pool of reader connections, which WAL mode lets run
/// alongside the writer. Each connection keeps its prepared statements.
/// </summary>
public sealed class SqliteDatabase : IDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Connection _writer;
    private readonly ConcurrentBag<Connection> _readers = new();
    private bool _disposed;

    public SqliteDatabase(IOptions<SqliteMetadataOptions> options)
    {
        var path = Path.GetFullPath(options.Value.DatabasePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            Cache = SqliteCacheMode.Private,
        }.ToString();
        _writer = Open();
        using (var wal = _writer.Raw.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode=WAL";
            wal.ExecuteNonQuery();
        }

        Migrations.Apply(_writer.Raw);
    }

    /// <summary>Runs a read on a pooled connection.</summary>
    public T Read<T>(Func<Connection, T> read)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = _readers.TryTake(out var pooled) ? pooled : Open();
        try
        {
            return read(connection);
        }
        finally
        {
            if (_readers.Count < 16)
            {
                _readers.Add(connection);
            }
            else
            {
                connection.Dispose();
            }
        }
    }

    /// <summary>Runs <paramref name="write"/> in an immediate transaction on the writer connection; commits unless it throws or returns a result with rollback requested.</summary>
    public async Task<T> WriteAsync<T>(Func<Connection, SqliteTransaction, (T Result, bool Commit)> write, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var transaction = _writer.Raw.BeginTransaction(deferred: false);
            _writer.Transaction = transaction;
            try
            {
                var (result, commit) = write(_writer, transaction);
                if (commit)
                {
                    transaction.Commit();
                }
                else
                {
                    transaction.Rollback();
                }

                return result;
            }
            finally
            {
                _writer.Transaction = null;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        // Wait for the write in progress, if any: closing the writer under its transaction would break it mid-commit.
        _writeLock.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _writer.Dispose();
            while (_readers.TryTake(out var reader))
            {
                reader.Dispose();
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private Connection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragmas = connection.CreateCommand();
        // FULL: a manifest acknowledged with 201 survives a power loss, not only a process crash.
        pragmas.CommandText = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;";
        pragmas.ExecuteNonQuery();
        return new Connection(connection);
    }

    /// <summary>A connection with its cache of prepared commands.</summary>
    public sealed class Connection : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        internal Connection(SqliteConnection raw) => Raw = raw;

        public SqliteConnection Raw { get; }

        internal SqliteTransaction? Transaction { get; set; }

        /// <summary>A prepared command for <paramref name="sql"/>, with its parameters set from <paramref name="args"/> (name, value pairs).</summary>
        public SqliteCommand Command(string sql, params ReadOnlySpan<(string Name, object? Value)> args)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = Raw.CreateCommand();
                command.CommandText = sql;
                _commands[sql] = command;
            }

            command.Transaction = Transaction;
            command.Parameters.Clear();
            foreach (var (name, value) in args)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            return command;
        }

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            Raw.Dispose();
        }
    }
}
