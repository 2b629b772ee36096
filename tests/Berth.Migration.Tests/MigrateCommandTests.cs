using System.Globalization;
using System.Text.Json.Nodes;
using Berth.Testing.Servers;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Berth.Migration.Tests;

/// <summary>
/// <c>berth admin migrate</c> from a real embedded installation (<see cref="EmbeddedInstallation"/>) to a throwaway
/// PostgreSQL database and a target file store folder (the stand-in object store), compared table by table and byte by
/// byte.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
public sealed class MigrateCommandTests(EmbeddedInstallation installation) : IClassFixture<EmbeddedInstallation>, IAsyncLifetime
{
    private readonly List<string> _folders = [];
    private readonly List<TestPostgres.TestDatabase> _databases = [];

    [Fact]
    public async Task RunAsync_EmbeddedInstallation_CopiesEveryRowAndEveryBlob()
    {
        var source = installation.NewSource(_folders);
        var target = NewFolder();
        var database = await NewDatabaseAsync();

        var (code, output, error) = await RunAsync(source, database, target);

        Assert.True(code == 0, $"exit {code}: {error}");
        Assert.Contains("Metadata: copied", output, StringComparison.Ordinal);
        await AssertTablesEqualAsync(source, database);
        AssertBlobsEqual(source, target);
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(Path.Combine(target, "uploads")), _ => true);
        Assert.Contains("blobs ", error, StringComparison.Ordinal);
        await using var connection = await OpenAsync(database);
        Assert.NotNull(await ScalarAsync(connection, "SELECT blobs_done_at FROM berth_migration"));
    }

    [Fact]
    public async Task RunAsync_AfterCopy_IdentitySequencesContinuePastCopiedIds()
    {
        var source = installation.NewSource(_folders);
        var database = await NewDatabaseAsync();
        var (code, _, error) = await RunAsync(source, database, NewFolder());
        Assert.True(code == 0, error);

        await using var connection = await OpenAsync(database);
        foreach (var table in MigrationTables.All.Where(t => t.HasIdentity))
        {
            var max = Convert.ToInt64(await ScalarAsync(connection, $"SELECT COALESCE(MAX(id), 0) FROM {table.Name}"), CultureInfo.InvariantCulture);
            var next = Convert.ToInt64(await ScalarAsync(connection, $"SELECT nextval(pg_get_serial_sequence('{table.Name}', 'id'))"), CultureInfo.InvariantCulture);
            Assert.True(next > max, $"{table.Name}: next id {next} is not past the copied {max}");
        }
    }

    [Fact]
    public async Task RunAsync_InterruptedMidCopyThenRunAgain_CompletesWithNothingDuplicated()
    {
        var source = installation.NewSource(_folders);
        var target = NewFolder();
        var database = await NewDatabaseAsync();
        using var interrupt = new CancellationTokenSource();

        var (first, _, firstError) = await RunAsync(source, database, target, interrupt.Token, afterBlob: n =>
        {
            if (n == 3)
            {
                interrupt.Cancel();
            }
        });

        Assert.Equal(1, first);
        Assert.Contains("interrupted while copying blobs", firstError, StringComparison.Ordinal);
        var partial = EmbeddedInstallation.BlobFiles(target).Count;
        Assert.InRange(partial, 1, EmbeddedInstallation.BlobFiles(source).Count - 1);

        var (second, output, secondError) = await RunAsync(source, database, target);

        Assert.True(second == 0, secondError);
        Assert.Contains("Metadata: already copied", output, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $", {partial} already on the target and verified"), output, StringComparison.Ordinal);
        await AssertTablesEqualAsync(source, database);
        AssertBlobsEqual(source, target);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(target, "uploads")));
    }

    [Fact]
    public async Task RunAsync_InterruptedDuringMetadata_WritesNoRowAndRunAgainCompletes()
    {
        var source = installation.NewSource(_folders);
        var target = NewFolder();
        var database = await NewDatabaseAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var (first, _, _) = await RunAsync(source, database, target, cancelled.Token);
        Assert.Equal(1, first);
        await using (var connection = await OpenAsync(database))
        {
            // The marker table is created in the copy's transaction: cancelled, not even it is there.
            Assert.Equal(true, await ScalarAsync(connection, "SELECT to_regclass('berth_migration') IS NULL"));
        }

        var (second, _, error) = await RunAsync(source, database, target);
        Assert.True(second == 0, error);
        await AssertTablesEqualAsync(source, database);
    }

    [Fact]
    public async Task RunAsync_DryRun_ReportsCountsAndWritesNothing()
    {
        var source = installation.NewSource(_folders);
        var target = Path.Combine(NewFolder(), "not-yet");
        var database = await NewDatabaseAsync();

        var (code, output, error) = await RunAsync(source, database, target, dryRun: true);

        Assert.True(code == 0, error);
        Assert.Contains("Dry run: nothing is written", output, StringComparison.Ordinal);
        Assert.Matches(@"projects\s+3\b", output);
        Assert.Matches(@"users\s+4\b", output);
        Assert.Matches(@"robots\s+2\b", output);
        Assert.Matches(@"tokens\s+6\b", output);
        Assert.Matches(@"repositories\s+4\b", output);
        Assert.Matches(@"tags\s+6\b", output);
        var blobs = EmbeddedInstallation.BlobFiles(source);
        var bytes = blobs.Values.Sum(f => new FileInfo(f).Length);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"blobs         {blobs.Count} ("), output, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes)"), output, StringComparison.Ordinal);
        Assert.Contains("no Berth schema yet", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(target));
        await using var connection = await OpenAsync(database);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"));
    }

    [Fact]
    public async Task RunAsync_DryRunAfterPartialCopy_ReportsWhatIsAlreadyThere()
    {
        var source = installation.NewSource(_folders);
        var target = NewFolder();
        var database = await NewDatabaseAsync();
        using var interrupt = new CancellationTokenSource();
        await RunAsync(source, database, target, interrupt.Token, afterBlob: n =>
        {
            if (n == 2)
            {
                interrupt.Cancel();
            }
        });

        var (code, output, error) = await RunAsync(source, database, target, dryRun: true);

        Assert.True(code == 0, error);
        Assert.Contains("this source's metadata was copied", output, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Target storage: 2 of {EmbeddedInstallation.BlobFiles(source).Count} blobs already there"), output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_TargetHoldsAnotherSourcesMigration_RefusedAndNothingChanged()
    {
        var database = await NewDatabaseAsync();
        var (first, _, firstError) = await RunAsync(installation.NewSource(_folders), database, NewFolder());
        Assert.True(first == 0, firstError);
        var before = await CountRowsAsync(database);

        var other = installation.NewSource(_folders);
        var target = NewFolder();
        var (code, _, error) = await RunAsync(other, database, target);

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("berth: --to-metadata ", line, StringComparison.Ordinal);
        Assert.Contains("already holds the data migrated from", line, StringComparison.Ordinal);
        Assert.Equal(before, await CountRowsAsync(database));
        Assert.Empty(EmbeddedInstallation.BlobFiles(target));
    }

    [Fact]
    public async Task RunAsync_TargetHoldsBerthDataOfItsOwn_RefusedAndNothingChanged()
    {
        var database = await NewDatabaseAsync();
        var (first, _, firstError) = await RunAsync(installation.NewSource(_folders), database, NewFolder());
        Assert.True(first == 0, firstError);
        await using (var connection = await OpenAsync(database))
        {
            await ScalarAsync(connection, "DROP TABLE berth_migration");
        }

        var before = await CountRowsAsync(database);
        var (code, _, error) = await RunAsync(installation.NewSource(_folders), database, NewFolder());

        Assert.Equal(1, code);
        Assert.Contains("already holds Berth data (projects, users", error, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", error, StringComparison.Ordinal);
        Assert.Equal(before, await CountRowsAsync(database));
    }

    [Fact]
    public async Task RunAsync_CorruptSourceBlob_FailsNamingTheDigestAfterCopyingTheRest()
    {
        var source = installation.NewSource(_folders);
        var files = EmbeddedInstallation.BlobFiles(source);
        var (digest, path) = files.OrderBy(f => f.Key, StringComparer.Ordinal).Skip(1).First();
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0x5A;
        await File.WriteAllBytesAsync(path, bytes);
        var target = NewFolder();

        var (code, output, error) = await RunAsync(source, await NewDatabaseAsync(), target);

        Assert.Equal(1, code);
        Assert.Contains($"berth: {digest}: the source's bytes do not match the digest", error, StringComparison.Ordinal);
        Assert.Contains("1 failed", output, StringComparison.Ordinal);
        var copied = EmbeddedInstallation.BlobFiles(target);
        Assert.DoesNotContain(digest, copied.Keys);
        Assert.Equal(files.Count - 1, copied.Count);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(target, "uploads")));
    }

    [Fact]
    public async Task RunAsync_SourceBlobMissing_ReportsItAndFailsAfterCopyingTheRest()
    {
        var source = installation.NewSource(_folders);
        var files = EmbeddedInstallation.BlobFiles(source);
        var (digest, path) = files.OrderBy(f => f.Key, StringComparer.Ordinal).First();
        File.Delete(path);
        var target = NewFolder();
        var database = await NewDatabaseAsync();

        var (code, output, error) = await RunAsync(source, database, target);

        Assert.Equal(1, code);
        Assert.Contains("1 blob(s) listed in berth.db are missing from its blobs folder: " + digest, error, StringComparison.Ordinal);
        Assert.Contains("1 missing in the source", output, StringComparison.Ordinal);
        Assert.Equal(files.Count - 1, EmbeddedInstallation.BlobFiles(target).Count);
        await using var connection = await OpenAsync(database);
        Assert.Equal(DBNull.Value, await ScalarAsync(connection, "SELECT blobs_done_at FROM berth_migration"));
    }

    [Fact]
    public async Task RunAsync_TargetBlobDamaged_ReplacedOnTheNextRun()
    {
        var source = installation.NewSource(_folders);
        var target = NewFolder();
        var database = await NewDatabaseAsync();
        Assert.Equal(0, (await RunAsync(source, database, target)).Code);
        var (digest, path) = EmbeddedInstallation.BlobFiles(target).OrderBy(f => f.Key, StringComparer.Ordinal).Last();
        var original = await File.ReadAllBytesAsync(EmbeddedInstallation.BlobFiles(source)[digest]);
        var damaged = (byte[])original.Clone();
        damaged[0] ^= 1;
        await File.WriteAllBytesAsync(path, damaged);

        var (code, output, error) = await RunAsync(source, database, target);

        Assert.True(code == 0, error);
        Assert.Contains("Blobs: 1 copied", output, StringComparison.Ordinal);
        Assert.Equal(original, await File.ReadAllBytesAsync(EmbeddedInstallation.BlobFiles(target)[digest]));
    }

    [Fact]
    public void MigrationTables_BothSchemas_ListEveryCopiedColumn()
    {
        // A later migration that adds a table or column must add it to the copy too.
        var source = installation.NewSource(_folders);
        using var connection = new SqliteConnection($"Data Source={Path.Combine(source, "berth.db")};Mode=ReadOnly;Pooling=false");
        connection.Open();
        using var tables = connection.CreateCommand();
        tables.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
        var names = new List<string>();
        using (var reader = tables.ExecuteReader())
        {
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }
        }

        Assert.Equal(names.Except(MigrationTables.NotCopied).Order(StringComparer.Ordinal), MigrationTables.All.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var table in MigrationTables.All)
        {
            using var columns = connection.CreateCommand();
            columns.CommandText = $"SELECT name FROM pragma_table_info('{table.Name}') ORDER BY cid";
            var actual = new List<string>();
            using var reader = columns.ExecuteReader();
            while (reader.Read())
            {
                actual.Add(reader.GetString(0));
            }

            Assert.Equal(actual.Order(StringComparer.Ordinal), table.Columns.Select(c => c.Name).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task MigrationTables_PostgresSchema_ListsEveryCopiedColumn()
    {
        var database = await NewDatabaseAsync();
        var (code, _, error) = await RunAsync(installation.NewSource(_folders), database, NewFolder());
        Assert.True(code == 0, error);
        await using var connection = await OpenAsync(database);
        await using var read = new NpgsqlCommand("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'", connection);
        var columns = new List<(string Table, string Column)>();
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                columns.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        var tables = columns.Select(c => c.Table).Distinct().Except(MigrationTables.NotCopied).Order(StringComparer.Ordinal);
        Assert.Equal(tables, MigrationTables.All.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var table in MigrationTables.All)
        {
            Assert.Equal(columns.Where(c => c.Table == table.Name).Select(c => c.Column).Order(StringComparer.Ordinal),
                table.Columns.Select(c => c.Name).Order(StringComparer.Ordinal));
        }
    }

    private async Task<(int Code, string Output, string Error)> RunAsync(string source, TestPostgres.TestDatabase database, string target,
        CancellationToken cancellationToken = default, Action<int>? afterBlob = null, bool dryRun = false)
    {
        List<string> args = ["--data", source, "--to-metadata", database.Uri.ToString(), "--to-storage", "filesystem", "--to-storage-path", target];
        if (dryRun)
        {
            args.Add("--dry-run");
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await MigrateCommand.RunAsync(args, output, error, errorIsTerminal: false, cancellationToken, afterBlob);
        return (code, output.ToString(), error.ToString());
    }

    private string NewFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "berth-migration-target-" + Guid.NewGuid().ToString("N"));
        _folders.Add(path);
        return path;
    }

    private async Task<TestPostgres.TestDatabase> NewDatabaseAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync(nameof(MigrateCommandTests));
        _databases.Add(database);
        return database;
    }

    private static async Task<NpgsqlConnection> OpenAsync(TestPostgres.TestDatabase database)
    {
        var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static async Task<Dictionary<string, long>> CountRowsAsync(TestPostgres.TestDatabase database)
    {
        await using var connection = await OpenAsync(database);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in MigrationTables.All)
        {
            counts[table.Name] = (long)(await ScalarAsync(connection, $"SELECT COUNT(*) FROM {table.Name}"))!;
        }

        return counts;
    }

    /// <summary>Every copied table holds the same rows in both databases (booleans as 0/1, JSON compared as JSON).</summary>
    private static async Task AssertTablesEqualAsync(string source, TestPostgres.TestDatabase database)
    {
        await using var sqlite = new SqliteConnection($"Data Source={Path.Combine(source, "berth.db")};Mode=ReadOnly;Pooling=false");
        await sqlite.OpenAsync();
        await using var postgres = await OpenAsync(database);
        var nonEmpty = 0;
        foreach (var table in MigrationTables.All)
        {
            var columns = string.Join(", ", table.Columns.Select(c => c.Name));
            await using var fromSqlite = sqlite.CreateCommand();
            fromSqlite.CommandText = $"SELECT {columns} FROM {table.Name}";
            var expected = await RowsAsync(await fromSqlite.ExecuteReaderAsync(), table);
            await using var fromPostgres = new NpgsqlCommand($"SELECT {columns} FROM {table.Name}", postgres);
            var actual = await RowsAsync(await fromPostgres.ExecuteReaderAsync(), table);
            Assert.True(expected.SequenceEqual(actual, StringComparer.Ordinal),
                $"{table.Name}: {expected.Count} rows in SQLite, {actual.Count} in PostgreSQL; first difference: "
                + expected.Except(actual).Concat(actual.Except(expected)).FirstOrDefault());
            nonEmpty += expected.Count > 0 ? 1 : 0;
        }

        // The installation fills every table but the known networks (no sign-in from a new network).
        Assert.True(nonEmpty >= MigrationTables.All.Count - 1, $"only {nonEmpty} tables hold rows");
    }

    private static async Task<List<string>> RowsAsync(System.Data.Common.DbDataReader reader, MigrationTable table)
    {
        var rows = new List<string>();
        await using (reader)
        {
            while (await reader.ReadAsync())
            {
                var values = new string[table.Columns.Count];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = await reader.IsDBNullAsync(i) ? "<null>" : reader.GetValue(i) switch
                    {
                        bool b => b ? "1" : "0",
                        byte[] bytes => Convert.ToBase64String(bytes),
                        string text when table.Columns[i].Kind == ColumnKind.Json => Canonical(JsonNode.Parse(text)),
                        IConvertible value => value.ToString(CultureInfo.InvariantCulture),
                        var other => other.ToString()!,
                    };
                }

                rows.Add(string.Join("\u0001", values));
            }
        }

        rows.Sort(StringComparer.Ordinal);
        return rows;
    }

    /// <summary>JSON with object keys sorted (jsonb keeps its own key order and spacing).</summary>
    private static string Canonical(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => JsonValue.Create(p.Key).ToJsonString() + ":" + Canonical(p.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };

    private static void AssertBlobsEqual(string source, string target)
    {
        var expected = EmbeddedInstallation.BlobFiles(source);
        var actual = EmbeddedInstallation.BlobFiles(target);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (digest, path) in expected)
        {
            Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(File.ReadAllBytes(actual[digest])), $"{digest} differs");
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        foreach (var folder in _folders)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }
}
