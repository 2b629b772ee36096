using Berth.Core.Metadata;
using Berth.Metadata.Postgres;
using Berth.Oci;
using Berth.Storage.Conformance;
using Berth.Testing.Servers;
using Npgsql;

namespace Berth.Metadata.Postgres.Tests;

/// <summary>
/// The metadata contract on <see cref="PostgresMetadataStore"/>: one throwaway database for the class, migrated once,
/// emptied (every table truncated, identities restarted) before each test.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
public sealed class PostgresMetadataStoreConformance(PostgresMetadataStoreConformance.Database shared)
    : MetadataStoreConformance, IClassFixture<PostgresMetadataStoreConformance.Database>
{
    protected override async Task<Stores> CreateStoresAsync(TimeProvider clock)
    {
        await shared.EmptyAsync();
        var store = new PostgresMetadataStore(shared.Db, clock);
        return new Stores(store, store, store, store, new PostgresRepositoryBrowser(shared.Db), new PostgresProjectQuotaStore(shared.Db));
    }

    protected override Task CreateProjectsAsync(IReadOnlyList<string> names) =>
        shared.Db.ExecuteAsync(
            "INSERT INTO projects (name, visibility, created_at) SELECT unnest(@names), 'private', 0", CancellationToken.None, ("names", names.ToArray()));

    protected override Task DeleteStoresAsync() => Task.CompletedTask;

    protected override Task<DateTimeOffset?> GetManifestLastPulledAsync(RepositoryName repository, Digest digest) =>
        shared.ReadTimeAsync(
            "SELECT m.last_pulled_at FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = @repo AND m.digest = @key",
            repository, digest.ToString());

    protected override Task<DateTimeOffset?> GetTagLastPulledAsync(RepositoryName repository, Tag tag) =>
        shared.ReadTimeAsync(
            "SELECT t.last_pulled_at FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = @repo AND t.name = @key",
            repository, tag.Value);

    /// <summary>The class's database, migrated once.</summary>
    public sealed class Database : IAsyncLifetime
    {
        private TestPostgres.TestDatabase? _database;

        public PostgresDatabase Db { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            _database = await TestPostgres.CreateDatabaseAsync(nameof(PostgresMetadataStoreConformance));
            Db = new PostgresDatabase(_database.ConnectionString);
            new PostgresMigrator(Db).Migrate();
        }

        public async Task DisposeAsync()
        {
            if (Db is not null)
            {
                await Db.DisposeAsync();
            }

            if (_database is not null)
            {
                await _database.DisposeAsync();
            }
        }

        /// <summary>Every table of the schema but its version, emptied.</summary>
        public Task EmptyAsync() => Db.ExecuteAsync(
            """
            DO $$ BEGIN
                EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I', tablename), ', ') || ' RESTART IDENTITY CASCADE'
                         FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'berth_schema_version');
            END $$
            """, CancellationToken.None);

        public Task<DateTimeOffset?> ReadTimeAsync(string sql, RepositoryName repository, string key) =>
            Db.ReadAsync(async (c, ct) =>
            {
                await using var command = PostgresDatabase.Command(c, sql, ("repo", repository.Value), ("key", key));
                return await command.ExecuteScalarAsync(ct) is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
            }, CancellationToken.None);
    }
}
