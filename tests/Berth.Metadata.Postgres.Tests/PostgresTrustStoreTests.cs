using Berth.Access.Conformance;
using Berth.Testing.Servers;

namespace Berth.Metadata.Postgres.Tests;

/// <summary>The signature-trust conformance suite on PostgreSQL, a fresh schema of one throwaway database per test.</summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
public class PostgresTrustStoreTests(SchemaPerTestDatabase server) : TrustStoreConformance, IClassFixture<SchemaPerTestDatabase>
{
    private string? _schema;
    private PostgresDatabase? _database;

    protected override async Task<TrustStores> OpenAsync(TimeProvider clock)
    {
        var (connectionString, schema) = await server.CreateSchemaAsync();
        _schema = schema;
        _database = new PostgresDatabase(connectionString);
        new PostgresMigrator(_database).Migrate();
        return new TrustStores(new PostgresProjectStore(_database, clock), new PostgresTrustStore(_database), new PostgresScanPolicyStore(_database));
    }

    protected override async Task CloseAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        if (_schema is not null)
        {
            await server.DropSchemaAsync(_schema);
        }
    }
}
