using Berth.Auth.Permissions;
using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Auth.Tests.Permissions;

public sealed class AccessPolicyTests
{
    private const RegistryActions Pull = RegistryActions.Pull;
    private const RegistryActions Push = RegistryActions.Push;
    private const RegistryActions Delete = RegistryActions.Delete;
    private const RegistryActions All = Pull | Push | Delete;

    private static readonly ProjectInfo PrivateShop = new("shop", ProjectVisibility.Private);
    private static readonly ProjectInfo PublicShop = new("shop", ProjectVisibility.Public);
    private static readonly ProjectInfo PrivateTools = new("tools", ProjectVisibility.Private);

    private static UserPrincipal Member(ProjectRole role, string project = "shop") =>
        new("alice", false, new Dictionary<string, ProjectRole>(StringComparer.Ordinal) { [project] = role });

    [Theory]
    [InlineData(ProjectRole.Reader, ProjectPermissions.Pull)]
    [InlineData(ProjectRole.Developer, ProjectPermissions.Pull | ProjectPermissions.Push)]
    [InlineData(ProjectRole.Maintainer, ProjectPermissions.Registry | ProjectPermissions.ManagePolicies)]
    [InlineData(ProjectRole.Owner, ProjectPermissions.All)]
    [InlineData((ProjectRole)0, ProjectPermissions.None)]
    public void ForRole_EachRole_HasItsPermissions(ProjectRole role, ProjectPermissions expected)
    {
        Assert.Equal(expected, AccessPolicy.ForRole(role));
    }

    [Fact]
    public void ForRole_HigherRole_IncludesLowerRoles()
    {
        var roles = Enum.GetValues<ProjectRole>().Order().ToArray();
        for (var i = 1; i < roles.Length; i++)
        {
            var lower = AccessPolicy.ForRole(roles[i - 1]);
            Assert.Equal(lower, AccessPolicy.ForRole(roles[i]) & lower);
        }
    }

    [Theory]
    [InlineData(ProjectRole.Reader, All, Pull)]
    [InlineData(ProjectRole.Developer, All, Pull | Push)]
    [InlineData(ProjectRole.Maintainer, All, All)]
    [InlineData(ProjectRole.Owner, All, All)]
    [InlineData(ProjectRole.Reader, Push, RegistryActions.None)]
    [InlineData(ProjectRole.Developer, Delete, RegistryActions.None)]
    [InlineData(ProjectRole.Maintainer, Pull, Pull)]
    public void GetAllowedActions_Member_IsRoleIntersectRequest(ProjectRole role, RegistryActions requested, RegistryActions expected)
    {
        Assert.Equal(expected, AccessPolicy.GetAllowedActions(Member(role), PrivateShop, requested));
    }

    [Theory]
    [InlineData(ProjectVisibility.Private, RegistryActions.None)]
    [InlineData(ProjectVisibility.Public, Pull)]
    public void GetAllowedActions_Anonymous_PullsPublicOnly(ProjectVisibility visibility, RegistryActions expected)
    {
        Assert.Equal(expected, AccessPolicy.GetAllowedActions(Principal.Anonymous, new ProjectInfo("shop", visibility), All));
    }

    [Theory]
    [InlineData(ProjectVisibility.Private, RegistryActions.None)]
    [InlineData(ProjectVisibility.Public, Pull)]
    public void GetAllowedActions_NonMember_PullsPublicOnly(ProjectVisibility visibility, RegistryActions expected)
    {
        Assert.Equal(expected, AccessPolicy.GetAllowedActions(Member(ProjectRole.Owner, "tools"), new ProjectInfo("shop", visibility), All));
    }

    [Fact]
    public void GetPermissions_Administrator_EverythingEverywhere()
    {
        var admin = new UserPrincipal("root", isAdministrator: true);

        Assert.Equal(ProjectPermissions.All, AccessPolicy.GetPermissions(admin, PrivateShop));
        Assert.Equal(All, AccessPolicy.GetAllowedActions(admin, PrivateTools, All));
    }

    [Fact]
    public void GetPermissions_ProjectNameCase_IsExact()
    {
        Assert.Equal(ProjectPermissions.None, AccessPolicy.GetPermissions(Member(ProjectRole.Owner, "Shop"), PrivateShop));
    }

    [Fact]
    public void GetPermissions_MemberOfPublicProject_KeepsRole()
    {
        Assert.Equal(ProjectPermissions.Pull | ProjectPermissions.Push, AccessPolicy.GetPermissions(Member(ProjectRole.Developer), PublicShop));
    }

    [Theory]
    [InlineData(Pull, Pull)]
    [InlineData(Pull | Push, Pull | Push)]
    [InlineData(All, All)]
    public void GetAllowedActions_RobotInOwnProject_HasItsActions(RegistryActions robotActions, RegistryActions expected)
    {
        Assert.Equal(expected, AccessPolicy.GetAllowedActions(new RobotPrincipal("shop+ci", "shop", robotActions), PrivateShop, All));
    }

    [Fact]
    public void GetPermissions_Robot_NeverManagesProject()
    {
        Assert.Equal(ProjectPermissions.Registry, AccessPolicy.GetPermissions(new RobotPrincipal("shop+ci", "shop", All), PrivateShop));
    }

    [Theory]
    [InlineData(ProjectVisibility.Private, RegistryActions.None)]
    [InlineData(ProjectVisibility.Public, Pull)]
    public void GetAllowedActions_RobotInOtherProject_AnonymousRightsOnly(ProjectVisibility visibility, RegistryActions expected)
    {
        var robot = new RobotPrincipal("shop+ci", "shop", All);

        Assert.Equal(expected, AccessPolicy.GetAllowedActions(robot, new ProjectInfo("tools", visibility), All));
    }

    [Theory]
    [InlineData(ProjectRole.Owner, Pull, Pull)]
    [InlineData(ProjectRole.Owner, Pull | Push, Pull | Push)]
    [InlineData(ProjectRole.Reader, Pull | Push, Pull)]
    [InlineData(ProjectRole.Developer, All, Pull | Push)]
    [InlineData(ProjectRole.Maintainer, All, All)]
    public void GetAllowedActions_UserToken_IsOwnerRightsIntersectScope(ProjectRole role, RegistryActions scope, RegistryActions expected)
    {
        var token = new TokenPrincipal(Member(role), scope);

        Assert.Equal(expected, AccessPolicy.GetAllowedActions(token, PrivateShop, All));
    }

    [Fact]
    public void GetPermissions_OwnersToken_RegistryActionsOnly()
    {
        var token = new TokenPrincipal(Member(ProjectRole.Owner), All);

        Assert.Equal(ProjectPermissions.Registry, AccessPolicy.GetPermissions(token, PrivateShop));
    }

    [Fact]
    public void GetAllowedActions_TokenRestrictedToOtherProjects_Nothing()
    {
        var admin = new UserPrincipal("root", isAdministrator: true);
        var token = new TokenPrincipal(admin, All, ["tools"]);

        Assert.Equal(RegistryActions.None, AccessPolicy.GetAllowedActions(token, PrivateShop, All));
        Assert.Equal(All, AccessPolicy.GetAllowedActions(token, PrivateTools, All));
    }

    [Fact]
    public void GetAllowedActions_RestrictedTokenOnPublicProject_StillPulls()
    {
        var token = new TokenPrincipal(Member(ProjectRole.Owner, "tools"), All, ["tools"]);

        Assert.Equal(Pull, AccessPolicy.GetAllowedActions(token, PublicShop, All));
    }

    [Fact]
    public void GetAllowedActions_RobotToken_IsRobotActionsIntersectScope()
    {
        var token = new TokenPrincipal(new RobotPrincipal("shop+ci", "shop", Pull | Push), All);

        Assert.Equal(Pull | Push, AccessPolicy.GetAllowedActions(token, PrivateShop, All));
        Assert.Equal(RegistryActions.None, AccessPolicy.GetAllowedActions(token, PrivateTools, All));
    }

    [Fact]
    public void IsServerAdministrator_Principals_TrueOnlyForAdministratorUsers()
    {
        var admin = new UserPrincipal("root", isAdministrator: true);

        Assert.True(AccessPolicy.IsServerAdministrator(admin));
        Assert.False(AccessPolicy.IsServerAdministrator(new TokenPrincipal(admin, All)));
        Assert.False(AccessPolicy.IsServerAdministrator(Member(ProjectRole.Owner)));
        Assert.False(AccessPolicy.IsServerAdministrator(Principal.Anonymous));
        Assert.False(AccessPolicy.IsServerAdministrator(new RobotPrincipal("shop+ci", "shop", All)));
    }

    [Fact]
    public void GetCatalogActions_SignedInPrincipals_PullOnly()
    {
        var admin = new UserPrincipal("root", isAdministrator: true);

        Assert.Equal(Pull, AccessPolicy.GetCatalogActions(admin, Pull));
        Assert.Equal(Pull, AccessPolicy.GetCatalogActions(new TokenPrincipal(admin, Pull), All));
        Assert.Equal(Pull, AccessPolicy.GetCatalogActions(new TokenPrincipal(admin, Pull, ["shop"]), Pull));
        Assert.Equal(Pull, AccessPolicy.GetCatalogActions(Member(ProjectRole.Owner), Pull | Push));
        Assert.Equal(RegistryActions.None, AccessPolicy.GetCatalogActions(Principal.Anonymous, Pull));
        Assert.Equal(RegistryActions.None, AccessPolicy.GetCatalogActions(new RobotPrincipal("shop+ci", "shop", All), Push));
    }

    [Fact]
    public void Grant_MixedRequest_IntersectsPerProjectAndDropsUnknownProjects()
    {
        var user = new UserPrincipal("alice", false, new Dictionary<string, ProjectRole>(StringComparer.Ordinal)
        {
            ["shop"] = ProjectRole.Developer,
            ["tools"] = ProjectRole.Reader,
        });
        var projects = new Dictionary<string, ProjectInfo>(StringComparer.Ordinal) { ["shop"] = PrivateShop, ["tools"] = PrivateTools };

        var granted = AccessPolicy.Grant(user,
        [
            new(RepositoryName.Parse("shop/api"), All),
            new(RepositoryName.Parse("tools/lint"), Pull | Push),
            new(RepositoryName.Parse("ghost/app"), Pull),
            RegistryPermission.Catalog,
        ], projects.GetValueOrDefault);

        Assert.Equal([new(RepositoryName.Parse("shop/api"), Pull | Push), new(RepositoryName.Parse("tools/lint"), Pull), RegistryPermission.Catalog], granted);
    }

    [Fact]
    public void Grant_AnonymousOnPrivate_IsEmpty()
    {
        var granted = AccessPolicy.Grant(Principal.Anonymous, [new(RepositoryName.Parse("shop/api"), Pull)], _ => PrivateShop);

        Assert.Empty(granted);
    }
}
