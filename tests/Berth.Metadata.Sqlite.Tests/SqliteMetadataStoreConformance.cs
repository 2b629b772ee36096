using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Metadata.Sqlite;
using Berth.Oci;
using Berth.Storage.Conformance;
using Microsoft.Extensions.Options;

namespace Berth.Metadata.Sqlite.Tests;

/// <summary>The metadata contract on <see cref="SqliteMetadataStore"/>, in a temporary database file.</summary>
public sealed class SqliteMetadataStoreConformance : MetadataStoreConformance
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "berth-sqlite-" + Guid.NewGuid().ToString("N"));
    private SqliteDatabase? _database;

    protected override Task<Stores> CreateStoresAsync(TimeProvider clock)
    {
        var options = Options.Create(new SqliteMetadataOptions { DatabasePath = Path.Combine(_folder, "berth.db") });
        new SqliteMigrator(options).Migrate();
        _database = new SqliteDatabase(options);
        var store = new SqliteMetadataStore(_database, clock);
        return Task.FromResult(new Stores(store, store, store, store, new SqliteRepositoryBrowser(_database), new SqliteProjectQuotaStore(_database)));
    }

    protected override async Task CreateProjectsAsync(IReadOnlyList<string> names)
    {
        IProjectStore projects = new SqliteProjectStore(_database!, TimeProvider.System);
        foreach (var name in names)
        {
            await projects.CreateAsync(ProjectName.Parse(name), "", ProjectVisibility.Private, CancellationToken.None);
        }
    }

    protected override Task DeleteStoresAsync()
    {
        _database?.Dispose();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }

        return Task.CompletedTask;
    }

    protected override Task<DateTimeOffset?> GetManifestLastPulledAsync(RepositoryName repository, Digest digest) =>
        Task.FromResult(ReadTime(
            "SELECT m.last_pulled_at FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = $repo AND m.digest = $key",
            repository, digest.ToString()));

    protected override Task<DateTimeOffset?> GetTagLastPulledAsync(RepositoryName repository, Tag tag) =>
        Task.FromResult(ReadTime(
            "SELECT t.last_pulled_at FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = $repo AND t.name = $key",
            repository, tag.Value));

    private DateTimeOffset? ReadTime(string sql, RepositoryName repository, string key) =>
        _database!.Read(c =>
        {
            var value = c.Command(sql, ("$repo", repository.Value), ("$key", key)).ExecuteScalar();
            return value is null or DBNull ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds((long)value);
        });
}
