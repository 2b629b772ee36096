using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth.Access.Conformance;

public abstract partial class AccessStoreConformance
{
    [Fact]
    public async Task TokenCreate_UserToken_IsStoredWithIdAndTheOwnersCurrentName()
    {
        var alice = await CreateUserAsync("Alice");
        var token = NewToken(TokenOwner.User(alice.Id, "whatever the caller said"), "laptop") with
        {
            Scope = AccessTokenScope.PullPushDelete,
            Projects = ["shop", "tools"],
            LastUsedAt = Start.AddMinutes(1),
        };

        var result = await Tokens.CreateAsync(token, Ct);

        Assert.Equal(TokenCreateStatus.Created, result.Status);
        var stored = result.Token!;
        Assert.True(stored.Id > 0);
        Assert.Equal(TokenOwner.User(alice.Id, "Alice"), stored.Owner);
        AssertSameToken(token with { Id = stored.Id, Owner = stored.Owner }, stored);
        AssertSameToken(stored, await Tokens.GetAsync(stored.Id, Ct));
        AssertSameToken(stored, await Tokens.FindByLookupIdAsync(token.LookupId, Ct));
    }

    [Fact]
    public async Task TokenCreate_RobotToken_OwnerNameIsTheRobotsFullName()
    {
        await CreateProjectAsync("shop");
        var robot = await CreateRobotAsync("shop", "ci");

        var stored = await CreateTokenAsync(TokenOwner.Robot(robot.Id, "x"));

        Assert.Equal(TokenOwner.Robot(robot.Id, "shop+ci"), stored.Owner);
        Assert.Null(stored.Projects);
        Assert.Equal(TokenOwner.Robot(robot.Id, "shop+ci"), (await Tokens.FindByLookupIdAsync(stored.LookupId, Ct))!.Owner);
    }

    [Fact]
    public async Task TokenCreate_UnknownOwner_IsReported()
    {
        var alice = await CreateUserAsync("alice");

        Assert.Equal(TokenCreateStatus.OwnerNotFound, (await Tokens.CreateAsync(NewToken(TokenOwner.User(alice.Id + 1000, "ghost")), Ct)).Status);

        // Owner kinds are separate: no robot account exists, whatever ids users have.
        Assert.Equal(TokenCreateStatus.OwnerNotFound, (await Tokens.CreateAsync(NewToken(TokenOwner.Robot(alice.Id, "alice")), Ct)).Status);
        Assert.Empty((await Tokens.ListByOwnerAsync(TokenOwnerKind.Robot, alice.Id, null, 10, Ct)).Items);
        Assert.Empty((await Tokens.ListByOwnerAsync(TokenOwnerKind.User, alice.Id, null, 10, Ct)).Items);
    }

    [Fact]
    public async Task TokenCreate_DuplicateLookupId_IsReported()
    {
        var alice = await CreateUserAsync("alice");
        var bob = await CreateUserAsync("bob");
        var first = await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"));

        var again = await Tokens.CreateAsync(NewToken(TokenOwner.User(bob.Id, "bob"), "other", lookupId: first.LookupId), Ct);

        Assert.Equal(TokenCreateStatus.DuplicateLookupId, again.Status);
        Assert.Null(again.Token);
        Assert.Equal(alice.Id, (await Tokens.FindByLookupIdAsync(first.LookupId, Ct))!.Owner.Id);
    }

    [Fact]
    public async Task TokenCreate_NameOfAnActiveTokenOfTheSameOwner_IsDuplicate()
    {
        var alice = await CreateUserAsync("alice");
        await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"), "laptop");

        var again = await Tokens.CreateAsync(NewToken(TokenOwner.User(alice.Id, "alice"), "laptop"), Ct);

        Assert.Equal(TokenCreateStatus.DuplicateName, again.Status);
        Assert.Single((await Tokens.ListByOwnerAsync(TokenOwnerKind.User, alice.Id, null, 10, Ct)).Items);
    }

    [Fact]
    public async Task TokenCreate_NameOfARevokedTokenOrOfAnotherOwner_IsAllowed()
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");
        var bob = await CreateUserAsync("bob");
        var robot = await CreateRobotAsync("shop", "ci");
        var old = await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"), "laptop");
        await Tokens.RevokeAsync(old.Id, Ct);

        await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"), "laptop");
        await CreateTokenAsync(TokenOwner.User(bob.Id, "bob"), "laptop");
        await CreateTokenAsync(TokenOwner.Robot(robot.Id, robot.FullName), "laptop");

        Assert.Equal(2, (await Tokens.ListByOwnerAsync(TokenOwnerKind.User, alice.Id, null, 10, Ct)).Items.Count);
    }

    [Fact]
    public async Task TokenFindByLookupId_IsExactAndCaseSensitive()
    {
        var alice = await CreateUserAsync("alice");
        var token = await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"));

        Assert.NotNull(await Tokens.FindByLookupIdAsync(token.LookupId, Ct));
        Assert.Null(await Tokens.FindByLookupIdAsync(token.LookupId.ToUpperInvariant(), Ct));
        Assert.Null(await Tokens.FindByLookupIdAsync(token.LookupId[..^1], Ct));
        Assert.Null(await Tokens.FindByLookupIdAsync("", Ct));
        Assert.Null(await Tokens.GetAsync(token.Id + 1000, Ct));
    }

    [Fact]
    public async Task TokenListByOwner_SeveralPages_OldestFirstCompleteAndOnlyThatOwner()
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");
        var bob = await CreateUserAsync("bob");
        var robot = await CreateRobotAsync("shop", "ci");
        var expected = new List<long>();
        for (var i = 0; i < 8; i++)
        {
            expected.Add((await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"), "t" + i)).Id);
            await CreateTokenAsync(TokenOwner.User(bob.Id, "bob"), "t" + i);
            await CreateTokenAsync(TokenOwner.Robot(robot.Id, robot.FullName), "t" + i);
        }

        await Tokens.RevokeAsync(expected[2], Ct);

        var all = await ReadAllPagesAsync<AccessToken>(last => Tokens.ListByOwnerAsync(TokenOwnerKind.User, alice.Id, last?.Id, 3, Ct), 3);

        Assert.Equal(expected, all.Select(t => t.Id));
        Assert.All(all, t => Assert.Equal(TokenOwner.User(alice.Id, "alice"), t.Owner));
        Assert.NotNull(all[2].RevokedAt);
        Assert.Equal(8, (await Tokens.ListByOwnerAsync(TokenOwnerKind.Robot, robot.Id, null, 100, Ct)).Items.Count);
    }

    [Fact]
    public async Task TokenRevoke_Active_RecordsTheStoreClock()
    {
        var alice = await CreateUserAsync("alice");
        var token = await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"));
        Clock.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(TokenRevokeStatus.Revoked, await Tokens.RevokeAsync(token.Id, Ct));

        var stored = await Tokens.FindByLookupIdAsync(token.LookupId, Ct);
        Assert.Equal(Start.AddMinutes(5), stored!.RevokedAt);
        Assert.True(stored.IsRevoked);
        Assert.False(stored.IsActive(Start.AddMinutes(6)));
    }

    [Fact]
    public async Task TokenRevoke_AlreadyRevoked_KeepsTheFirstRevocationTime()
    {
        var alice = await CreateUserAsync("alice");
        var token = await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"));
        await Tokens.RevokeAsync(token.Id, Ct);
        Clock.Advance(TimeSpan.FromDays(1));

        Assert.Equal(TokenRevokeStatus.AlreadyRevoked, await Tokens.RevokeAsync(token.Id, Ct));

        Assert.Equal(Start, (await Tokens.GetAsync(token.Id, Ct))!.RevokedAt);
    }

    [Fact]
    public async Task TokenRevoke_Missing_ReportsNotFound()
    {
        Assert.Equal(TokenRevokeStatus.NotFound, await Tokens.RevokeAsync(42, Ct));
    }

    [Fact]
    public async Task TokenSetLastUsed_OnlyMovesForward()
    {
        var alice = await CreateUserAsync("alice");
        var token = await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"));
        Assert.Null(token.LastUsedAt);

        Assert.Equal(UpdateResult.Updated, await Tokens.SetLastUsedAsync(token.Id, Start.AddMinutes(10), Ct));
        Assert.Equal(UpdateResult.Updated, await Tokens.SetLastUsedAsync(token.Id, Start.AddMinutes(3), Ct));

        Assert.Equal(Start.AddMinutes(10), (await Tokens.GetAsync(token.Id, Ct))!.LastUsedAt);
        Assert.Equal(UpdateResult.Updated, await Tokens.SetLastUsedAsync(token.Id, Start.AddMinutes(20), Ct));
        Assert.Equal(Start.AddMinutes(20), (await Tokens.GetAsync(token.Id, Ct))!.LastUsedAt);
    }

    [Fact]
    public async Task TokenSetLastUsed_Missing_ReportsNotFound()
    {
        Assert.Equal(UpdateResult.NotFound, await Tokens.SetLastUsedAsync(42, Start, Ct));
    }

    [Fact]
    public async Task TokenCreate_EmptyProjectList_Throws()
    {
        var alice = await CreateUserAsync("alice");

        await Assert.ThrowsAsync<ArgumentException>(() => Tokens.CreateAsync(NewToken(TokenOwner.User(alice.Id, "alice"), projects: []), Ct));
    }

    private static void AssertSameToken(AccessToken expected, AccessToken? actual)
    {
        Assert.NotNull(actual);

        // Records compare lists by reference; compare the project lists by content.
        Assert.Equal(expected.Projects, actual.Projects);
        Assert.Equal(expected with { Projects = null }, actual with { Projects = null });
    }
}
