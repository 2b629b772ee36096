using System.Net;
using Berth.Auth.Throttling;
using Berth.Core.Access;
using Berth.Testing.Servers;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Metadata.Postgres.Tests;

/// <summary>
/// The login throttle's counts in PostgreSQL: the store's own contract, and two nodes (two pools on one database, each
/// with its own <see cref="LoginThrottle"/>) counting the same guesses.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
public sealed class PostgresLoginFailureStoreTests(SchemaPerTestDatabase server) : IClassFixture<SchemaPerTestDatabase>, IAsyncLifetime
{
    private static readonly IPAddress Home = IPAddress.Parse("198.51.100.7");
    private static readonly IPAddress Office = IPAddress.Parse("203.0.113.9");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private string _schema = "";
    private PostgresDatabase _a = null!;
    private PostgresDatabase _b = null!;

    private static CancellationToken Ct => CancellationToken.None;

    public async Task InitializeAsync()
    {
        string connectionString;
        (connectionString, _schema) = await server.CreateSchemaAsync();
        _a = new PostgresDatabase(connectionString);
        _b = new PostgresDatabase(connectionString);
        new PostgresMigrator(_a).Migrate();
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await server.DropSchemaAsync(_schema);
    }

    private LoginThrottle Throttle(PostgresDatabase node, LoginThrottleOptions? options = null) =>
        new(Options.Create(options ?? new LoginThrottleOptions()), _clock, new PostgresLoginFailureStore(node));

    private static LoginFailureCount Count(int failures, DateTimeOffset last, DateTimeOffset locked) => new(failures, last, locked);

    [Fact]
    public async Task UpdateAsync_NewAndExistingKeys_PassesCurrentCountAndStoresTheResult()
    {
        ILoginFailureStore store = new PostgresLoginFailureStore(_a);
        var now = _clock.GetUtcNow();
        var seen = new List<(string, LoginFailureCount?)>();

        await store.UpdateAsync(["k1", "k2"], (key, current) => { seen.Add((key, current)); return Count(1, now, now.AddSeconds(5)); }, Ct);
        await store.UpdateAsync(["k1"], (key, current) => { seen.Add((key, current)); return Count(current!.Value.Failures + 1, now, now.AddSeconds(9)); }, Ct);
        var counts = await store.GetAsync(["k1", "k2", "k3"], Ct);

        Assert.True(store.Shared);
        Assert.Equal([("k1", null), ("k2", null), ("k1", Count(1, now, now.AddSeconds(5)))], seen);
        Assert.Equal(Count(2, now, now.AddSeconds(9)), counts["k1"]);
        Assert.Equal(Count(1, now, now.AddSeconds(5)), counts["k2"]);
        Assert.False(counts.ContainsKey("k3"));
    }

    [Fact]
    public async Task RemoveAsync_Key_GoneOthersKept()
    {
        ILoginFailureStore store = new PostgresLoginFailureStore(_a);
        var now = _clock.GetUtcNow();
        await store.UpdateAsync(["k1", "k2"], (_, _) => Count(3, now, now), Ct);

        await store.RemoveAsync("k1", Ct);
        await store.RemoveAsync("never-stored", Ct);

        Assert.Equal(["k2"], (await store.GetAsync(["k1", "k2"], Ct)).Keys);
    }

    [Fact]
    public async Task PruneAsync_RemovesOnlyUnlockedAndForgottenCounts()
    {
        ILoginFailureStore store = new PostgresLoginFailureStore(_a);
        var now = _clock.GetUtcNow();
        var minute = TimeSpan.FromMinutes(1);
        await store.UpdateAsync(["forgotten"], (_, _) => Count(2, now - (2 * minute), now - minute), Ct);
        await store.UpdateAsync(["decaying"], (_, _) => Count(3, now - (2 * minute), now - minute), Ct);
        await store.UpdateAsync(["locked"], (_, _) => Count(1, now - (5 * minute), now + minute), Ct);

        var removed = await store.PruneAsync(now, minute, Ct);

        Assert.Equal(1, removed);
        Assert.Equal(["decaying", "locked"], (await store.GetAsync(["forgotten", "decaying", "locked"], Ct)).Keys.Order());
    }

    [Theory]
    [InlineData("")]
    [InlineData("nul\0inside")]
    public async Task UpdateAsync_KeyTheThrottleNeverMakes_RefusedAndNothingStored(string key)
    {
        ILoginFailureStore store = new PostgresLoginFailureStore(_a);

        await Assert.ThrowsAsync<ArgumentException>(() => store.UpdateAsync([key], (_, _) => Count(1, _clock.GetUtcNow(), _clock.GetUtcNow()), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.UpdateAsync([new string('k', ILoginFailureStore.MaxKeyLength + 1)], (_, _) => default, Ct));
    }

    [Fact]
    public async Task Throttle_FailuresSpreadOverTwoNodes_LockTheUserOnBoth()
    {
        var a = Throttle(_a);
        var b = Throttle(_b);

        for (var i = 0; i < 3; i++)
        {
            await a.RecordFailureAsync("alice", Home);
        }

        Assert.Null(await b.GetLockoutAsync("alice", Home));
        await b.RecordFailureAsync("alice", Home);
        await b.RecordFailureAsync("alice", Home); // the fifth failure in all: the free limit is 5

        Assert.Equal(TimeSpan.FromSeconds(1), await a.GetLockoutAsync("alice", Home));
        Assert.Equal(TimeSpan.FromSeconds(1), await b.GetLockoutAsync("alice", Home));
        Assert.Null(await a.GetLockoutAsync("alice", Office)); // the owner elsewhere is not locked out
        Assert.True(a.Shared);
    }

    [Fact]
    public async Task Throttle_SuccessOnOneNode_ClearsThePairCountOnTheOther()
    {
        var a = Throttle(_a);
        var b = Throttle(_b);
        for (var i = 0; i < 4; i++)
        {
            await a.RecordFailureAsync("alice", Home);
        }

        await b.RecordSuccessAsync("alice", Home);
        await a.RecordFailureAsync("alice", Home);

        Assert.Null(await b.GetLockoutAsync("alice", Home));
    }

    [Fact]
    public async Task Throttle_GuessesAtOnceFromBothNodes_EveryOneCounted()
    {
        var nodes = new[] { Throttle(_a), Throttle(_b) };
        const int Guesses = 40;
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var guesses = Enumerable.Range(0, Guesses)
            .Select(i => Task.Run(async () => { await go.Task; await nodes[i % 2].RecordFailureAsync("alice", Home); }))
            .ToArray();

        go.SetResult();
        await Task.WhenAll(guesses);

        // Each guess counts once against the pair, the address and the account, whichever node took it.
        var counts = await new PostgresLoginFailureStore(_a).GetAsync(["p:198.51.100.7|alice", "a:198.51.100.7", "u:alice"], Ct);
        Assert.Equal(3, counts.Count);
        Assert.All(counts.Values, c => Assert.Equal(Guesses, c.Failures));
    }

    [Fact]
    public async Task Throttle_HostileUserNames_StoredUnderBoundedKeysAndCountedApart()
    {
        var a = Throttle(_a, new LoginThrottleOptions { UserFreeFailures = 1 });
        var b = Throttle(_b, new LoginThrottleOptions { UserFreeFailures = 1 });
        string[] names = [new string('x', 5000), "alice\0bob", "al\uD800ice", "ali\u0001ce"];

        foreach (var name in names)
        {
            await a.RecordFailureAsync(name, Home);
        }

        foreach (var name in names)
        {
            Assert.NotNull(await b.GetLockoutAsync(name, Home));
        }

        Assert.Null(await b.GetLockoutAsync(new string('x', 5001), Home));
        Assert.Null(await b.GetLockoutAsync("alice", Home));
    }
}
