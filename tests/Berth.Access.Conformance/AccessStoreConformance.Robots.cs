using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;

namespace Berth.Access.Conformance;

public abstract partial class AccessStoreConformance
{
    private const RegistryActions PullPush = RegistryActions.Pull | RegistryActions.Push;

    [Fact]
    public async Task RobotCreate_New_IsStoredWithTheStoreClock()
    {
        await CreateProjectAsync("shop");

        var result = await Robots.CreateAsync(P("shop"), "ci", "builds", PullPush, Ct);

        Assert.Equal(RobotCreateStatus.Created, result.Status);
        var robot = result.Robot!;
        Assert.Equal(new RobotAccount(robot.Id, P("shop"), "ci", "builds", PullPush, Start, false), robot);
        Assert.Equal("shop+ci", robot.FullName);
        Assert.Equal(robot, await Robots.GetAsync(robot.Id, Ct));
        Assert.Equal(robot, await Robots.GetAsync(P("shop"), "ci", Ct));
    }

    [Fact]
    public async Task RobotCreate_SameNameInTheProject_IsDuplicate()
    {
        await CreateProjectAsync("shop");
        var first = await CreateRobotAsync("shop", "ci");

        var again = await Robots.CreateAsync(P("shop"), "ci", "other", RegistryActions.Delete, Ct);

        Assert.Equal(RobotCreateStatus.Duplicate, again.Status);
        Assert.Null(again.Robot);
        Assert.Equal([first], await Robots.ListAsync(P("shop"), Ct));
    }

    [Fact]
    public async Task RobotCreate_SameNameInAnotherProject_IsAllowed()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("tools");
        var shop = await CreateRobotAsync("shop", "ci");

        var tools = await CreateRobotAsync("tools", "ci");

        Assert.NotEqual(shop.Id, tools.Id);
        Assert.Equal("tools+ci", (await Robots.GetAsync(P("tools"), "ci", Ct))!.FullName);
    }

    [Fact]
    public async Task RobotCreate_UnknownProject_IsReported()
    {
        var result = await Robots.CreateAsync(P("shop"), "ci", "", RegistryActions.Pull, Ct);

        Assert.Equal(RobotCreateStatus.ProjectNotFound, result.Status);
    }

    [Theory]
    [InlineData("CI")]
    [InlineData("shop+ci")]
    [InlineData("")]
    [InlineData("a/b")]
    public async Task RobotCreate_InvalidName_Throws(string name)
    {
        await CreateProjectAsync("shop");

        await Assert.ThrowsAsync<ArgumentException>(() => Robots.CreateAsync(P("shop"), name, "", RegistryActions.Pull, Ct));
    }

    [Fact]
    public async Task RobotCreateAndUpdate_ActionsBeyondPullPushDelete_Throw()
    {
        await CreateProjectAsync("shop");
        var robot = await CreateRobotAsync("shop", "ci");

        await Assert.ThrowsAnyAsync<ArgumentException>(() => Robots.CreateAsync(P("shop"), "cd", "", (RegistryActions)8, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Robots.UpdateAsync(robot.Id, new RobotChanges(Actions: (RegistryActions)9), Ct));
        Assert.Equal(RegistryActions.Pull, (await Robots.GetAsync(robot.Id, Ct))!.Actions);
    }

    [Fact]
    public async Task RobotGet_Missing_ReturnsNull()
    {
        await CreateProjectAsync("shop");
        var robot = await CreateRobotAsync("shop", "ci");

        Assert.Null(await Robots.GetAsync(robot.Id + 1000, Ct));
        Assert.Null(await Robots.GetAsync(P("shop"), "cd", Ct));
        Assert.Null(await Robots.GetAsync(P("tools"), "ci", Ct));
    }

    [Fact]
    public async Task RobotList_IsInNameOrderAndPerProject()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("tools");
        foreach (var name in new[] { "deploy", "ci", "scan" })
        {
            await CreateRobotAsync("shop", name);
        }

        await CreateRobotAsync("tools", "bot");

        Assert.Equal(["ci", "deploy", "scan"], (await Robots.ListAsync(P("shop"), Ct)).Select(r => r.Name));
        Assert.Empty(await Robots.ListAsync(P("nowhere"), Ct));
    }

    [Fact]
    public async Task RobotUpdate_NullMembers_KeepStoredValues()
    {
        await CreateProjectAsync("shop");
        var robot = (await Robots.CreateAsync(P("shop"), "ci", "builds", RegistryActions.Pull, Ct)).Robot!;

        Assert.Equal(UpdateResult.Updated, await Robots.UpdateAsync(robot.Id, new RobotChanges(Actions: RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete), Ct));
        Assert.Equal(UpdateResult.Updated, await Robots.UpdateAsync(robot.Id, new RobotChanges(Disabled: true), Ct));

        Assert.Equal(
            robot with { Actions = RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete, Disabled = true },
            await Robots.GetAsync(robot.Id, Ct));

        Assert.Equal(UpdateResult.Updated, await Robots.UpdateAsync(robot.Id, new RobotChanges("tests", RegistryActions.None, false), Ct));
        Assert.Equal(robot with { Description = "tests", Actions = RegistryActions.None }, await Robots.GetAsync(robot.Id, Ct));
    }

    [Fact]
    public async Task RobotUpdate_Missing_ReportsNotFound()
    {
        Assert.Equal(UpdateResult.NotFound, await Robots.UpdateAsync(42, new RobotChanges("x"), Ct));
    }

    [Fact]
    public async Task RobotDelete_RemovesItsTokensOnly()
    {
        await CreateProjectAsync("shop");
        var ci = await CreateRobotAsync("shop", "ci");
        var cd = await CreateRobotAsync("shop", "cd");
        var ciToken = await CreateTokenAsync(TokenOwner.Robot(ci.Id, ci.FullName));
        var cdToken = await CreateTokenAsync(TokenOwner.Robot(cd.Id, cd.FullName));

        Assert.Equal(DeleteResult.Deleted, await Robots.DeleteAsync(ci.Id, Ct));
        Assert.Equal(DeleteResult.NotFound, await Robots.DeleteAsync(ci.Id, Ct));

        Assert.Null(await Robots.GetAsync(ci.Id, Ct));
        Assert.Null(await Tokens.GetAsync(ciToken.Id, Ct));
        Assert.NotNull(await Tokens.GetAsync(cdToken.Id, Ct));
        Assert.Equal(["cd"], (await Robots.ListAsync(P("shop"), Ct)).Select(r => r.Name));
    }

    // ------------------------------------------------------------------ IP allow rules

    [Fact]
    public async Task IpRuleAdd_ServerAndProjectRules_AreListedSeparatelyOldestFirst()
    {
        await CreateProjectAsync("shop");

        var office = await IpRules.AddAsync(null, "192.0.2.0/24", "office", Ct);
        Clock.Advance(TimeSpan.FromSeconds(1));
        var vpn = await IpRules.AddAsync(null, "2001:db8::/32", null, Ct);
        var ci = await IpRules.AddAsync(P("shop"), "10.1.0.0/16", "ci runners", Ct);

        Assert.Equal(IpRuleAddStatus.Added, office.Status);
        Assert.Equal(new IpAllowRule(office.Rule!.Id, null, "192.0.2.0/24", "office", Start), office.Rule);
        Assert.Equal([office.Rule, vpn.Rule!], await IpRules.ListAsync(null, Ct));
        Assert.Equal([new IpAllowRule(ci.Rule!.Id, P("shop"), "10.1.0.0/16", "ci runners", Start.AddSeconds(1))], await IpRules.ListAsync(P("shop"), Ct));
    }

    [Fact]
    public async Task IpRuleAdd_SameNetworkAtTheSameLevel_IsDuplicate()
    {
        await CreateProjectAsync("shop");
        await IpRules.AddAsync(null, "10.0.0.0/8", null, Ct);
        await IpRules.AddAsync(P("shop"), "10.0.0.0/8", null, Ct);

        Assert.Equal(IpRuleAddStatus.Duplicate, (await IpRules.AddAsync(null, "10.0.0.0/8", "again", Ct)).Status);
        Assert.Equal(IpRuleAddStatus.Duplicate, (await IpRules.AddAsync(P("shop"), "10.0.0.0/8", "again", Ct)).Status);
        Assert.Single(await IpRules.ListAsync(null, Ct));
        Assert.Single(await IpRules.ListAsync(P("shop"), Ct));
    }

    [Fact]
    public async Task IpRuleAdd_SameNetworkInAnotherProject_IsAllowed()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("tools");

        Assert.Equal(IpRuleAddStatus.Added, (await IpRules.AddAsync(P("shop"), "10.0.0.0/8", null, Ct)).Status);
        Assert.Equal(IpRuleAddStatus.Added, (await IpRules.AddAsync(P("tools"), "10.0.0.0/8", null, Ct)).Status);
    }

    [Fact]
    public async Task IpRuleAdd_UnknownProject_IsReported()
    {
        Assert.Equal(IpRuleAddStatus.ProjectNotFound, (await IpRules.AddAsync(P("shop"), "10.0.0.0/8", null, Ct)).Status);
        Assert.Empty(await IpRules.ListAsync(P("shop"), Ct));
        Assert.Empty(await IpRules.ListAsync(null, Ct));
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public async Task IpRuleAdd_EmptyNetwork_Throws(string network)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => IpRules.AddAsync(null, network, null, Ct));
    }

    [Fact]
    public async Task IpRuleRemove_OnceDeletedThenNotFound()
    {
        var rule = (await IpRules.AddAsync(null, "10.0.0.0/8", null, Ct)).Rule!;

        Assert.Equal(DeleteResult.Deleted, await IpRules.RemoveAsync(rule.Id, Ct));
        Assert.Equal(DeleteResult.NotFound, await IpRules.RemoveAsync(rule.Id, Ct));
        Assert.Empty(await IpRules.ListAsync(null, Ct));

        // The network may be added again.
        Assert.Equal(IpRuleAddStatus.Added, (await IpRules.AddAsync(null, "10.0.0.0/8", null, Ct)).Status);
    }
}
