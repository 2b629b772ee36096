using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Metadata.Postgres;
using Berth.Testing.Servers;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Berth.Metadata.Postgres.Tests;

/// <summary>
/// What only several nodes on one PostgreSQL database can do to the access stores: two store instances, each with its
/// own connection pool (two nodes), racing the same writes. Each race runs several rounds so that the writes overlap
/// in the database, not only in the test.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
public sealed class PostgresAccessNodeTests(SchemaPerTestDatabase server) : IClassFixture<SchemaPerTestDatabase>, IAsyncLifetime
{
    private const int Rounds = 8;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private string _schema = "";
    private string _connectionString = "";
    private PostgresDatabase _a = null!;
    private PostgresDatabase _b = null!;

    private static CancellationToken Ct => CancellationToken.None;

    public async Task InitializeAsync()
    {
        (_connectionString, _schema) = await server.CreateSchemaAsync();
        _a = new PostgresDatabase(_connectionString);
        _b = new PostgresDatabase(_connectionString);
        new PostgresMigrator(_a).Migrate();
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await server.DropSchemaAsync(_schema);
    }

    /// <summary>Starts both at the same moment on pool threads and waits for both.</summary>
    private static async Task<(T A, T B)> AtOnceAsync<T>(Func<Task<T>> a, Func<Task<T>> b)
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = Task.Run(async () => { await go.Task; return await a(); });
        var second = Task.Run(async () => { await go.Task; return await b(); });
        go.SetResult();
        return (await first, await second);
    }

    private IUserStore Users(PostgresDatabase node) => new PostgresUserStore(node, _clock);

    private IAccessTokenStore Tokens(PostgresDatabase node) => new PostgresAccessTokenStore(node, _clock);

    private IProjectStore Projects(PostgresDatabase node) => new PostgresProjectStore(node, _clock);

    private IMembershipStore Memberships(PostgresDatabase node) => new PostgresMembershipStore(node, _clock);

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private AccessToken Token(TokenOwner owner, string name, string lookupId) => new()
    {
        LookupId = lookupId,
        SecretHash = new string('a', 64),
        Name = name,
        Owner = owner,
        Scope = AccessTokenScope.PullPush,
        CreatedAt = _clock.GetUtcNow(),
        ExpiresAt = _clock.GetUtcNow().AddDays(90),
    };

    // ------------------------------------------------------------------ users

    [Fact]
    public async Task UserCreate_TwoNodesSameNameDifferingInCase_ExactlyOneIsCreatedTheOtherIsDuplicate()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var name = "alice" + round;
            var (a, b) = await AtOnceAsync(
                () => Users(_a).CreateAsync(UserName.Parse(name.ToUpperInvariant()), "$h", false, Ct),
                () => Users(_b).CreateAsync(UserName.Parse(name), "$h", false, Ct));

            Assert.Equal([UserCreateStatus.Created, UserCreateStatus.Duplicate], new[] { a.Status, b.Status }.Order());
            var winner = a.User ?? b.User!;
            Assert.Null((a.Status == UserCreateStatus.Duplicate ? a : b).User);
            Assert.Equal(winner.Id, (await Users(_b).GetAsync(UserName.Parse(name), Ct))!.Id);
            Assert.Equal(winner.Id, (await Users(_a).GetAsync(UserName.Parse(name.ToUpperInvariant()), Ct))!.Id);
        }

        Assert.Equal(Rounds, await ScalarAsync("SELECT COUNT(*) FROM users"));
    }

    [Fact]
    public async Task UserSetAdministrator_TwoNodesDemoteTheLastTwoAdministrators_OneIsRefusedAndOneAdministratorStays()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var alice = (await Users(_a).CreateAsync(UserName.Parse("alice" + round), "$h", true, Ct)).User!;
            var bob = (await Users(_a).CreateAsync(UserName.Parse("bob" + round), "$h", true, Ct)).User!;

            var (a, b) = await AtOnceAsync(
                () => Users(_a).SetAdministratorAsync(alice.Id, false, Ct),
                () => Users(_b).SetAdministratorAsync(bob.Id, false, Ct));

            Assert.Equal([UserUpdateStatus.Updated, UserUpdateStatus.LastAdministrator], new[] { a, b }.Order());
            Assert.Equal(1, await Users(_b).CountAdministratorsAsync(Ct));

            // Leave none for the next round: the survivor is demoted once another administrator exists.
            var survivor = a == UserUpdateStatus.LastAdministrator ? alice : bob;
            Assert.Equal(UserDeleteStatus.LastAdministrator, await Users(_a).DeleteAsync(survivor.Id, Ct));
            await Users(_a).DeleteAsync(a == UserUpdateStatus.LastAdministrator ? bob.Id : alice.Id, Ct);
            await NonQueryAsync($"UPDATE users SET is_admin = false WHERE id = {survivor.Id}");
        }
    }

    [Fact]
    public async Task UserDeleteAndDisable_TwoNodesRemoveTheLastTwoAdministratorsDifferently_OneIsRefused()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var alice = (await Users(_a).CreateAsync(UserName.Parse("alice" + round), "$h", true, Ct)).User!;
            var bob = (await Users(_a).CreateAsync(UserName.Parse("bob" + round), "$h", true, Ct)).User!;

            var (deleted, disabled) = await AtOnceAsync(
                async () => (int)await Users(_a).DeleteAsync(alice.Id, Ct),
                async () => (int)await Users(_b).SetDisabledAsync(bob.Id, true, Ct));

            var refused = (deleted == (int)UserDeleteStatus.LastAdministrator ? 1 : 0) + (disabled == (int)UserUpdateStatus.LastAdministrator ? 1 : 0);
            Assert.Equal(1, refused);
            Assert.Equal(1, await Users(_b).CountAdministratorsAsync(Ct));
            await NonQueryAsync("UPDATE users SET is_admin = false");
        }
    }

    // ------------------------------------------------------------------ memberships

    [Fact]
    public async Task MembershipAdd_TwoNodesAddTheSameUserWithDifferentRoles_OneIsAddedTheOtherFindsTheMember()
    {
        // The contract lets a project be left without owners, so the race to check is the one it does forbid: two
        // memberships of one user in one project.
        await Projects(_a).CreateAsync(ProjectName.Parse("shop"), "", ProjectVisibility.Private, Ct);
        for (var round = 0; round < Rounds; round++)
        {
            var user = (await Users(_a).CreateAsync(UserName.Parse("user" + round), "$h", false, Ct)).User!;

            var (a, b) = await AtOnceAsync(
                () => Memberships(_a).AddAsync(ProjectName.Parse("shop"), user.Id, ProjectRole.Owner, Ct),
                () => Memberships(_b).AddAsync(ProjectName.Parse("shop"), user.Id, ProjectRole.Reader, Ct));

            Assert.Equal([MembershipAddStatus.Added, MembershipAddStatus.AlreadyMember], new[] { a, b }.Order());
            var role = Assert.Single(await Memberships(_b).ListByUserAsync(user.Id, Ct)).Role;
            Assert.Equal(a == MembershipAddStatus.Added ? ProjectRole.Owner : ProjectRole.Reader, role);
        }
    }

    [Fact]
    public async Task MembershipAdd_RacingTheProjectsDelete_LeavesNoMemberOfAProjectThatIsGone()
    {
        var user = (await Users(_a).CreateAsync(UserName.Parse("alice"), "$h", false, Ct)).User!;
        for (var round = 0; round < Rounds; round++)
        {
            await Projects(_a).CreateAsync(ProjectName.Parse("shop"), "", ProjectVisibility.Private, Ct);

            var (deleted, added) = await AtOnceAsync(
                async () => (int)(await Projects(_a).DeleteAsync(ProjectName.Parse("shop"), false, Ct)).Status,
                async () => (int)await Memberships(_b).AddAsync(ProjectName.Parse("shop"), user.Id, ProjectRole.Owner, Ct));

            Assert.Equal((int)ProjectDeleteStatus.Deleted, deleted);
            Assert.Contains(added, new[] { (int)MembershipAddStatus.Added, (int)MembershipAddStatus.ProjectNotFound });
            Assert.Empty(await Memberships(_b).ListByUserAsync(user.Id, Ct));
            Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM project_members"));
        }
    }

    // ------------------------------------------------------------------ tokens

    [Fact]
    public async Task TokenRevoke_ThroughOneNode_IsSeenByTheOtherAtOnce()
    {
        var alice = (await Users(_a).CreateAsync(UserName.Parse("alice"), "$h", false, Ct)).User!;
        var token = (await Tokens(_a).CreateAsync(Token(TokenOwner.User(alice.Id, "alice"), "ci", "lookup-ci"), Ct)).Token!;
        Assert.Null((await Tokens(_b).FindByLookupIdAsync("lookup-ci", Ct))!.RevokedAt);
        _clock.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(TokenRevokeStatus.Revoked, await Tokens(_a).RevokeAsync(token.Id, Ct));

        Assert.Equal(_clock.GetUtcNow(), (await Tokens(_b).FindByLookupIdAsync("lookup-ci", Ct))!.RevokedAt);
        Assert.Equal(TokenRevokeStatus.AlreadyRevoked, await Tokens(_b).RevokeAsync(token.Id, Ct));
    }

    [Fact]
    public async Task TokenRevoke_TwoNodesAtOnce_OneRevokesAndTheFirstTimeIsKept()
    {
        var alice = (await Users(_a).CreateAsync(UserName.Parse("alice"), "$h", false, Ct)).User!;
        for (var round = 0; round < Rounds; round++)
        {
            var token = (await Tokens(_a).CreateAsync(Token(TokenOwner.User(alice.Id, "alice"), "ci" + round, "lookup" + round), Ct)).Token!;

            var (a, b) = await AtOnceAsync(() => Tokens(_a).RevokeAsync(token.Id, Ct), () => Tokens(_b).RevokeAsync(token.Id, Ct));

            Assert.Equal([TokenRevokeStatus.Revoked, TokenRevokeStatus.AlreadyRevoked], new[] { a, b }.Order());
            Assert.Equal(_clock.GetUtcNow(), (await Tokens(_b).GetAsync(token.Id, Ct))!.RevokedAt);
        }
    }

    [Fact]
    public async Task TokenCreate_TwoNodesSameNameForOneOwner_OneIsCreatedTheOtherIsDuplicateName()
    {
        var alice = (await Users(_a).CreateAsync(UserName.Parse("alice"), "$h", false, Ct)).User!;
        var owner = TokenOwner.User(alice.Id, "alice");
        for (var round = 0; round < Rounds; round++)
        {
            var (a, b) = await AtOnceAsync(
                () => Tokens(_a).CreateAsync(Token(owner, "ci" + round, "a" + round), Ct),
                () => Tokens(_b).CreateAsync(Token(owner, "ci" + round, "b" + round), Ct));

            Assert.Equal([TokenCreateStatus.Created, TokenCreateStatus.DuplicateName], new[] { a.Status, b.Status }.Order());
        }

        Assert.Equal(Rounds, await ScalarAsync("SELECT COUNT(*) FROM access_tokens"));
    }

    [Fact]
    public async Task TokenCreate_TwoNodesSameLookupId_OneIsCreatedTheOtherIsDuplicateLookupId()
    {
        var alice = (await Users(_a).CreateAsync(UserName.Parse("alice"), "$h", false, Ct)).User!;
        var owner = TokenOwner.User(alice.Id, "alice");
        for (var round = 0; round < Rounds; round++)
        {
            var (a, b) = await AtOnceAsync(
                () => Tokens(_a).CreateAsync(Token(owner, "a" + round, "same" + round), Ct),
                () => Tokens(_b).CreateAsync(Token(owner, "b" + round, "same" + round), Ct));

            Assert.Equal([TokenCreateStatus.Created, TokenCreateStatus.DuplicateLookupId], new[] { a.Status, b.Status }.Order());
        }
    }

    [Fact]
    public async Task TokenSetLastUsed_TwoNodesAtOnce_TheLaterTimeWins()
    {
        var alice = (await Users(_a).CreateAsync(UserName.Parse("alice"), "$h", false, Ct)).User!;
        var token = (await Tokens(_a).CreateAsync(Token(TokenOwner.User(alice.Id, "alice"), "ci", "lookup-ci"), Ct)).Token!;
        var start = _clock.GetUtcNow();
        for (var round = 0; round < Rounds; round++)
        {
            var later = start.AddMinutes(2 * round + 2);
            var (a, b) = await AtOnceAsync(
                () => Tokens(_a).SetLastUsedAsync(token.Id, later, Ct),
                () => Tokens(_b).SetLastUsedAsync(token.Id, later.AddMinutes(-1), Ct));

            Assert.Equal((UpdateResult.Updated, UpdateResult.Updated), (a, b));
            Assert.Equal(later, (await Tokens(_b).GetAsync(token.Id, Ct))!.LastUsedAt);
        }
    }

    private async Task NonQueryAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
