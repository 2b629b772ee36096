using Berth.Access.Conformance;
using Microsoft.Extensions.Options;

namespace Berth.Metadata.Sqlite.Tests;

/// <summary>The signature-trust conformance suite on SQLite, one temporary database file per test.</summary>
public sealed class SqliteTrustStoreTests : TrustStoreConformance
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "berth-trust-" + Guid.NewGuid().ToString("N"));
    private SqliteDatabase? _database;

    protected override Task<TrustStores> OpenAsync(TimeProvider clock)
    {
        var options = Options.Create(new SqliteMetadataOptions { DatabasePath = Path.Combine(_folder, "berth.db") });
        new SqliteMigrator(options).Migrate();
        _database = new SqliteDatabase(options);
        return Task.FromResult(new TrustStores(new SqliteProjectStore(_database, clock), new SqliteTrustStore(_database), new SqliteScanPolicyStore(_database)));
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
