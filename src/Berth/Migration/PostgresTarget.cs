using System.Net.Sockets;
using Berth.Core;
using Berth.Metadata.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Berth.Migration;

/// <summary>What the target database holds before a migration.</summary>
/// <param name="HasSchema">Berth's schema is there (a server or an earlier migration created it).</param>
/// <param name="CopiedAt">When the metadata of this source was copied (Unix ms); null when it was not.</param>
/// <param name="Refusal">Why a migration of this source must not write here (other Berth data); null when it may.</param>
internal sealed record TargetState(bool HasSchema, long? CopiedAt, string? Refusal);

/// <summary>
/// The target PostgreSQL database of <c>berth admin migrate</c>, through raw SQL only (the store classes are not
/// needed to copy rows). The copy is one transaction: every table by binary COPY with its ids, the identity sequences
/// set past the copied ids, and a row in <c>berth_migration</c> naming the source, so a database holds either all of
/// a source's metadata or none, and a re-run finds the row and goes on with the blobs.
/// </summary>
internal sealed class PostgresTarget(string connectionString)
{
    /// <summary>The advisory lock a copy holds for its transaction: "berthcpy", so two migrations into one database run one after the other.</summary>
    private const long CopyLockKey = 0x6265727468637079;

    private const string MarkerTable = """
        CREATE TABLE IF NOT EXISTS berth_migration (
            source           text PRIMARY KEY,
            metadata_done_at bigint NOT NULL,
            blobs_done_at    bigint
        )
        """;

    /// <summary>Where the database is, for messages (<c>HOST:PORT/DB as USER</c>; never the password).</summary>
    public string Where { get; } = PostgresConnectionStrings.Describe(connectionString);

    /// <summary>Reads what the database holds (no writes).</summary>
    public async Task<TargetState> InspectAsync(string source, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await InspectAsync(connection, null, source, cancellationToken);
    }

    /// <summary>Brings the database to the current Berth schema (the provider's own migrator, under its advisory lock).</summary>
    public void MigrateSchema()
    {
        using var database = new PostgresDatabase(connectionString);
        try
        {
            new PostgresMigrator(database).Migrate();
        }
        catch (StartupException ex)
        {
            throw new StartupException(ToTarget(ex.Message), ex);
        }
    }

    /// <summary>
    /// Copies every table of <paramref name="source"/> in one transaction, unless this source's metadata is already
    /// here (answers its time then, and writes nothing). Answers null after a copy, with the rows per table in
    /// <paramref name="copied"/>.
    /// </summary>
    /// <exception cref="StartupException">The database holds other data (nothing changed), or a database error.</exception>
    public async Task<long?> CopyAsync(EmbeddedSource source, TimeProvider clock, IDictionary<string, long> copied, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({CopyLockKey})", cancellationToken);
            await ExecuteAsync(connection, transaction, MarkerTable, cancellationToken);
            var state = await InspectAsync(connection, transaction, source.DataPath, cancellationToken);
            if (state.CopiedAt is { } at)
            {
                await transaction.RollbackAsync(cancellationToken);
                return at;
            }

            if (state.Refusal is { } refusal)
            {
                throw new StartupException(refusal);
            }

            foreach (var table in MigrationTables.All)
            {
                copied[table.Name] = await CopyTableAsync(source, table, connection, cancellationToken);
                if (table.HasIdentity)
                {
                    // Past the highest id ever given: SQLite's AUTOINCREMENT (the audit log) never reuses a deleted row's id.
                    var floor = source.AutoincrementHighWater(table.Name);
                    await ExecuteAsync(connection, transaction,
                        $"SELECT setval(pg_get_serial_sequence('{table.Name}', 'id'), GREATEST(COALESCE((SELECT MAX(id) FROM {table.Name}), 0), {floor}) + 1, false)",
                        cancellationToken);
                }
            }

            await using (var mark = new NpgsqlCommand("INSERT INTO berth_migration (source, metadata_done_at) VALUES (@s, @at)", connection, transaction))
            {
                mark.Parameters.AddWithValue("s", source.DataPath);
                mark.Parameters.AddWithValue("at", clock.GetUtcNow().ToUnixTimeMilliseconds());
                await mark.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return null;
        }
        catch (Exception ex) when (ex is NpgsqlException or PostgresException && !cancellationToken.IsCancellationRequested)
        {
            throw new StartupException($"--to-metadata {Where}: copying the metadata failed (nothing was copied): {Explain(ex)}", ex);
        }
    }

    /// <summary>Records that every blob of <paramref name="source"/> is on the target store.</summary>
    public async Task MarkBlobsDoneAsync(string source, TimeProvider clock, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var mark = new NpgsqlCommand("UPDATE berth_migration SET blobs_done_at = @at WHERE source = @s", connection);
        mark.Parameters.AddWithValue("s", source);
        mark.Parameters.AddWithValue("at", clock.GetUtcNow().ToUnixTimeMilliseconds());
        await mark.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<long> CopyTableAsync(EmbeddedSource source, MigrationTable table, NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var columns = string.Join(", ", table.Columns.Select(c => c.Name));
        using var read = source.Command($"SELECT {columns} FROM {table.Name}");
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        await using var importer = await connection.BeginBinaryImportAsync($"COPY {table.Name} ({columns}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            await importer.StartRowAsync(cancellationToken);
            for (var i = 0; i < table.Columns.Count; i++)
            {
                if (await reader.IsDBNullAsync(i, cancellationToken))
                {
                    await importer.WriteNullAsync(cancellationToken);
                    continue;
                }

                switch (table.Columns[i].Kind)
                {
                    case ColumnKind.Int64:
                        await importer.WriteAsync(reader.GetInt64(i), NpgsqlDbType.Bigint, cancellationToken);
                        break;
                    case ColumnKind.Int32:
                        await importer.WriteAsync(checked((int)reader.GetInt64(i)), NpgsqlDbType.Integer, cancellationToken);
                        break;
                    case ColumnKind.Boolean:
                        await importer.WriteAsync(reader.GetInt64(i) != 0, NpgsqlDbType.Boolean, cancellationToken);
                        break;
                    case ColumnKind.Bytes:
                        await importer.WriteAsync(reader.GetFieldValue<byte[]>(i), NpgsqlDbType.Bytea, cancellationToken);
                        break;
                    case ColumnKind.Json:
                        await importer.WriteAsync(reader.GetString(i), NpgsqlDbType.Jsonb, cancellationToken);
                        break;
                    case ColumnKind.JsonText:
                        await importer.WriteAsync(reader.GetString(i), NpgsqlDbType.Json, cancellationToken);
                        break;
                    default:
                        await importer.WriteAsync(reader.GetString(i), NpgsqlDbType.Text, cancellationToken);
                        break;
                }
            }
        }

        return checked((long)await importer.CompleteAsync(cancellationToken));
    }

    private async Task<TargetState> InspectAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string source, CancellationToken cancellationToken)
    {
        try
        {
            if (!await ScalarAsync<bool>(connection, transaction, "SELECT to_regclass('berth_schema_version') IS NOT NULL", cancellationToken))
            {
                return new TargetState(false, null, null);
            }

            if (await ScalarAsync<bool>(connection, transaction, "SELECT to_regclass('berth_migration') IS NOT NULL", cancellationToken))
            {
                await using var markers = new NpgsqlCommand("SELECT source, metadata_done_at FROM berth_migration ORDER BY source", connection, transaction);
                await using var reader = await markers.ExecuteReaderAsync(cancellationToken);
                string? other = null;
                while (await reader.ReadAsync(cancellationToken))
                {
                    if (reader.GetString(0) == source)
                    {
                        return new TargetState(true, reader.GetInt64(1), null);
                    }

                    other ??= reader.GetString(0);
                }

                if (other is not null)
                {
                    return new TargetState(true, null,
                        $"--to-metadata {Where}: already holds the data migrated from {other}, not from {source}; migrate into an empty database (nothing was changed)");
                }
            }

            var holding = new List<string>();
            foreach (var table in MigrationTables.All.Select(t => t.Name).Append("uploads"))
            {
                if (await ScalarAsync<bool>(connection, transaction, $"SELECT EXISTS (SELECT 1 FROM {table})", cancellationToken))
                {
                    holding.Add(table);
                }
            }

            return new TargetState(true, null, holding.Count == 0
                ? null
                : $"--to-metadata {Where}: already holds Berth data ({string.Join(", ", holding)}) that was not migrated from {source}; migrate into an empty database (nothing was changed)");
        }
        catch (Exception ex) when (ex is NpgsqlException or PostgresException && !cancellationToken.IsCancellationRequested)
        {
            throw new StartupException($"--to-metadata {Where}: cannot read the database: {Explain(ex)}", ex);
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch (Exception ex) when (ex is NpgsqlException or PostgresException or SocketException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            await connection.DisposeAsync();
            throw new StartupException($"--to-metadata {Where}: cannot connect: {Explain(ex)}", ex);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The provider's messages name <c>--metadata</c>; here the setting is <c>--to-metadata</c>.</summary>
    private static string ToTarget(string message) =>
        message.StartsWith("--metadata", StringComparison.Ordinal) ? "--to-metadata" + message["--metadata".Length..] : "--to-metadata: " + message;

    /// <summary>One line about a database failure; Npgsql's messages never hold the password.</summary>
    private static string Explain(Exception ex) => ex switch
    {
        PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification } =>
            "the server refused the user name or password",
        PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } => "the database does not exist (create it first: createdb)",
        PostgresException pe => pe.MessageText,
        _ => (ex.InnerException is SocketException socket ? socket.Message : ex.Message).ReplaceLineEndings(" "),
    };
}
