using System.Globalization;
using Berth.Core;
using Berth.Metadata.Sqlite;
using Berth.Oci;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Berth.Migration;

/// <summary>A committed blob the source's metadata lists, with the size it records.</summary>
internal readonly record struct SourceBlob(string Text, Digest? Digest, long Size);

/// <summary>
/// The embedded installation being migrated: its <c>berth.db</c>, read in one snapshot (a read transaction) so every
/// table and the blob list are from the same moment even if something still writes. Opened read-only; a real run first
/// migrates the file to the current SQLite schema as the server would, a dry run leaves an older file as it is.
/// </summary>
internal sealed class EmbeddedSource : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _snapshot;

    private EmbeddedSource(string dataPath, SqliteConnection connection, int schemaVersion)
    {
        DataPath = dataPath;
        _connection = connection;
        SchemaVersion = schemaVersion;
        _snapshot = connection.BeginTransaction(deferred: true);
    }

    /// <summary>The data folder's full path, which also names this source in the target's <c>berth_migration</c> table.</summary>
    public string DataPath { get; }

    /// <summary>The schema version of <c>berth.db</c> as opened (older than the current one only in a dry run).</summary>
    public int SchemaVersion { get; }

    /// <summary>The schema version this Berth's SQLite store needs.</summary>
    public static int CurrentSchemaVersion => SqliteMigrator.LatestVersion;

    /// <summary>Opens <c>DATA/berth.db</c>, migrating it first unless <paramref name="readOnly"/>.</summary>
    /// <exception cref="CommandLineException">The folder holds no Berth data.</exception>
    /// <exception cref="StartupException">The database cannot be opened or migrated.</exception>
    public static EmbeddedSource Open(string data, bool readOnly)
    {
        if (DataFolder.WhyNotBerthData(data) is { } why)
        {
            throw new CommandLineException($"--data: {why}");
        }

        var path = DataFolder.FullPath(data);
        var database = Path.Combine(path, DataFolder.DatabaseFile);
        try
        {
            if (!readOnly)
            {
                new SqliteMigrator(Options.Create(new SqliteMetadataOptions { DatabasePath = database })).Migrate();
            }

            var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = database,
                Mode = SqliteOpenMode.ReadOnly,
                Pooling = false,
            }.ToString());
            connection.Open();
            int version;
            using (var read = connection.CreateCommand())
            {
                read.CommandText = "SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version') THEN 1 ELSE 0 END";
                version = (long)read.ExecuteScalar()! == 0 ? 0 : ReadVersion(connection);
            }

            if (version > CurrentSchemaVersion)
            {
                connection.Dispose();
                throw new StartupException($"--data {path}: berth.db has schema version {version}, newer than this Berth knows ({CurrentSchemaVersion}); migrate with that version");
            }

            if (version < 2)
            {
                connection.Dispose();
                throw new StartupException($"--data {path}: berth.db has schema version {version}, too old to read without migrating it (run without --dry-run, or start berth serve once)");
            }

            return new EmbeddedSource(path, connection, version);
        }
        catch (SqliteException ex)
        {
            throw new StartupException($"--data {path}: cannot read berth.db: {ex.Message}", ex);
        }
        catch (StartupException ex) when (!ex.Message.StartsWith("--", StringComparison.Ordinal))
        {
            throw new StartupException($"--data {path}: {ex.Message}", ex);
        }
    }

    private static int ReadVersion(SqliteConnection connection)
    {
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        return checked((int)(long)read.ExecuteScalar()!);
    }

    /// <summary>A command in the snapshot.</summary>
    public SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.Transaction = _snapshot;
        command.CommandText = sql;
        return command;
    }

    /// <summary>Rows of <paramref name="table"/>; 0 when the (older) schema has no such table.</summary>
    public long Count(string table)
    {
        using var exists = Command("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $t");
        exists.Parameters.AddWithValue("$t", table);
        if ((long)exists.ExecuteScalar()! == 0)
        {
            return 0;
        }

        using var count = Command($"SELECT COUNT(*) FROM {table}");
        return (long)count.ExecuteScalar()!;
    }

    /// <summary>The highest id SQLite's AUTOINCREMENT ever gave in <paramref name="table"/> (ids of deleted rows included), or 0.</summary>
    public long AutoincrementHighWater(string table)
    {
        using var read = Command("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = $t), 0)");
        read.Parameters.AddWithValue("$t", table);
        try
        {
            return Convert.ToInt64(read.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (SqliteException)
        {
            return 0; // no AUTOINCREMENT table yet, so no sqlite_sequence
        }
    }

    /// <summary>Every committed blob the metadata lists (the <c>blobs</c> table), in digest order.</summary>
    public IReadOnlyList<SourceBlob> Blobs()
    {
        var list = new List<SourceBlob>();
        using var read = Command("SELECT digest, size FROM blobs ORDER BY digest");
        using var reader = read.ExecuteReader();
        while (reader.Read())
        {
            var text = reader.GetString(0);
            list.Add(new SourceBlob(text, Digest.TryParse(text, out var digest) ? digest : null, reader.GetInt64(1)));
        }

        return list;
    }

    public void Dispose()
    {
        _snapshot.Dispose();
        _connection.Dispose();
    }
}
