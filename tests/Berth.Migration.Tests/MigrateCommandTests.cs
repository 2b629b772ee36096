using System.Globalization;
using System.Text.Json.Nodes;
using Berth.Testing.Servers;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Berth.Migration.Tests;

/// <summary>
/// <c>berth admin migrate</c> from a real embedded installation (<see cref="EmbeddedInstallation"/>) to a throwaway
/// PostgreSQL database and a target blob store, compared table by table and byte by byte. Every target store runs
/// these (<see cref="MigrateToFileStoreTests"/>, <see cref="MigrateToS3Tests"/>); what does not depend on the store
/// runs once, in the file store's class.
/// </summary>
public abstract class MigrateCommandTests(EmbeddedInstallation installation) : IAsyncLifetime
{
    private readonly List<string> _folders = [];
    private readonly List<TestPostgres.TestDatabase> _databases = [];
    private readonly List<TargetStore> _targets = [];

    protected EmbeddedInstallation Installation { get; } = installation;

    /// <summary>A new, empty target store of the kind under test.</summary>
    protected abstract Task<TargetStore> CreateTargetAsync();

    [Fact]
    public async Task RunAsync_EmbeddedInstallation_CopiesEveryRowAndEveryBlob()
    {
        var source = NewSource();
        var target = await NewTargetAsync();
        var database = await NewDatabaseAsync();

        var (code, output, error) = await RunAsync(source, database, target);

        Assert.True(code == 0, $"exit {code}: {error}");
        Assert.Contains("Metadata: copied", output, StringComparison.Ordinal);
        await AssertTablesEqualAsync(source, database);
        await AssertBlobsEqualAsync(source, target);
        Assert.Empty(await target.UploadLeftoversAsync());
        Assert.Contains("blobs ", error, StringComparison.Ordinal);
        await using var connection = await OpenAsync(database);
        Assert.NotNull(await ScalarAsync(connection, "SELECT blobs_done_at FROM berth_migration"));
    }

    [Fact]
    public async Task RunAsync_InterruptedMidCopyThenRunAgain_CompletesWithNothingDuplicated()
    {
        var source = NewSource();
        var target = await NewTargetAsync();
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
        var partial = (await target.BlobsAsync()).Count;
        Assert.InRange(partial, 1, EmbeddedInstallation.BlobFiles(source).Count - 1);

        var (second, output, secondError) = await RunAsync(source, database, target);

        Assert.True(second == 0, secondError);
        Assert.Contains("Metadata: already copied", output, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $", {partial} already on the target and verified"), output, StringComparison.Ordinal);
        await AssertTablesEqualAsync(source, database);
        await AssertBlobsEqualAsync(source, target);
        Assert.Empty(await target.UploadLeftoversAsync());
    }

    [Fact]
    public async Task RunAsync_DryRun_ReportsCountsAndWritesNothing()
    {
        var source = NewSource();
        var target = await NewTargetAsync();
        var database = await NewDatabaseAsync();

        var (code, output, error) = await RunAsync(source, database, target, dryRun: true);

        Assert.True(code == 0, error);
        Assert.Contains("Dry run: nothing is written", output, StringComparison.Ordinal);
        Assert.Matches(@"projects\s+4\b", output);
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
        Assert.True(await target.IsUntouchedAsync());
        await using var connection = await OpenAsync(database);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"));
    }

    [Fact]
    public async Task RunAsync_DryRunAfterPartialCopy_ReportsWhatIsAlreadyThere()
    {
        var source = NewSource();
        var target = await NewTargetAsync();
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
    public async Task RunAsync_CorruptSourceBlob_FailsNamingTheDigestAfterCopyingTheRest()
    {
        var source = NewSource();
        var files = EmbeddedInstallation.BlobFiles(source);
        var (digest, path) = files.OrderBy(f => f.Key, StringComparer.Ordinal).Skip(1).First();
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0x5A;
        await File.WriteAllBytesAsync(path, bytes);
        var target = await NewTargetAsync();

        var (code, output, error) = await RunAsync(source, await NewDatabaseAsync(), target);

        Assert.Equal(1, code);
        Assert.Contains($"berth: {digest}: the source's bytes do not match the digest", error, StringComparison.Ordinal);
        Assert.Contains("1 failed", output, StringComparison.Ordinal);
        var copied = await target.BlobsAsync();
        Assert.DoesNotContain(digest, copied.Keys);
        Assert.Equal(files.Count - 1, copied.Count);
        Assert.Empty(await target.UploadLeftoversAsync());
    }

    [Fact]
    public async Task RunAsync_SourceBlobMissing_ReportsItAndFailsAfterCopyingTheRest()
    {
        var source = NewSource();
        var files = EmbeddedInstallation.BlobFiles(source);
        var (digest, path) = files.OrderBy(f => f.Key, StringComparer.Ordinal).First();
        File.Delete(path);
        var target = await NewTargetAsync();
        var database = await NewDatabaseAsync();

        var (code, output, error) = await RunAsync(source, database, target);

        Assert.Equal(1, code);
        Assert.Contains("1 blob(s) listed in berth.db are missing from its blobs folder: " + digest, error, StringComparison.Ordinal);
        Assert.Contains("1 missing in the source", output, StringComparison.Ordinal);
        Assert.Equal(files.Count - 1, (await target.BlobsAsync()).Count);
        await using var connection = await OpenAsync(database);
        Assert.Equal(DBNull.Value, await ScalarAsync(connection, "SELECT blobs_done_at FROM berth_migration"));
    }

    [Fact]
    public async Task RunAsync_TargetBlobDamaged_ReplacedOnTheNextRun()
    {
        var source = NewSource();
        var target = await NewTargetAsync();
        var database = await NewDatabaseAsync();
        Assert.Equal(0, (await RunAsync(source, database, target)).Code);
        var digest = (await target.BlobsAsync()).Keys.Order(StringComparer.Ordinal).Last();
        var original = await File.ReadAllBytesAsync(EmbeddedInstallation.BlobFiles(source)[digest]);
        var damaged = (byte[])original.Clone();
        damaged[0] ^= 1;
        await target.ReplaceAsync(digest, damaged);

        var (code, output, error) = await RunAsync(source, database, target);

        Assert.True(code == 0, error);
        Assert.Contains("Blobs: 1 copied", output, StringComparison.Ordinal);
        Assert.Equal(original, (await target.BlobsAsync())[digest]);
    }

    protected static async Task<(int Code, string Output, string Error)> RunAsync(string source, TestPostgres.TestDatabase database, TargetStore target,
        CancellationToken cancellationToken = default, Action<int>? afterBlob = null, bool dryRun = false)
    {
        List<string> args = ["--data", source, "--to-metadata", database.Uri.ToString(), .. target.Arguments];
        if (dryRun)
        {
            args.Add("--dry-run");
        }

        return await RunAsync(args, cancellationToken, afterBlob, target.Settings);
    }

    protected static async Task<(int Code, string Output, string Error)> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken = default,
        Action<int>? afterBlob = null, IReadOnlyDictionary<string, string?>? storageSettings = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await MigrateCommand.RunAsync(args, output, error, errorIsTerminal: false, cancellationToken, afterBlob, storageSettings);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A fresh copy of the installation's data folder (deleted after the test).</summary>
    protected string NewSource() => Installation.NewSource(_folders);

    protected async Task<TargetStore> NewTargetAsync()
    {
        var target = await CreateTargetAsync();
        _targets.Add(target);
        return target;
    }

    protected async Task<TestPostgres.TestDatabase> NewDatabaseAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync(GetType().Name);
        _databases.Add(database);
        return database;
    }

    protected static async Task<NpgsqlConnection> OpenAsync(TestPostgres.TestDatabase database)
    {
        var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    protected static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    protected static async Task<Dictionary<string, long>> CountRowsAsync(TestPostgres.TestDatabase database)
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
    protected static async Task AssertTablesEqualAsync(string source, TestPostgres.TestDatabase database)
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

    private static async Task AssertBlobsEqualAsync(string source, TargetStore target)
    {
        var expected = EmbeddedInstallation.BlobFiles(source);
        var actual = await target.BlobsAsync();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (digest, path) in expected)
        {
            Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(actual[digest]), $"{digest} differs");
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        foreach (var target in _targets)
        {
            await target.DisposeAsync();
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
