using Berth.Core;
using Berth.Core.Jobs;
using Berth.Metadata.Postgres;
using Berth.Testing.Servers;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Berth.Metadata.Postgres.Tests;

[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
public sealed class PostgresMigrationTests : IAsyncLifetime
{
    private TestPostgres.TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestPostgres.CreateDatabaseAsync(nameof(PostgresMigrationTests));

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private PostgresDatabase Open() => new(_database.ConnectionString);

    [Fact]
    public async Task Migrate_FreshDatabase_AppliesEveryStepAndProbeIsHappy()
    {
        await using var db = Open();
        var result = new PostgresMigrator(db).Migrate();
        Assert.Equal(0, result.FromVersion);
        Assert.True(result.ToVersion >= 1);
        Assert.Null(await new PostgresProbe(db).ProbeAsync(CancellationToken.None));

        var again = new PostgresMigrator(db).Migrate();
        Assert.True(again.WasCurrent);
    }

    [Fact]
    public async Task Migrate_EightNodesAtOnce_EachStepAppliedOnce()
    {
        var databases = Enumerable.Range(0, 8).Select(_ => Open()).ToList();
        try
        {
            var results = await Task.WhenAll(databases.Select(db => Task.Run(() => new PostgresMigrator(db).Migrate())));
            Assert.Single(results, r => !r.WasCurrent);
            Assert.All(results, r => Assert.Equal(results[0].ToVersion, r.ToVersion));
            var rows = await databases[0].ReadAsync(async (c, ct) =>
            {
                await using var count = new NpgsqlCommand("SELECT COUNT(*) FROM berth_schema_version", c);
                return (long)(await count.ExecuteScalarAsync(ct))!;
            }, CancellationToken.None);
            Assert.Equal(results[0].ToVersion, rows);
        }
        finally
        {
            foreach (var db in databases)
            {
                await db.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Probe_NotMigrated_SaysSoInOneLine()
    {
        await using var db = Open();
        var reason = await new PostgresProbe(db).ProbeAsync(CancellationToken.None);
        Assert.NotNull(reason);
        Assert.Contains("not been migrated", reason);
        Assert.DoesNotContain('\n', reason);
    }

    [Fact]
    public async Task Migrate_SchemaFromNewerBerth_RefusedNamingBothVersions()
    {
        await using var db = Open();
        var current = new PostgresMigrator(db).Migrate().ToVersion;
        await db.ExecuteAsync("INSERT INTO berth_schema_version (version) VALUES (@v)", CancellationToken.None, ("v", current + 5));
        var ex = Assert.Throws<StartupException>(() => new PostgresMigrator(db).Migrate());
        Assert.Contains("newer", ex.Message);
        Assert.Contains((current + 5).ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
    }

    [Fact]
    public async Task Migrate_WrongPassword_OneLineNamingMetadataWithoutThePassword()
    {
        var wrong = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Password = "not-the-password-42" }.ConnectionString;
        await using var db = new PostgresDatabase(wrong);
        var ex = Assert.Throws<StartupException>(() => new PostgresMigrator(db).Migrate());
        Assert.StartsWith("--metadata ", ex.Message);
        Assert.Contains("password", ex.Message);
        Assert.DoesNotContain("not-the-password-42", ex.Message);
        Assert.NotNull(await new PostgresProbe(db).ProbeAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Migrate_MissingDatabase_SaysTheDatabaseDoesNotExist()
    {
        var missing = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Database = "no_such_db_" + Guid.NewGuid().ToString("N")[..8] }.ConnectionString;
        await using var db = new PostgresDatabase(missing);
        var ex = Assert.Throws<StartupException>(() => new PostgresMigrator(db).Migrate());
        Assert.Contains("does not exist", ex.Message);
    }

    [Fact]
    public async Task Migrate_NothingListening_SaysItCannotConnect()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var closed = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Port = port, Timeout = 3 }.ConnectionString;
        await using var db = new PostgresDatabase(closed);
        var ex = Assert.Throws<StartupException>(() => new PostgresMigrator(db).Migrate());
        Assert.Contains("cannot connect", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task Leases_TwoNodes_OneHolderUntilReleasedOrExpired()
    {
        await using var db = Open();
        new PostgresMigrator(db).Migrate();
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        ILeaseStore a = new PostgresLeaseStore(db, clock);
        ILeaseStore b = new PostgresLeaseStore(db, clock);
        var minute = TimeSpan.FromMinutes(1);

        var both = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? a : b).TryAcquireAsync("sweep", "node-" + (i % 2), minute, default).AsTask()));
        Assert.True(both.Where((_, i) => i % 2 == 0).All(x => x) ^ both.Where((_, i) => i % 2 == 1).All(x => x));

        var holder = both[0] ? "node-0" : "node-1";
        var other = both[0] ? "node-1" : "node-0";
        Assert.True(await a.TryAcquireAsync("sweep", holder, minute, default));
        Assert.False(await b.TryAcquireAsync("sweep", other, minute, default));
        Assert.True(await b.TryAcquireAsync("other-job", other, minute, default));

        await b.ReleaseAsync("sweep", other, default); // not the holder: nothing
        Assert.False(await b.TryAcquireAsync("sweep", other, minute, default));
        clock.Advance(minute + TimeSpan.FromSeconds(1));
        Assert.True(await b.TryAcquireAsync("sweep", other, minute, default));
        await b.ReleaseAsync("sweep", other, default);
        Assert.True(await a.TryAcquireAsync("sweep", holder, minute, default));
    }
}
