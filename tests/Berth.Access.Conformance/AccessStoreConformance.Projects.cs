using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Access.Conformance;

public abstract partial class AccessStoreConformance
{
    [Fact]
    public async Task ProjectCreate_New_IsStoredWithTheStoreClock()
    {
        var result = await Projects.CreateAsync(P("shop"), "the shop", ProjectVisibility.Public, Ct);

        Assert.Equal(ProjectCreateStatus.Created, result.Status);
        var expected = new Project(P("shop"), "the shop", ProjectVisibility.Public, Start);
        Assert.Equal(expected, result.Project);
        Assert.Equal(expected, await Projects.GetAsync(P("shop"), Ct));
    }

    [Fact]
    public async Task ProjectCreate_Duplicate_ReportsDuplicateAndKeepsTheFirst()
    {
        await Projects.CreateAsync(P("shop"), "first", ProjectVisibility.Private, Ct);
        Clock.Advance(TimeSpan.FromHours(1));

        var again = await Projects.CreateAsync(P("shop"), "second", ProjectVisibility.Public, Ct);

        Assert.Equal(ProjectCreateStatus.Duplicate, again.Status);
        Assert.Null(again.Project);
        Assert.Equal(new Project(P("shop"), "first", ProjectVisibility.Private, Start), await Projects.GetAsync(P("shop"), Ct));
    }

    [Fact]
    public async Task ProjectCreate_ConcurrentSameName_ExactlyOneIsCreated()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Projects.CreateAsync(P("shop"), "", ProjectVisibility.Private, Ct)));

        Assert.Single(results, r => r.Status == ProjectCreateStatus.Created);
        Assert.Equal(19, results.Count(r => r.Status == ProjectCreateStatus.Duplicate));
    }

    [Fact]
    public async Task ProjectGet_Missing_ReturnsNull()
    {
        await CreateProjectAsync("shop");

        Assert.Null(await Projects.GetAsync(P("shops"), Ct));
    }

    [Fact]
    public async Task ProjectList_SeveralPages_AreInNameOrderAndComplete()
    {
        string[] names = ["tools", "shop", "a", "shop-b", "shop.a", "shop_c", "zeta", "b2", "b10"];
        foreach (var name in names)
        {
            await CreateProjectAsync(name);
        }

        var all = await ReadAllPagesAsync<Project>(last => Projects.ListAsync(last?.Name, 4, Ct), 4);

        Assert.Equal(names.Order(StringComparer.Ordinal), all.Select(p => p.Name.Value));
    }

    [Fact]
    public async Task ProjectList_ExactlyOnePageFull_HasNoMore()
    {
        await CreateProjectAsync("a");
        await CreateProjectAsync("b");

        var page = await Projects.ListAsync(null, 2, Ct);

        Assert.Equal(["a", "b"], page.Items.Select(p => p.Name.Value));
        Assert.False(page.HasMore);
        Assert.Empty((await Projects.ListAsync(P("b"), 2, Ct)).Items);
    }

    [Fact]
    public async Task ProjectList_AfterAMissingName_StartsAfterIt()
    {
        await CreateProjectAsync("a");
        await CreateProjectAsync("c");

        var page = await Projects.ListAsync(P("b"), 10, Ct);

        Assert.Equal(["c"], page.Items.Select(p => p.Name.Value));
    }

    [Fact]
    public async Task ProjectList_LimitBelowOne_Throws()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Projects.ListAsync(null, 0, Ct));
    }

    [Fact]
    public async Task ProjectUpdate_NullMembers_KeepStoredValues()
    {
        await Projects.CreateAsync(P("shop"), "old", ProjectVisibility.Private, Ct);

        Assert.Equal(UpdateResult.Updated, await Projects.UpdateAsync(P("shop"), new ProjectChanges(Visibility: ProjectVisibility.Public), Ct));
        Assert.Equal(new Project(P("shop"), "old", ProjectVisibility.Public, Start), await Projects.GetAsync(P("shop"), Ct));

        Assert.Equal(UpdateResult.Updated, await Projects.UpdateAsync(P("shop"), new ProjectChanges(Description: ""), Ct));
        Assert.Equal(new Project(P("shop"), "", ProjectVisibility.Public, Start), await Projects.GetAsync(P("shop"), Ct));
    }

    [Fact]
    public async Task ProjectUpdate_Missing_ReturnsNotFound()
    {
        Assert.Equal(UpdateResult.NotFound, await Projects.UpdateAsync(P("shop"), new ProjectChanges("x"), Ct));
    }

    [Fact]
    public async Task ProjectDelete_Missing_ReturnsNotFound()
    {
        Assert.Equal(ProjectDeleteStatus.NotFound, await Projects.DeleteAsync(P("shop"), force: true, Ct));
    }

    [Fact]
    public async Task ProjectDelete_WithoutRepositories_RemovesMembershipsRobotsTheirTokensAndRules()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("tools");
        var alice = await CreateUserAsync("alice");
        await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Owner, Ct);
        await Memberships.AddAsync(P("tools"), alice.Id, ProjectRole.Reader, Ct);
        var robot = await CreateRobotAsync("shop", "ci");
        var robotToken = await CreateTokenAsync(TokenOwner.Robot(robot.Id, robot.FullName));
        var userToken = await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"), projects: ["shop"]);
        await IpRules.AddAsync(P("shop"), "10.0.0.0/8", null, Ct);
        await IpRules.AddAsync(null, "10.0.0.0/8", null, Ct);

        Assert.Equal(ProjectDeleteStatus.Deleted, await Projects.DeleteAsync(P("shop"), force: false, Ct));

        Assert.Null(await Projects.GetAsync(P("shop"), Ct));
        Assert.Empty(await Memberships.ListByProjectAsync(P("shop"), Ct));
        Assert.Equal(["tools"], (await Memberships.ListByUserAsync(alice.Id, Ct)).Select(m => m.Project.Value));
        Assert.Null(await Robots.GetAsync(robot.Id, Ct));
        Assert.Null(await Tokens.GetAsync(robotToken.Id, Ct));
        Assert.NotNull(await Tokens.GetAsync(userToken.Id, Ct));
        Assert.Empty(await IpRules.ListAsync(P("shop"), Ct));
        Assert.Single(await IpRules.ListAsync(null, Ct));
        Assert.NotNull(await Users.GetAsync(alice.Id, Ct));
    }

    [Theory]
    [InlineData("shop")]
    [InlineData("shop/app")]
    [InlineData("shop/team/app")]
    public async Task ProjectDelete_WithRepositories_IsRefusedUnlessForced(string repository)
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");
        await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Owner, Ct);
        await CreateRepositoryAsync(repository);

        Assert.Equal(ProjectDeleteStatus.HasRepositories, await Projects.DeleteAsync(P("shop"), force: false, Ct));
        Assert.NotNull(await Projects.GetAsync(P("shop"), Ct));
        Assert.Single(await Memberships.ListByProjectAsync(P("shop"), Ct));

        Assert.Equal(ProjectDeleteStatus.Deleted, await Projects.DeleteAsync(P("shop"), force: true, Ct));
        Assert.Null(await Projects.GetAsync(P("shop"), Ct));
        Assert.Empty(await Memberships.ListByUserAsync(alice.Id, Ct));

        // A forced delete leaves the repositories' content alone.
        Assert.Equal(1, await Stores.Blobs.GetLinkedSizeAsync(RepositoryName.Parse(repository), Digest.Parse("sha256:" + new string('a', 64)), Ct));
    }

    [Theory]
    [InlineData("shopping/app")]
    [InlineData("shop-x/app")]
    [InlineData("shop.x")]
    [InlineData("shop_x/app")]
    [InlineData("shop0/app")]
    [InlineData("shop1")]
    [InlineData("sho/app")]
    public async Task ProjectDelete_RepositoriesOfOtherProjectsWithTheSamePrefix_DoNotBlock(string repository)
    {
        await CreateProjectAsync("shop");
        await CreateRepositoryAsync(repository);

        Assert.Equal(ProjectDeleteStatus.Deleted, await Projects.DeleteAsync(P("shop"), force: false, Ct));
    }

    [Fact]
    public async Task ProjectDelete_ThenCreateAgain_StartsWithoutMembersOrRobots()
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");
        await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Owner, Ct);
        await CreateRobotAsync("shop", "ci", RegistryActions.Pull | RegistryActions.Push);

        await Projects.DeleteAsync(P("shop"), force: false, Ct);
        await CreateProjectAsync("shop");

        Assert.Empty(await Memberships.ListByProjectAsync(P("shop"), Ct));
        Assert.Empty(await Robots.ListAsync(P("shop"), Ct));
        Assert.Equal(RobotCreateStatus.Created, (await Robots.CreateAsync(P("shop"), "ci", "", RegistryActions.Pull, Ct)).Status);
    }
}
