using System.Text;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Metadata.Postgres;
using Berth.Oci;
using Berth.Testing.Servers;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Metadata.Postgres.Tests;

/// <summary>
/// Two nodes (two <see cref="PostgresDatabase"/> data sources, two stores) on one database, racing where SQLite's single
/// writer never races: the upload offset compare-and-set, tag moves, links, and the rule that a repository is created
/// only inside an existing project.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
public sealed class PostgresMetadataStoreConcurrencyTests : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private TestPostgres.TestDatabase _database = null!;
    private PostgresDatabase _nodeA = null!;
    private PostgresDatabase _nodeB = null!;
    private PostgresMetadataStore _a = null!;
    private PostgresMetadataStore _b = null!;

    public async Task InitializeAsync()
    {
        _database = await TestPostgres.CreateDatabaseAsync(nameof(PostgresMetadataStoreConcurrencyTests));
        _nodeA = new PostgresDatabase(_database.ConnectionString);
        _nodeB = new PostgresDatabase(_database.ConnectionString);
        new PostgresMigrator(_nodeA).Migrate();
        _a = new PostgresMetadataStore(_nodeA, _clock);
        _b = new PostgresMetadataStore(_nodeB, _clock);
        await CreateProjectAsync("project");
    }

    public async Task DisposeAsync()
    {
        await _nodeA.DisposeAsync();
        await _nodeB.DisposeAsync();
        await _database.DisposeAsync();
    }

    private PostgresMetadataStore Node(int i) => i % 2 == 0 ? _a : _b;

    private IProjectStore Projects(int i) => new PostgresProjectStore(i % 2 == 0 ? _nodeA : _nodeB, _clock);

    [Fact]
    public async Task AdvanceAsync_TwoNodesAtTheSameOffset_ExactlyOneAdvancesEachRound()
    {
        var repository = RepositoryName.Parse("project/app");
        await ((IUploadSessionStore)_a).CreateAsync(new UploadSession("up", repository, _clock.GetUtcNow(), _clock.GetUtcNow()), None);
        long offset = 0;
        for (var round = 0; round < 25; round++)
        {
            // Four requests on each node, all appending at the acknowledged offset with their own hash and store states.
            var from = offset;
            var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
                Node(i).AdvanceAsync("up", from, from + 10 + i, [(byte)round, (byte)i], $"state-{round}-{i}", _clock.GetUtcNow(), None))));

            Assert.Single(results, r => r == UploadAdvanceResult.Advanced);
            Assert.Equal(7, results.Count(r => r == UploadAdvanceResult.OffsetMismatch));
            var winner = Array.IndexOf(results, UploadAdvanceResult.Advanced);
            var session = await _b.GetAsync("up", None);
            Assert.Equal(from + 10 + winner, session!.Offset);
            Assert.Equal([(byte)round, (byte)winner], session.HashState!);
            Assert.Equal($"state-{round}-{winner}", session.StoreState);
            offset = session.Offset!.Value;
        }
    }

    [Fact]
    public async Task AdvanceAsync_RacingCompleteOnTheOtherNode_IsAdvancedOrSessionNotFoundNeverAMismatch()
    {
        var repository = RepositoryName.Parse("project/app");
        for (var round = 0; round < 20; round++)
        {
            var id = "up-" + round;
            await _a.CreateAsync(new UploadSession(id, repository, _clock.GetUtcNow(), _clock.GetUtcNow()), None);

            var advance = Task.Run(() => _a.AdvanceAsync(id, 0, 10, [1], null, _clock.GetUtcNow(), None));
            var complete = Task.Run(() => _b.CompleteAsync(id, repository, Blob(round), 10, None));
            await Task.WhenAll(advance, complete);

            Assert.Equal(UploadCompleteResult.Completed, await complete);
            Assert.NotEqual(UploadAdvanceResult.OffsetMismatch, await advance);
            Assert.Null(await _a.GetAsync(id, None));
            Assert.Equal(10L, await _a.GetLinkedSizeAsync(repository, Blob(round), None));
        }
    }

    [Fact]
    public async Task PutAsync_TwentyParallelPushesOfOneTagOnTwoNodes_TagEndsOnOneAndPreviousTargetsFormOneChain()
    {
        var repository = RepositoryName.Parse("project/app");
        var layer = new ManifestReference(Blob(1), 100, false);
        await _a.LinkAsync(repository, layer.Digest, layer.Size, None);
        var manifests = Enumerable.Range(0, 20).Select(Manifest).ToArray();

        var results = await Task.WhenAll(manifests.Select((m, i) => Task.Run(() =>
            Node(i).PutAsync(repository, m, [layer], Tag.Parse("latest"), None))));

        Assert.All(results, r => Assert.Equal(ManifestPutStatus.Stored, r.Status));
        var final = (await _a.GetAsync(repository, Reference.Of(Tag.Parse("latest")), None))!.Digest;
        // Serializable: the pushes happened one after another, each seeing where the one before left the tag. So
        // exactly one saw no tag, and every other manifest but the last was seen exactly once as the previous target.
        var previous = results.Select(r => r.PreviousTagTarget).ToList();
        Assert.Single(previous, p => p is null);
        var seen = previous.OfType<Digest>().ToList();
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(manifests.Select(m => m.Digest.ToString()).Where(d => d != final.ToString()).Order(StringComparer.Ordinal),
            seen.Select(d => d.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal(["latest"], (await _b.ListTagsAsync(repository, null, 10, None))!.Names);
        foreach (var m in manifests)
        {
            Assert.NotNull(await _b.GetAsync(repository, Reference.Of(m.Digest), None));
        }

        Assert.Equal(20L, await CountAsync("SELECT COUNT(*) FROM manifest_references WHERE digest = @x", Blob(1).ToString()));
        Assert.Equal(1L, await CountAsync("SELECT COUNT(*) FROM repositories WHERE name = @x", repository.Value));
    }

    [Fact]
    public async Task PutAsync_SameManifestAndTagIntoANewRepositoryFromBothNodes_OneRepositoryOneManifestBothStored()
    {
        for (var round = 0; round < 10; round++)
        {
            var repository = RepositoryName.Parse("project/new-" + round);
            var manifest = Manifest(round);

            var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() =>
                Node(i).PutAsync(repository, manifest, [], Tag.Parse("v1"), None))));

            Assert.All(results, r => Assert.Equal(ManifestPutStatus.Stored, r.Status));
            Assert.Single(results, r => r.PreviousTagTarget is null);
            Assert.Equal(1L, await CountAsync("SELECT COUNT(*) FROM repositories WHERE name = @x", repository.Value));
            Assert.Equal(manifest.Digest, (await _b.GetAsync(repository, Reference.Of(Tag.Parse("v1")), None))!.Digest);
        }
    }

    [Fact]
    public async Task LinkAsync_SameBlobFromTwoRepositoriesOnTwoNodes_BothLinkedOneBlobRow()
    {
        for (var round = 0; round < 15; round++)
        {
            var digest = Blob(100 + round);
            // Two existing-to-be repositories, each linked from both nodes at once, all new in this round.
            var repositories = new[] { RepositoryName.Parse($"project/a{round}"), RepositoryName.Parse($"project/b{round}") };

            var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
                Node(i).LinkAsync(repositories[(i / 2) % 2], digest, 42, None))));

            Assert.All(results, r => Assert.Equal(BlobLinkResult.Linked, r));
            foreach (var repository in repositories)
            {
                Assert.Equal(42L, await _a.GetLinkedSizeAsync(repository, digest, None));
                Assert.Equal(42L, await _b.GetLinkedSizeAsync(repository, digest, None));
            }

            Assert.Equal(1L, await CountAsync("SELECT COUNT(*) FROM blobs WHERE digest = @x", digest.ToString()));
            Assert.Equal(2L, await CountAsync("SELECT COUNT(*) FROM repository_blobs WHERE digest = @x", digest.ToString()));
        }
    }

    [Fact]
    public async Task LinkAndPut_RacingTheDeleteOfTheirProject_NeverLeaveARepositoryWithoutItsProject()
    {
        for (var round = 0; round < 20; round++)
        {
            var project = "doomed" + round;
            await CreateProjectAsync(project);
            var linked = RepositoryName.Parse(project + "/linked");
            var pushed = RepositoryName.Parse(project + "/pushed");
            if (round % 2 == 1)
            {
                // Half the rounds race writes into a repository that exists already.
                await _a.LinkAsync(linked, Blob(1), 1, None);
                await _a.PutAsync(pushed, Manifest(1), [], null, None);
            }

            var link = Task.Run(() => _a.LinkAsync(linked, Blob(2), 2, None));
            var put = Task.Run(() => _b.PutAsync(pushed, Manifest(2), [], Tag.Parse("v1"), None));
            var delete = Task.Run(() => DeleteProjectAsync(_nodeB, project));
            await Task.WhenAll(link, put, delete);

            // The project is gone, and with it everything, whichever order the three committed in.
            Assert.Equal(0L, await CountAsync("SELECT COUNT(*) FROM repositories WHERE name LIKE @x", project + "%"));
            Assert.Equal(0L, await CountAsync(
                "SELECT COUNT(*) FROM repositories r WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE r.name = p.name OR starts_with(r.name, p.name || '/'))", ""));
            Assert.False(await _a.ExistsAsync(linked, None));
            Assert.Null(await _a.GetAsync(pushed, Reference.Of(Tag.Parse("v1")), None));
        }
    }

    [Fact]
    public async Task ProjectDelete_WhileEightWritersPushIntoItOnTwoNodes_SucceedsEveryRoundAndLeavesNothing()
    {
        // Stop 23's CI: a forced project delete racing four pushers lost every SERIALIZABLE retry and answered 500.
        for (var round = 0; round < 5; round++)
        {
            var project = "busy" + round;
            await CreateProjectAsync(project);
            using var stop = new CancellationTokenSource();
            var writes = 0;
            var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                var repository = RepositoryName.Parse($"{project}/app{w % 3}");
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var n = (round * 100_000) + (w * 10_000) + i;
                    await Node(w).LinkAsync(repository, Blob(n), 1, None);
                    await Node(w + 1).PutAsync(repository, Manifest(n), [], Tag.Parse("v" + (i % 4)), None);
                    Interlocked.Increment(ref writes);
                }
            })).ToList();

            while (Volatile.Read(ref writes) < 40)
            {
                await Task.Delay(5);
            }

            var deleted = await Projects(round).DeleteAsync(ProjectName.Parse(project), force: true, None);
            await stop.CancelAsync();
            await Task.WhenAll(writers);

            Assert.Equal(ProjectDeleteStatus.Deleted, deleted.Status);
            Assert.NotEmpty(deleted.Deleted!.Repositories);
            Assert.Equal(0L, await CountAsync("SELECT COUNT(*) FROM repositories WHERE starts_with(name, @x)", project + "/"));
            Assert.Equal(0L, await CountAsync("SELECT COUNT(*) FROM projects WHERE name = @x", project));
        }
    }

    [Fact]
    public async Task PutAsync_SixteenWritersIntoNeighbouringNewRepositories_EveryPutStoredNoneFails()
    {
        // The scale-out benchmark's populate: 16 clients pushing into r00001, r00002, ... on PostgreSQL answered a few
        // 500s when SERIALIZABLE's predicate locks on shared index pages aborted a put twelve times in a row.
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var stored = 0;
            for (var i = 0; i < 40; i++)
            {
                var repository = RepositoryName.Parse($"project/r{(i * 16) + w:D5}");
                var n = 1_000_000 + (w * 1000) + i;
                await Node(w).LinkAsync(repository, Blob(n), 1, None);
                var put = await Node(w + i).PutAsync(repository, Manifest(n), [new ManifestReference(Blob(n), 1, IsManifest: false)], Tag.Parse("v" + (i % 3)), None);
                stored += put.Status == ManifestPutStatus.Stored ? 1 : 0;
            }

            return stored;
        })));

        Assert.All(results, r => Assert.Equal(40, r));
        Assert.Equal(640L, await CountAsync("SELECT COUNT(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE starts_with(r.name, @x)", "project/r"));
    }

    [Fact]
    public async Task RecordPullsAsync_BothNodesAtOnce_LatestPullWins()
    {
        var repository = RepositoryName.Parse("project/app");
        var manifest = Manifest(1);
        await _a.PutAsync(repository, manifest, [], Tag.Parse("a"), None);
        await _a.PutAsync(repository, manifest, [], Tag.Parse("b"), None);
        var t0 = _clock.GetUtcNow();

        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => Node(i).RecordPullsAsync(
        [
            new PullRecord(repository, manifest.Digest, Tag.Parse("a"), t0.AddMinutes(i)),
            new PullRecord(repository, manifest.Digest, null, t0.AddMinutes(i).AddSeconds(-1)),
            new PullRecord(repository, manifest.Digest, Tag.Parse("a"), t0.AddMinutes(i).AddSeconds(-2)),
        ], None))));

        Assert.Equal(t0.AddMinutes(9).ToUnixTimeMilliseconds(), await CountAsync("SELECT m.last_pulled_at FROM manifests m WHERE m.digest = @x", manifest.Digest.ToString()));
        Assert.Equal(t0.AddMinutes(9).ToUnixTimeMilliseconds(), await CountAsync("SELECT last_pulled_at FROM tags WHERE name = 'a' AND manifest_digest = @x", manifest.Digest.ToString()));
        Assert.Equal(t0.AddMinutes(9).AddSeconds(-1).ToUnixTimeMilliseconds(), await CountAsync("SELECT last_pulled_at FROM tags WHERE name = 'b' AND manifest_digest = @x", manifest.Digest.ToString()));
    }

    // ---------------------------------------------------------------- helpers

    private static Digest Blob(int n) => Digest.Compute(DigestAlgorithm.Sha256, Encoding.UTF8.GetBytes("blob-" + n));

    private ManifestRecord Manifest(int n)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","n":{{n}}}""");
        return new ManifestRecord(Digest.Compute(DigestAlgorithm.Sha256, body), MediaTypes.OciManifest, body, null, null, null, _clock.GetUtcNow());
    }

    private Task CreateProjectAsync(string name) =>
        _nodeA.ExecuteAsync("INSERT INTO projects (name, visibility, created_at) VALUES (@name, 'private', 0)", None, ("name", name));

    /// <summary>The project's delete as the access store does it (the registry tables locked first, then one serializable write).</summary>
    private async Task DeleteProjectAsync(PostgresDatabase db, string project)
    {
        var deleted = await ((IProjectStore)new PostgresProjectStore(db, _clock)).DeleteAsync(ProjectName.Parse(project), force: true, None);
        Assert.Equal(ProjectDeleteStatus.Deleted, deleted.Status);
    }

    private Task<long> CountAsync(string sql, string x) =>
        _nodeA.ReadAsync(async (c, ct) =>
        {
            await using var command = PostgresDatabase.Command(c, sql, ("x", x));
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, None);
}
