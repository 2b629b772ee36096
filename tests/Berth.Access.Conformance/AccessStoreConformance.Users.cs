using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth.Access.Conformance;

public abstract partial class AccessStoreConformance
{
    [Fact]
    public async Task UserCreate_New_IsStoredWithTheStoreClock()
    {
        var result = await Users.CreateAsync(U("Alice"), "$hash", isAdministrator: true, Ct);

        Assert.Equal(UserCreateStatus.Created, result.Status);
        var user = result.User!;
        Assert.True(user.Id > 0);
        Assert.Equal(new User(user.Id, U("Alice"), "$hash", true, false, Start) { SecurityStamp = user.SecurityStamp }, user);
        Assert.True(user.SecurityStamp.Length >= 16, "a new user has a random security stamp");
        Assert.Equal(user, await Users.GetAsync(user.Id, Ct));
    }

    [Fact]
    public async Task UserCreate_WithoutPasswordHash_KeepsNull()
    {
        var user = (await Users.CreateAsync(U("sso"), null, false, Ct)).User!;

        Assert.Null((await Users.GetAsync(user.Id, Ct))!.PasswordHash);
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("ALICE")]
    [InlineData("aLiCe")]
    public async Task UserCreate_SameNameInAnyCase_IsDuplicate(string again)
    {
        var first = await CreateUserAsync("Alice");

        var result = await Users.CreateAsync(U(again), "$other", true, Ct);

        Assert.Equal(UserCreateStatus.Duplicate, result.Status);
        Assert.Null(result.User);
        Assert.Equal(first, await Users.GetAsync(U("alice"), Ct));
    }

    [Fact]
    public async Task UserCreate_ConcurrentNamesDifferingInCase_ExactlyOneIsCreated()
    {
        string[] spellings = ["alice", "Alice", "ALICE", "aLICE", "alicE", "AlIcE"];

        var results = await Task.WhenAll(spellings.Select(name => Users.CreateAsync(U(name), null, false, Ct)));

        Assert.Single(results, r => r.Status == UserCreateStatus.Created);
        Assert.Single((await Users.ListAsync(null, 10, Ct)).Items);
    }

    [Fact]
    public async Task UserGet_ByNameInOtherCase_FindsTheUserWithItsOwnSpelling()
    {
        var alice = await CreateUserAsync("Alice");

        var found = await Users.GetAsync(U("aLICE"), Ct);

        Assert.Equal(alice.Id, found!.Id);
        Assert.Equal("Alice", found.Name.Value);
    }

    [Fact]
    public async Task UserGet_Missing_ReturnsNull()
    {
        var alice = await CreateUserAsync("alice");

        Assert.Null(await Users.GetAsync(U("alicia"), Ct));
        Assert.Null(await Users.GetAsync(alice.Id + 1000, Ct));
    }

    [Fact]
    public async Task UserList_SeveralPages_AreInCaseInsensitiveOrderAndComplete()
    {
        string[] names = ["bob", "Alice", "carol", "Dave", "eve", "Zed", "adam", "Bea", "b.c", "b_c", "b-c"];
        foreach (var name in names)
        {
            await CreateUserAsync(name);
        }

        var all = await ReadAllPagesAsync<User>(last => Users.ListAsync(last?.Name, 3, Ct), 3);

        // Ordinal order of the lower-cased names: '_' sorts before letters (upper-casing would put it after them).
        Assert.Equal(names.OrderBy(n => n.ToLowerInvariant(), StringComparer.Ordinal), all.Select(u => u.Name.Value));
    }

    [Fact]
    public async Task UserList_AfterANameInOtherCase_StartsAfterIt()
    {
        await CreateUserAsync("alice");
        await CreateUserAsync("Bob");
        await CreateUserAsync("carol");

        var page = await Users.ListAsync(U("BOB"), 10, Ct);

        Assert.Equal(["carol"], page.Items.Select(u => u.Name.Value));
        Assert.False(page.HasMore);
    }

    [Fact]
    public async Task UserSetPasswordHash_ReplacesItOrReportsNotFound()
    {
        var alice = await CreateUserAsync("alice");

        Assert.Equal(UpdateResult.Updated, await Users.SetPasswordHashAsync(alice.Id, "$new", Ct));
        Assert.Equal("$new", (await Users.GetAsync(alice.Id, Ct))!.PasswordHash);
        Assert.Equal(UpdateResult.Updated, await Users.SetPasswordHashAsync(alice.Id, null, Ct));
        Assert.Null((await Users.GetAsync(alice.Id, Ct))!.PasswordHash);
        Assert.Equal(UpdateResult.NotFound, await Users.SetPasswordHashAsync(alice.Id + 1000, "$x", Ct));
    }

    [Fact]
    public async Task UserSetAdministrator_GrantAndRemoveWhileAnotherAdministratorRemains()
    {
        var root = await CreateUserAsync("root", isAdministrator: true);
        var alice = await CreateUserAsync("alice");

        Assert.Equal(UserUpdateStatus.Updated, await Users.SetAdministratorAsync(alice.Id, true, Ct));
        Assert.Equal(2, await Users.CountAdministratorsAsync(Ct));
        Assert.Equal(UserUpdateStatus.Updated, await Users.SetAdministratorAsync(root.Id, false, Ct));

        Assert.False((await Users.GetAsync(root.Id, Ct))!.IsAdministrator);
        Assert.True((await Users.GetAsync(alice.Id, Ct))!.IsAdministrator);
        Assert.Equal(1, await Users.CountAdministratorsAsync(Ct));
    }

    [Fact]
    public async Task UserSetAdministrator_RemovingTheOnlyEnabledAdministrator_IsRefused()
    {
        var root = await CreateUserAsync("root", isAdministrator: true);
        var other = await CreateUserAsync("other", isAdministrator: true);
        await Users.SetDisabledAsync(other.Id, true, Ct);

        Assert.Equal(UserUpdateStatus.LastAdministrator, await Users.SetAdministratorAsync(root.Id, false, Ct));
        Assert.True((await Users.GetAsync(root.Id, Ct))!.IsAdministrator);

        // Granting what it already has, or changing a disabled administrator, is fine.
        Assert.Equal(UserUpdateStatus.Updated, await Users.SetAdministratorAsync(root.Id, true, Ct));
        Assert.Equal(UserUpdateStatus.Updated, await Users.SetAdministratorAsync(other.Id, false, Ct));
    }

    [Fact]
    public async Task UserSetDisabled_DisablesAndEnablesButNeverTheOnlyEnabledAdministrator()
    {
        var root = await CreateUserAsync("root", isAdministrator: true);
        var alice = await CreateUserAsync("alice");

        Assert.Equal(UserUpdateStatus.Updated, await Users.SetDisabledAsync(alice.Id, true, Ct));
        Assert.True((await Users.GetAsync(U("alice"), Ct))!.Disabled);
        Assert.Equal(UserUpdateStatus.Updated, await Users.SetDisabledAsync(alice.Id, false, Ct));
        Assert.False((await Users.GetAsync(U("alice"), Ct))!.Disabled);

        Assert.Equal(UserUpdateStatus.LastAdministrator, await Users.SetDisabledAsync(root.Id, true, Ct));
        Assert.False((await Users.GetAsync(root.Id, Ct))!.Disabled);
    }

    [Fact]
    public async Task UserUpdates_Missing_ReportNotFound()
    {
        Assert.Equal(UserUpdateStatus.NotFound, await Users.SetAdministratorAsync(42, true, Ct));
        Assert.Equal(UserUpdateStatus.NotFound, await Users.SetDisabledAsync(42, true, Ct));
        Assert.Equal(UserDeleteStatus.NotFound, await Users.DeleteAsync(42, Ct));
    }

    [Fact]
    public async Task UserDelete_TheOnlyEnabledAdministrator_IsRefused()
    {
        var root = await CreateUserAsync("root", isAdministrator: true);

        Assert.Equal(UserDeleteStatus.LastAdministrator, await Users.DeleteAsync(root.Id, Ct));
        Assert.NotNull(await Users.GetAsync(root.Id, Ct));

        var second = await CreateUserAsync("second", isAdministrator: true);
        Assert.Equal(UserDeleteStatus.Deleted, await Users.DeleteAsync(root.Id, Ct));
        Assert.Equal(UserDeleteStatus.LastAdministrator, await Users.DeleteAsync(second.Id, Ct));
    }

    [Fact]
    public async Task UserDelete_RemovesMembershipsAndTokensButNotOtherUsers()
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");
        var bob = await CreateUserAsync("bob");
        await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Owner, Ct);
        await Memberships.AddAsync(P("shop"), bob.Id, ProjectRole.Reader, Ct);
        var aliceToken = await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"));
        var bobToken = await CreateTokenAsync(TokenOwner.User(bob.Id, "bob"));

        Assert.Equal(UserDeleteStatus.Deleted, await Users.DeleteAsync(alice.Id, Ct));

        Assert.Null(await Users.GetAsync(alice.Id, Ct));
        Assert.Null(await Users.GetAsync(U("alice"), Ct));
        Assert.Equal(["bob"], (await Memberships.ListByProjectAsync(P("shop"), Ct)).Select(m => m.UserName.Value));
        Assert.Null(await Tokens.FindByLookupIdAsync(aliceToken.LookupId, Ct));
        Assert.NotNull(await Tokens.FindByLookupIdAsync(bobToken.LookupId, Ct));

        // The name is free again, and the new user inherits nothing.
        var again = await CreateUserAsync("Alice");
        Assert.NotEqual(alice.Id, again.Id);
        Assert.Empty(await Memberships.ListByUserAsync(again.Id, Ct));
        Assert.Empty((await Tokens.ListByOwnerAsync(TokenOwnerKind.User, again.Id, null, 10, Ct)).Items);
    }

    [Fact]
    public async Task UserCountAdministrators_CountsOnlyEnabledAdministrators()
    {
        Assert.Equal(0, await Users.CountAdministratorsAsync(Ct));
        await CreateUserAsync("root", isAdministrator: true);
        var second = await CreateUserAsync("second", isAdministrator: true);
        await CreateUserAsync("alice");
        Assert.Equal(2, await Users.CountAdministratorsAsync(Ct));

        await Users.SetDisabledAsync(second.Id, true, Ct);

        Assert.Equal(1, await Users.CountAdministratorsAsync(Ct));
    }

    // ------------------------------------------------------------------ memberships

    [Fact]
    public async Task MembershipAdd_New_IsListedForProjectAndUser()
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("Alice");

        Assert.Equal(MembershipAddStatus.Added, await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Developer, Ct));

        var expected = new Membership(P("shop"), alice.Id, U("Alice"), ProjectRole.Developer, Start);
        Assert.Equal([expected], await Memberships.ListByProjectAsync(P("shop"), Ct));
        Assert.Equal([expected], await Memberships.ListByUserAsync(alice.Id, Ct));
    }

    [Fact]
    public async Task MembershipAdd_AlreadyMember_KeepsTheRole()
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");
        await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Reader, Ct);

        Assert.Equal(MembershipAddStatus.AlreadyMember, await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Owner, Ct));

        Assert.Equal(ProjectRole.Reader, Assert.Single(await Memberships.ListByUserAsync(alice.Id, Ct)).Role);
    }

    [Fact]
    public async Task MembershipAdd_UnknownProjectOrUser_IsReported()
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");

        Assert.Equal(MembershipAddStatus.ProjectNotFound, await Memberships.AddAsync(P("tools"), alice.Id, ProjectRole.Reader, Ct));
        Assert.Equal(MembershipAddStatus.UserNotFound, await Memberships.AddAsync(P("shop"), alice.Id + 1000, ProjectRole.Reader, Ct));
        Assert.Empty(await Memberships.ListByProjectAsync(P("shop"), Ct));
    }

    [Theory]
    [InlineData(ProjectRole.Reader)]
    [InlineData(ProjectRole.Developer)]
    [InlineData(ProjectRole.Maintainer)]
    [InlineData(ProjectRole.Owner)]
    public async Task MembershipSetRole_Member_StoresEveryRole(ProjectRole role)
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");
        await Memberships.AddAsync(P("shop"), alice.Id, role == ProjectRole.Reader ? ProjectRole.Owner : ProjectRole.Reader, Ct);

        Assert.Equal(UpdateResult.Updated, await Memberships.SetRoleAsync(P("shop"), alice.Id, role, Ct));

        Assert.Equal(role, Assert.Single(await Memberships.ListByProjectAsync(P("shop"), Ct)).Role);
    }

    [Fact]
    public async Task MembershipSetRole_NotAMember_ReportsNotFound()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("tools");
        var alice = await CreateUserAsync("alice");
        await Memberships.AddAsync(P("tools"), alice.Id, ProjectRole.Reader, Ct);

        Assert.Equal(UpdateResult.NotFound, await Memberships.SetRoleAsync(P("shop"), alice.Id, ProjectRole.Owner, Ct));
        Assert.Equal(UpdateResult.NotFound, await Memberships.SetRoleAsync(P("nowhere"), alice.Id, ProjectRole.Owner, Ct));
        Assert.Equal(ProjectRole.Reader, Assert.Single(await Memberships.ListByUserAsync(alice.Id, Ct)).Role);
    }

    [Fact]
    public async Task MembershipSetRole_UndefinedRole_Throws()
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Memberships.AddAsync(P("shop"), alice.Id, (ProjectRole)9, Ct));
    }

    [Fact]
    public async Task MembershipRemove_OnceDeletedThenNotFound()
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");
        await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Reader, Ct);

        Assert.Equal(DeleteResult.Deleted, await Memberships.RemoveAsync(P("shop"), alice.Id, Ct));
        Assert.Equal(DeleteResult.NotFound, await Memberships.RemoveAsync(P("shop"), alice.Id, Ct));
        Assert.Equal(DeleteResult.NotFound, await Memberships.RemoveAsync(P("nowhere"), alice.Id, Ct));
        Assert.Empty(await Memberships.ListByUserAsync(alice.Id, Ct));
    }

    [Fact]
    public async Task MembershipLists_AreOrderedByUserNameAndByProjectName()
    {
        foreach (var project in new[] { "tools", "shop", "apps" })
        {
            await CreateProjectAsync(project);
        }

        var carol = await CreateUserAsync("carol");
        var alice = await CreateUserAsync("Alice");
        var bob = await CreateUserAsync("bob");
        foreach (var user in new[] { carol, alice, bob })
        {
            await Memberships.AddAsync(P("shop"), user.Id, ProjectRole.Reader, Ct);
        }

        await Memberships.AddAsync(P("tools"), alice.Id, ProjectRole.Owner, Ct);
        await Memberships.AddAsync(P("apps"), alice.Id, ProjectRole.Maintainer, Ct);

        Assert.Equal(["Alice", "bob", "carol"], (await Memberships.ListByProjectAsync(P("shop"), Ct)).Select(m => m.UserName.Value));
        Assert.Equal(
            [("apps", ProjectRole.Maintainer), ("shop", ProjectRole.Reader), ("tools", ProjectRole.Owner)],
            (await Memberships.ListByUserAsync(alice.Id, Ct)).Select(m => (m.Project.Value, m.Role)));
        Assert.Empty(await Memberships.ListByProjectAsync(P("nowhere"), Ct));
        Assert.Empty(await Memberships.ListByUserAsync(alice.Id + 1000, Ct));
    }
}
