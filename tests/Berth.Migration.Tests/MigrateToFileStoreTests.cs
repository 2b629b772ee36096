using System.Globalization;
using Berth.Testing.Servers;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Berth.Migration.Tests;

/// <summary>
/// <see cref="MigrateCommandTests"/> into a file store folder (<c>--to-storage filesystem --to-storage-path DIR</c>), and
/// what does not depend on the target store: identity sequences, a cancelled metadata copy, the refusals of a database
/// holding other data, both schemas against the copied columns.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
public sealed class MigrateToFileStoreTests(EmbeddedInstallation installation) : MigrateCommandTests(installation), IClassFixture<EmbeddedInstallation>
{
    protected override Task<TargetStore> CreateTargetAsync() => Task.FromResult<TargetStore>(new FileTargetStore());

    [Fact]
    public async Task RunAsync_AfterCopy_IdentitySequencesContinuePastCopiedIds()
    {
        var source = NewSource();
        var database = await NewDatabaseAsync();
        var (code, _, error) = await RunAsync(source, database, await NewTargetAsync());
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
    public async Task RunAsync_ScanningData_ReadsAsOnTheSourceAndTakesNewWrites()
    {
        var database = await NewDatabaseAsync();
        var (code, _, error) = await RunAsync(NewSource(), database, await NewTargetAsync());
        Assert.True(code == 0, error);
        await using var db = new Berth.Metadata.Postgres.PostgresDatabase(database.ConnectionString);
        var advisories = new Berth.Metadata.Postgres.PostgresAdvisoryStore(db);
        var results = new Berth.Metadata.Postgres.PostgresScanResultStore(db);
        var policies = new Berth.Metadata.Postgres.PostgresScanPolicyStore(db);
        var shop = Berth.Core.Access.ProjectName.Parse("shop");

        // The advisory database: its version, the withdrawn record, the import left running, lookups by folded name.
        var status = await advisories.GetStatusAsync(default);
        Assert.Equal((2L, 1L), (status.Records, status.WithdrawnRecords));
        Assert.True(status.Version > 0);
        Assert.Equal("osv-pypi", status.Running!.Source);
        Assert.Equal(["DSA-5000-1"], (await advisories.FindAsync("Debian:12", "openssl", default)).Select(h => h.Id));
        Assert.Equal("PyPI", Assert.Single((await advisories.GetAsync("GHSA-xxxx-yyyy-zzzz", default))!.Packages).Ecosystem);

        // Scan results and the queue, the policy and both allowlists.
        var done = await results.GetAsync(Berth.Oci.Digest.Parse(Installation.Images[0].Manifest.Digest), default);
        Assert.Equal((Berth.Core.Scanning.ScanStatus.Done, 1, "DSA-5000-1", status.Version), (done!.Status, done.Counts.High, done.WorstIds, done.DatabaseVersion!.Value));
        Assert.Contains("openssl", done.Inventory, StringComparison.Ordinal);
        Assert.Equal([Berth.Oci.Digest.Parse(Installation.Images[^1].Manifest.Digest)],
            (await results.ListQueueAsync(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10), 10, default)).Select(q => q.Digest));
        Assert.Equal((Berth.Core.Scanning.BlockSeverity.Critical, false), ((await policies.GetPolicyAsync(shop, default))!.BlockSeverity, (await policies.GetPolicyAsync(shop, default))!.BlockUnscanned));
        Assert.Equal(["CVE-2024-0001"], (await policies.ListAllowAsync(null, default)).Select(e => e.VulnerabilityId));
        Assert.Equal(["CVE-2024-0002"], (await policies.ListAllowAsync(shop, default)).Select(e => e.VulnerabilityId));

        // New rows continue past the copied ids; a new finished import makes a larger version.
        var next = await advisories.BeginImportAsync("after", "admin", DateTimeOffset.UtcNow.AddDays(1), TimeSpan.FromHours(1), default);
        Assert.Equal(Berth.Core.Scanning.AdvisoryImportStartStatus.Started, next.Status);
        Assert.True((await advisories.FinishImportAsync(next.Import.Id, DateTimeOffset.UtcNow.AddDays(1), default)).Import!.Version > status.Version);
        var added = await policies.AddAllowAsync(new Berth.Core.Scanning.CveAllowEntry(0, shop, "CVE-2024-0003", "", null, "admin", DateTimeOffset.UtcNow), default);
        Assert.Equal(Berth.Core.Scanning.CveAllowAddStatus.Added, added.Status);
    }

    [Fact]
    public async Task RunAsync_TrustAndSignedOnly_ReadAsOnTheSourceAndTakeNewWrites()
    {
        var database = await NewDatabaseAsync();
        var (code, _, error) = await RunAsync(NewSource(), database, await NewTargetAsync());
        Assert.True(code == 0, error);
        await using var db = new Berth.Metadata.Postgres.PostgresDatabase(database.ConnectionString);
        var trust = new Berth.Metadata.Postgres.PostgresTrustStore(db);
        var policies = new Berth.Metadata.Postgres.PostgresScanPolicyStore(db);
        var (shop, vault) = (Berth.Core.Access.ProjectName.Parse("shop"), Berth.Core.Access.ProjectName.Parse("vault"));

        // Every entry as added on the source (identities in order), in its scope; the signed-only switch only where it was set.
        var expected = EmbeddedInstallation.TrustEntries(DateTimeOffset.UnixEpoch);
        var stored = (await trust.ListAsync(null, default)).Concat(await trust.ListAsync(shop, default)).Concat(await trust.ListAsync(vault, default)).ToList();
        Assert.Equal(expected.Select(e => (e.Project, e.Name, e.Kind, e.Pem, e.Fingerprint, e.CreatedBy, string.Join('|', e.Identities))),
            stored.Select(e => (e.Project, e.Name, e.Kind, e.Pem, e.Fingerprint, e.CreatedBy, string.Join('|', e.Identities))));
        Assert.Equal(["corp-root", "release"], (await trust.ListEffectiveAsync(shop, default)).Select(e => e.Name));
        Assert.True((await policies.GetPolicyAsync(vault, default))!.SignedOnly);
        Assert.False((await policies.GetPolicyAsync(shop, default))!.SignedOnly);

        // Names stay unique per scope; a new entry takes an id past the copied ones; the cascade still holds.
        Assert.Equal(Berth.Core.Signing.TrustAddStatus.Exists, (await trust.AddAsync(expected[1] with { Name = "CORP-ROOT" }, default)).Status);
        var added = await trust.AddAsync(expected[0] with { Project = shop, Name = "after" }, default);
        Assert.Equal(Berth.Core.Signing.TrustAddStatus.Added, added.Status);
        Assert.True(added.Entry!.Id > stored.Max(e => e.Id));
        Assert.Equal(Berth.Core.Access.ProjectDeleteStatus.Deleted, (await ((Berth.Core.Access.IProjectStore)new Berth.Metadata.Postgres.PostgresProjectStore(db, TimeProvider.System)).DeleteAsync(vault, force: true, default)).Status);
        Assert.Empty(await trust.ListAsync(vault, default));
    }

    [Fact]
    public async Task RunAsync_InterruptedDuringMetadata_WritesNoRowAndRunAgainCompletes()
    {
        var source = NewSource();
        var target = await NewTargetAsync();
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
    public async Task RunAsync_TargetHoldsAnotherSourcesMigration_RefusedAndNothingChanged()
    {
        var database = await NewDatabaseAsync();
        var (first, _, firstError) = await RunAsync(NewSource(), database, await NewTargetAsync());
        Assert.True(first == 0, firstError);
        var before = await CountRowsAsync(database);

        var other = NewSource();
        var target = await NewTargetAsync();
        var (code, _, error) = await RunAsync(other, database, target);

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("berth: --to-metadata ", line, StringComparison.Ordinal);
        Assert.Contains("already holds the data migrated from", line, StringComparison.Ordinal);
        Assert.Equal(before, await CountRowsAsync(database));
        Assert.True(await target.IsUntouchedAsync());
    }

    [Fact]
    public async Task RunAsync_TargetHoldsBerthDataOfItsOwn_RefusedAndNothingChanged()
    {
        var database = await NewDatabaseAsync();
        var (first, _, firstError) = await RunAsync(NewSource(), database, await NewTargetAsync());
        Assert.True(first == 0, firstError);
        await using (var connection = await OpenAsync(database))
        {
            await ScalarAsync(connection, "DROP TABLE berth_migration");
        }

        var before = await CountRowsAsync(database);
        var (code, _, error) = await RunAsync(NewSource(), database, await NewTargetAsync());

        Assert.Equal(1, code);
        Assert.Contains("already holds Berth data (projects, users", error, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", error, StringComparison.Ordinal);
        Assert.Equal(before, await CountRowsAsync(database));
    }

    [Fact]
    public void MigrationTables_BothSchemas_ListEveryCopiedColumn()
    {
        // A later migration that adds a table or column must add it to the copy too.
        var source = NewSource();
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
        var (code, _, error) = await RunAsync(NewSource(), database, await NewTargetAsync());
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
}
