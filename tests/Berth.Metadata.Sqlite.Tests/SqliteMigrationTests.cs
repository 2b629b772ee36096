using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Metadata.Sqlite;
using Berth.Oci;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Berth.Metadata.Sqlite.Tests;

/// <summary>The migrator and migrations on real database files, opening only a migrated database, and the service registration.</summary>
public sealed class SqliteMigrationTests : IDisposable
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "berth-migrations-" + Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(_folder, "berth.db");

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private IOptions<SqliteMetadataOptions> DatabaseOptions => Options.Create(new SqliteMetadataOptions { DatabasePath = DatabasePath });

    /// <summary>What start-up does: migrate, then open.</summary>
    private SqliteDatabase Open()
    {
        new SqliteMigrator(DatabaseOptions).Migrate();
        return new SqliteDatabase(DatabaseOptions);
    }

    /// <summary>Runs SQL on the file directly (the database must be closed).</summary>
    private T Raw<T>(string sql, Func<SqliteCommand, T> run)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return run(command);
    }

    private List<long> SchemaVersions() => Raw("SELECT version FROM schema_version ORDER BY version", c =>
    {
        var versions = new List<long>();
        using var reader = c.ExecuteReader();
        while (reader.Read())
        {
            versions.Add(reader.GetInt64(0));
        }

        return versions;
    });

    private List<string> Tables() => Raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name", c =>
    {
        var names = new List<string>();
        using var reader = c.ExecuteReader();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    });

    [Fact]
    public void Open_NewDatabase_AppliesEveryMigrationOnce()
    {
        Open().Dispose();

        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L], SchemaVersions());
        Assert.Superset(
            new HashSet<string> { "projects", "users", "project_members", "robot_accounts", "access_tokens", "ip_allow_rules", "audit_log", "repositories", "known_networks", "retention_policies", "retention_runs", "retention_run_items", "scan_policies", "trust_entries" },
            new HashSet<string>(Tables()));
    }

    [Fact]
    public async Task Reopen_MigratedDatabase_KeepsDataAndAppliesNothing()
    {
        long userId;
        using (var db = Open())
        {
            IProjectStore projects = new SqliteProjectStore(db, TimeProvider.System);
            IUserStore users = new SqliteUserStore(db, TimeProvider.System);
            await projects.CreateAsync(ProjectName.Parse("shop"), "kept", ProjectVisibility.Public, Ct);
            userId = (await users.CreateAsync(UserName.Parse("Alice"), "$h", true, Ct)).User!.Id;
        }

        for (var i = 0; i < 2; i++)
        {
            using var db = Open();
            IProjectStore projects = new SqliteProjectStore(db, TimeProvider.System);
            IUserStore users = new SqliteUserStore(db, TimeProvider.System);
            Assert.Equal("kept", (await projects.GetAsync(ProjectName.Parse("shop"), Ct))!.Description);
            Assert.Equal(userId, (await users.GetAsync(UserName.Parse("alice"), Ct))!.Id);
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L], SchemaVersions());
    }

    [Fact]
    public async Task Open_Version1DatabaseWithRepositories_MigratesTo2AndKeepsThem()
    {
        Open().Dispose();

        // Turn the file back into what Berth before migration 2 left behind: a repository, no projects.
        Raw(
            """
            INSERT INTO repositories (name, created_at) VALUES ('shop/app', 0); INSERT INTO repositories (name, created_at) VALUES ('legacy/app', 0);
            DROP TABLE known_networks; DROP TABLE access_tokens; DROP TABLE ip_allow_rules; DROP TABLE robot_accounts; DROP TABLE project_members;
            DROP TABLE trust_entries; DROP INDEX ix_manifests_digest; DROP TABLE cve_allowlist; DROP TABLE scan_policies; DROP TABLE scan_results; DROP TABLE vulndb_packages; DROP TABLE vulndb_records; DROP TABLE vulndb_imports; DROP INDEX ix_uploads_repository; ALTER TABLE projects DROP COLUMN quota_bytes; DROP TABLE retention_run_items; DROP TABLE retention_runs; DROP TABLE retention_policies; DROP TABLE immutability_rules; DROP TABLE blob_collections; ALTER TABLE uploads DROP COLUMN acknowledged; ALTER TABLE uploads DROP COLUMN hash_state; ALTER TABLE uploads DROP COLUMN store_state; DROP TABLE users; DROP TABLE projects; DROP TABLE audit_log; DELETE FROM schema_version WHERE version >= 2;
            """,
            c => c.ExecuteNonQuery());
        Assert.Equal([1L], SchemaVersions());

        using (var db = Open())
        {
            IProjectStore projects = new SqliteProjectStore(db, TimeProvider.System);
            await projects.CreateAsync(ProjectName.Parse("shop"), "", ProjectVisibility.Private, Ct);
            Assert.Equal(ProjectDeleteStatus.HasRepositories, (await projects.DeleteAsync(ProjectName.Parse("shop"), force: false, Ct)).Status);
            var metadata = new SqliteMetadataStore(db, TimeProvider.System);
            Assert.True(await metadata.ExistsAsync(RepositoryName.Parse("shop/app"), Ct));

            // A repository kept from before projects, with no project of its name, stays writable.
            Assert.Equal(BlobLinkResult.Linked, await metadata.LinkAsync(RepositoryName.Parse("legacy/app"), Digest.Parse("sha256:" + new string('b', 64)), 5, Ct));
            Assert.Equal(BlobLinkResult.ProjectNotFound, await metadata.LinkAsync(RepositoryName.Parse("legacy/other"), Digest.Parse("sha256:" + new string('b', 64)), 5, Ct));
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L], SchemaVersions());
    }

    [Fact]
    public async Task Open_Version2DatabaseWithUsers_GivesEachADistinctStampAndKeepsThem()
    {
        long aliceId;
        using (var db = Open())
        {
            IUserStore users = new SqliteUserStore(db, TimeProvider.System);
            aliceId = (await users.CreateAsync(UserName.Parse("alice"), "$a", false, Ct)).User!.Id;
            await users.CreateAsync(UserName.Parse("bob"), "$b", true, Ct);
        }

        // Turn the file back into what Berth before migration 3 left behind.
        Raw(
            """
            DROP TABLE trust_entries; DROP INDEX ix_manifests_digest; DROP TABLE cve_allowlist; DROP TABLE scan_policies; DROP TABLE scan_results; DROP TABLE vulndb_packages; DROP TABLE vulndb_records; DROP TABLE vulndb_imports; DROP INDEX ix_uploads_repository; ALTER TABLE projects DROP COLUMN quota_bytes; DROP TABLE retention_run_items; DROP TABLE retention_runs; DROP TABLE retention_policies; DROP TABLE immutability_rules; DROP TABLE blob_collections; ALTER TABLE uploads DROP COLUMN acknowledged; ALTER TABLE uploads DROP COLUMN hash_state; ALTER TABLE uploads DROP COLUMN store_state; DROP TABLE known_networks; ALTER TABLE users DROP COLUMN security_stamp; DELETE FROM schema_version WHERE version >= 3;
            """,
            c => c.ExecuteNonQuery());
        Assert.Equal([1L, 2L], SchemaVersions());

        using (var db = Open())
        {
            IUserStore users = new SqliteUserStore(db, TimeProvider.System);
            var alice = (await users.GetAsync(UserName.Parse("alice"), Ct))!;
            var bob = (await users.GetAsync(UserName.Parse("bob"), Ct))!;
            Assert.Equal(aliceId, alice.Id);
            Assert.Equal("$a", alice.PasswordHash);
            Assert.Equal(32, alice.SecurityStamp.Length);
            Assert.Equal(32, bob.SecurityStamp.Length);
            Assert.NotEqual(alice.SecurityStamp, bob.SecurityStamp);
            IKnownNetworkStore networks = new SqliteKnownNetworkStore(db);
            Assert.Equal(UpdateResult.Updated, await networks.RememberAsync(alice.Id, "10.0.0.1", DateTimeOffset.UnixEpoch, Ct));
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L], SchemaVersions());
    }

    [Fact]
    public async Task Open_Version3DatabaseWithAnUploadSession_KeepsItWithoutOffsetOrHashState()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        using (var db = Open())
        {
            IUploadSessionStore sessions = new SqliteMetadataStore(db, TimeProvider.System);
            await sessions.CreateAsync(new UploadSession("abc", RepositoryName.Parse("shop/api"), at, at, 5, [1, 2]), Ct);
        }

        // What Berth before migration 4 left behind: a session without offset or hash state columns.
        Raw(
            """
            DROP TABLE trust_entries; DROP INDEX ix_manifests_digest; DROP TABLE cve_allowlist; DROP TABLE scan_policies; DROP TABLE scan_results; DROP TABLE vulndb_packages; DROP TABLE vulndb_records; DROP TABLE vulndb_imports; DROP INDEX ix_uploads_repository; ALTER TABLE projects DROP COLUMN quota_bytes; DROP TABLE retention_run_items; DROP TABLE retention_runs; DROP TABLE retention_policies; DROP TABLE immutability_rules; DROP TABLE blob_collections; ALTER TABLE uploads DROP COLUMN acknowledged; ALTER TABLE uploads DROP COLUMN hash_state; ALTER TABLE uploads DROP COLUMN store_state; DELETE FROM schema_version WHERE version >= 4;
            """,
            c => c.ExecuteNonQuery());

        using (var db = Open())
        {
            IUploadSessionStore sessions = new SqliteMetadataStore(db, TimeProvider.System);
            var session = await sessions.GetAsync("abc", Ct);
            Assert.NotNull(session);
            Assert.Null(session.Offset);
            Assert.Null(session.HashState);
            Assert.Equal(at, session.UpdatedAt);

            // A node that finds the data's length (say 7) advances from "no offset" to it; a stale expectation does not.
            Assert.Equal(UploadAdvanceResult.OffsetMismatch, await sessions.AdvanceAsync("abc", 0, 7, null, null, at, Ct));
            Assert.Equal(UploadAdvanceResult.Advanced, await sessions.AdvanceAsync("abc", null, 7, null, null, at, Ct));
            Assert.Equal(7L, (await sessions.GetAsync("abc", Ct))!.Offset);
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L], SchemaVersions());
    }

    [Fact]
    public async Task Open_Version4DatabaseWithAnUploadSession_KeepsOffsetAndHashStateWithoutStoreState()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        using (var db = Open())
        {
            IUploadSessionStore sessions = new SqliteMetadataStore(db, TimeProvider.System);
            await sessions.CreateAsync(new UploadSession("abc", RepositoryName.Parse("shop/api"), at, at, 5, [1, 2], "kept?"), Ct);
        }

        // What Berth before migration 5 left behind: offset and hash state, no store state column.
        Raw("DROP TABLE trust_entries; DROP INDEX ix_manifests_digest; DROP TABLE cve_allowlist; DROP TABLE scan_policies; DROP TABLE scan_results; DROP TABLE vulndb_packages; DROP TABLE vulndb_records; DROP TABLE vulndb_imports; DROP INDEX ix_uploads_repository; ALTER TABLE projects DROP COLUMN quota_bytes; DROP TABLE retention_run_items; DROP TABLE retention_runs; DROP TABLE retention_policies; DROP TABLE immutability_rules; DROP TABLE blob_collections; ALTER TABLE uploads DROP COLUMN store_state; DELETE FROM schema_version WHERE version >= 5;", c => c.ExecuteNonQuery());

        using (var db = Open())
        {
            IUploadSessionStore sessions = new SqliteMetadataStore(db, TimeProvider.System);
            var session = await sessions.GetAsync("abc", Ct);
            Assert.NotNull(session);
            Assert.Equal(5L, session.Offset);
            Assert.Equal([1, 2], session.HashState!);
            Assert.Null(session.StoreState);

            Assert.Equal(UploadAdvanceResult.Advanced, await sessions.AdvanceAsync("abc", 5, 9, [3], "{\"parts\":1}", at, Ct));
            Assert.Equal("{\"parts\":1}", (await sessions.GetAsync("abc", Ct))!.StoreState);
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L], SchemaVersions());
    }

    [Fact]
    public async Task Open_Version11DatabaseWithAScanPolicy_KeepsItNotSignedOnlyAndStartsWithNoTrust()
    {
        var shop = ProjectName.Parse("shop");
        var policy = new Core.Scanning.ScanPolicy(false, Core.Scanning.BlockSeverity.High, true, true, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
        using (var db = Open())
        {
            await ((IProjectStore)new SqliteProjectStore(db, TimeProvider.System)).CreateAsync(shop, "", ProjectVisibility.Private, Ct);
            Assert.True(await new SqliteScanPolicyStore(db).SetPolicyAsync(shop, policy with { SignedOnly = true }, Ct));
        }

        // What Berth before migration 12 left behind: no trust table, no signed-only column.
        Raw("DROP TABLE trust_entries; ALTER TABLE scan_policies DROP COLUMN signed_only; DELETE FROM schema_version WHERE version >= 12;", c => c.ExecuteNonQuery());

        using (var db = Open())
        {
            Assert.Equal(policy, await new SqliteScanPolicyStore(db).GetPolicyAsync(shop, Ct));
            Assert.Empty(await new SqliteTrustStore(db).ListEffectiveAsync(shop, Ct));
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L], SchemaVersions());
    }

    [Fact]
    public void Open_DatabaseFromANewerBerth_Throws()
    {
        Open().Dispose();
        Raw("INSERT INTO schema_version (version) VALUES (99)", c => c.ExecuteNonQuery());

        // The operator's situation, not a bug: a StartupException, which berth prints as one line.
        var error = Assert.Throws<Berth.Core.StartupException>(Open);
        Assert.Contains("berth.db has schema version 99, newer than this Berth knows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Migrate_FreshDatabase_CreatesFileAndAppliesEveryStep()
    {
        var migration = new SqliteMigrator(DatabaseOptions).Migrate();

        Assert.True(File.Exists(DatabasePath));
        Assert.Equal(0, migration.FromVersion);
        Assert.False(migration.WasCurrent);
        Assert.Equal(Enumerable.Range(1, migration.ToVersion).Select(v => (long)v), SchemaVersions());
        Assert.Contains("users", Tables());
        using var database = new SqliteDatabase(DatabaseOptions); // opens without complaint
    }

    [Fact]
    public void Migrate_AlreadyMigrated_IsNoOp()
    {
        var first = new SqliteMigrator(DatabaseOptions).Migrate();
        var versions = SchemaVersions();

        var second = new SqliteMigrator(DatabaseOptions).Migrate();

        Assert.True(second.WasCurrent);
        Assert.Equal(first.ToVersion, second.FromVersion);
        Assert.Equal(versions, SchemaVersions()); // no step applied again, no version row added
    }

    [Fact]
    public void Migrate_DatabaseFromANewerBerth_ThrowsOneLineAndWritesNothing()
    {
        new SqliteMigrator(DatabaseOptions).Migrate();
        Raw("INSERT INTO schema_version (version) VALUES (99)", c => c.ExecuteNonQuery());
        var versions = SchemaVersions();

        var error = Assert.Throws<Berth.Core.StartupException>(() => new SqliteMigrator(DatabaseOptions).Migrate());

        Assert.Contains("berth.db has schema version 99, newer than this Berth knows", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal(versions, SchemaVersions());
    }

    [Fact]
    public void Open_NeverMigrated_ThrowsOneLineWithoutMigrating()
    {
        var error = Assert.Throws<Berth.Core.StartupException>(() => new SqliteDatabase(DatabaseOptions));

        Assert.Contains("berth.db has schema version 0, older than this Berth needs", error.Message, StringComparison.Ordinal);
        Assert.Contains("not been migrated", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain("users", Tables()); // opening is not migrating
    }

    [Fact]
    public void Open_PartlyMigrated_ThrowsOneLineWithoutMigrating()
    {
        Open().Dispose();
        Raw("DROP TABLE trust_entries; DROP INDEX ix_manifests_digest; DROP TABLE cve_allowlist; DROP TABLE scan_policies; DROP TABLE scan_results; DROP TABLE vulndb_packages; DROP TABLE vulndb_records; DROP TABLE vulndb_imports; DROP INDEX ix_uploads_repository; ALTER TABLE projects DROP COLUMN quota_bytes; DROP TABLE retention_run_items; DROP TABLE retention_runs; DROP TABLE retention_policies; DROP TABLE immutability_rules; DROP TABLE blob_collections; DROP TABLE known_networks; ALTER TABLE users DROP COLUMN security_stamp; DELETE FROM schema_version WHERE version >= 3;", c => c.ExecuteNonQuery());

        var error = Assert.Throws<Berth.Core.StartupException>(() => new SqliteDatabase(DatabaseOptions));

        Assert.Contains("berth.db has schema version 2, older than this Berth needs", error.Message, StringComparison.Ordinal);
        Assert.Equal([1L, 2L], SchemaVersions());
    }

    [Fact]
    public void Open_DatabaseFromANewerBerth_ThrowsWithoutMigrator()
    {
        Open().Dispose();
        Raw("INSERT INTO schema_version (version) VALUES (99)", c => c.ExecuteNonQuery());

        var error = Assert.Throws<Berth.Core.StartupException>(() => new SqliteDatabase(DatabaseOptions));

        Assert.Contains("berth.db has schema version 99, newer than this Berth knows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddSqliteMetadata_RegistersEachAccessContractAsItsOwnSingletonStore()
    {
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        services.AddSqliteMetadata(o => o.DatabasePath = DatabasePath);
        using var provider = services.BuildServiceProvider();

        Assert.IsType<SqliteMigrator>(provider.GetRequiredService<IMetadataMigrator>()).Migrate();
        Assert.IsType<SqliteProjectStore>(provider.GetRequiredService<IProjectStore>());
        Assert.IsType<SqliteUserStore>(provider.GetRequiredService<IUserStore>());
        Assert.IsType<SqliteMembershipStore>(provider.GetRequiredService<IMembershipStore>());
        Assert.IsType<SqliteRobotAccountStore>(provider.GetRequiredService<IRobotAccountStore>());
        Assert.IsType<SqliteAccessTokenStore>(provider.GetRequiredService<IAccessTokenStore>());
        Assert.IsType<SqliteIpAllowRuleStore>(provider.GetRequiredService<IIpAllowRuleStore>());
        Assert.IsType<SqliteAuditLog>(provider.GetRequiredService<IAuditLog>());
        Assert.IsType<SqliteKnownNetworkStore>(provider.GetRequiredService<IKnownNetworkStore>());
        Assert.IsType<SqliteTrustStore>(provider.GetRequiredService<Core.Signing.ITrustStore>());
        Assert.IsType<SqliteScanPolicyStore>(provider.GetRequiredService<Core.Scanning.IScanPolicyStore>());
        Assert.Same(provider.GetRequiredService<IProjectStore>(), provider.GetRequiredService<IProjectStore>());
        Assert.Same(provider.GetRequiredService<IAuditLog>(), provider.GetRequiredService<IAuditLog>());
        Assert.NotNull(provider.GetRequiredService<IRepositoryIndex>());
    }
}
