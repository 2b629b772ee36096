using Berth.Testing.Servers;
using Npgsql;

namespace Berth.Metadata.Postgres.Tests;

/// <summary>
/// One throwaway database per test class (created at the first test, dropped with the class) and a fresh schema in it
/// per test, named first in the connection's search path: a suite of a hundred and more tests then pays for one
/// <c>CREATE DATABASE</c> (about a second each on a loaded machine) instead of one per test. The stores name no
/// schema, so they run in the test's as they run in <c>public</c>. Nothing is created before a test runs, so a class
/// whose server is unreachable is skipped (or failed in CI) by <c>[RequiresServer]</c>, not by this fixture.
/// </summary>
public sealed class SchemaPerTestDatabase : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private TestPostgres.TestDatabase? _database;

    /// <summary>Creates an empty schema and answers a connection string whose search path starts with it.</summary>
    public async Task<(string ConnectionString, string Schema)> CreateSchemaAsync()
    {
        var database = await DatabaseAsync();
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            await create.ExecuteNonQueryAsync();
        }

        return (new NpgsqlConnectionStringBuilder(database.ConnectionString) { SearchPath = schema }.ConnectionString, schema);
    }

    /// <summary>Drops the schema with everything in it.</summary>
    public async Task DropSchemaAsync(string schema)
    {
        if (_database is null)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }

    private async Task<TestPostgres.TestDatabase> DatabaseAsync()
    {
        await _gate.WaitAsync();
        try
        {
            return _database ??= await TestPostgres.CreateDatabaseAsync(nameof(SchemaPerTestDatabase));
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _gate.Dispose();
    }
}
