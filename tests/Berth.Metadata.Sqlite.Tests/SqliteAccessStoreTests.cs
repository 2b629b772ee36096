using Berth.Access.Conformance;
using Berth.Core.Access;
using Berth.Metadata.Sqlite;
using Microsoft.Extensions.Options;

namespace Berth.Metadata.Sqlite.Tests;

/// <summary>The conformance suite on the SQLite access stores (one class per contract, one database), one temporary database file per test.</summary>
public sealed class SqliteAccessStoreTests : AccessStoreConformance
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "berth-access-" + Guid.NewGuid().ToString("N"));
    private SqliteDatabase? _database;

    protected override Task<AccessStores> OpenAsync(TimeProvider clock)
    {
        var options = Options.Create(new SqliteMetadataOptions { DatabasePath = Path.Combine(_folder, "berth.db") });
        new SqliteMigrator(options).Migrate();
        _database = new SqliteDatabase(options);
        var metadata = new SqliteMetadataStore(_database, clock);
        return Task.FromResult(new AccessStores(
            new SqliteProjectStore(_database, clock),
            new SqliteUserStore(_database, clock),
            new SqliteMembershipStore(_database, clock),
            new SqliteRobotAccountStore(_database, clock),
            new SqliteAccessTokenStore(_database, clock),
            new SqliteIpAllowRuleStore(_database, clock),
            new SqliteAuditLog(_database),
            metadata,
            new SqliteKnownNetworkStore(_database))
        {
            Registry = new RegistryContent(metadata, metadata, metadata),
            ImmutabilityRules = new SqliteImmutabilityRuleStore(_database, clock),
            Retention = new SqliteRetentionStore(_database),
        });
    }

    protected override Task CloseAsync()
    {
        _database?.Dispose();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }

        return Task.CompletedTask;
    }
}
