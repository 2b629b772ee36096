using Berth.Auth.Scopes;
using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Auth.Tests.Scopes;

public sealed class DockerScopeTests
{
    private const RegistryActions All = RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete;

    [Theory]
    [InlineData("repository:shop/api:pull", "shop/api", RegistryActions.Pull)]
    [InlineData("repository:shop/api:pull,push", "shop/api", RegistryActions.Pull | RegistryActions.Push)]
    [InlineData("repository:shop/api:push,pull", "shop/api", RegistryActions.Pull | RegistryActions.Push)]
    [InlineData("repository:shop/api:delete", "shop/api", RegistryActions.Delete)]
    [InlineData("repository:shop/api:*", "shop/api", All)]
    [InlineData("repository:api:pull", "api", RegistryActions.Pull)]
    [InlineData("repository:a/b/c/d:pull", "a/b/c/d", RegistryActions.Pull)]
    [InlineData("repository:127.0.0.1:5000/shop/api:pull", "shop/api", RegistryActions.Pull)]
    [InlineData("repository:localhost:5000/shop/api:pull,push", "shop/api", RegistryActions.Pull | RegistryActions.Push)]
    [InlineData("repository:registry.example.com:443/shop/api:pull", "shop/api", RegistryActions.Pull)]
    [InlineData("repository:[::1]:5000/shop/api:pull", "shop/api", RegistryActions.Pull)]
    [InlineData("repository:my.team/api:pull", "my.team/api", RegistryActions.Pull)]
    [InlineData("repository(plugin):shop/api:pull", "shop/api", RegistryActions.Pull)]
    [InlineData("repository:shop/api:pull,metadata-read", "shop/api", RegistryActions.Pull)]
    [InlineData("repository:shop/api:pull,,push", "shop/api", RegistryActions.Pull | RegistryActions.Push)]
    public void TryParse_RepositoryScope_ParsesNameAndActions(string scope, string name, RegistryActions actions)
    {
        Assert.True(DockerScope.TryParse(scope, out var permission));
        Assert.Equal(new RegistryPermission(RepositoryName.Parse(name), actions), permission);
    }

    [Fact]
    public void TryParse_RegistryCatalog_IsCatalogAccess()
    {
        Assert.True(DockerScope.TryParse("registry:catalog:*", out var permission));
        Assert.Equal(RegistryPermission.Catalog, permission);
    }

    [Theory]
    [InlineData("registry.example.com")]
    [InlineData("REGISTRY.example.com")]
    public void TryParse_ConfiguredHostWithoutPort_IsStripped(string host)
    {
        Assert.True(DockerScope.TryParse($"repository:{host}/shop/api:pull", out var permission, ["registry.example.com"]));
        Assert.Equal("shop/api", permission.Repository!.Value.Value);
    }

    [Fact]
    public void TryParse_OtherDottedFirstComponent_IsKept()
    {
        Assert.True(DockerScope.TryParse("repository:other.example.com/shop/api:pull", out var permission, ["registry.example.com"]));
        Assert.Equal("other.example.com/shop/api", permission.Repository!.Value.Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("repository")]
    [InlineData("repository:shop/api")]
    [InlineData("repository:shop/api:")]
    [InlineData("repository::pull")]
    [InlineData(":shop/api:pull")]
    [InlineData("repository:Shop/API:pull")]
    [InlineData("repository:shop/api:metadata-read")]
    [InlineData("repository:shop/api:PULL")]
    [InlineData("repository:shop/api:v1:pull")]
    [InlineData("repository:shop/api@sha256:abc:pull")]
    [InlineData("repository:127.0.0.1:5000:pull")]
    [InlineData("repository:/shop/api:pull")]
    [InlineData("repository(plugin:shop/api:pull")]
    [InlineData("image:shop/api:pull")]
    [InlineData("registry:catalog:pull")]
    [InlineData("registry:other:*")]
    [InlineData("Repository:shop/api:pull")]
    public void TryParse_Malformed_ReturnsFalse(string scope)
    {
        Assert.False(DockerScope.TryParse(scope, out _));
    }

    [Fact]
    public void ParseAll_RepeatedParameters_ReturnsEach()
    {
        var parsed = DockerScope.ParseAll(["repository:shop/api:pull", "repository:shop/web:push"]);

        Assert.Equal(
            [new(RepositoryName.Parse("shop/api"), RegistryActions.Pull), new(RepositoryName.Parse("shop/web"), RegistryActions.Push)],
            parsed);
    }

    [Fact]
    public void ParseAll_SpaceSeparatedInOneParameter_ReturnsEach()
    {
        var parsed = DockerScope.ParseAll(["repository:shop/api:pull  registry:catalog:* repository:shop/web:pull,push"]);

        Assert.Equal(
            [
                new(RepositoryName.Parse("shop/api"), RegistryActions.Pull),
                RegistryPermission.Catalog,
                new(RepositoryName.Parse("shop/web"), RegistryActions.Pull | RegistryActions.Push),
            ],
            parsed);
    }

    [Fact]
    public void ParseAll_MalformedAmongValid_SkipsOnlyMalformed()
    {
        var parsed = DockerScope.ParseAll(["garbage repository:shop/api:pull", null, "", "repository:BAD:pull"]);

        Assert.Equal([new(RepositoryName.Parse("shop/api"), RegistryActions.Pull)], parsed);
    }

    [Fact]
    public void ParseAll_SameRepositoryTwice_MergesActions()
    {
        var parsed = DockerScope.ParseAll(["repository:shop/api:pull", "repository:127.0.0.1:5000/shop/api:push"]);

        Assert.Equal([new(RepositoryName.Parse("shop/api"), RegistryActions.Pull | RegistryActions.Push)], parsed);
    }

    [Fact]
    public void ParseAll_Nothing_IsEmpty()
    {
        Assert.Empty(DockerScope.ParseAll([]));
    }

    [Theory]
    [InlineData("shop/api", RegistryActions.Pull, "repository:shop/api:pull")]
    [InlineData("shop/api", RegistryActions.Push | RegistryActions.Pull, "repository:shop/api:pull,push")]
    [InlineData("shop/api", All, "repository:shop/api:pull,push,delete")]
    public void Format_Repository_IsCanonicalScope(string name, RegistryActions actions, string expected)
    {
        var permission = new RegistryPermission(RepositoryName.Parse(name), actions);

        Assert.Equal(expected, DockerScope.Format(permission));
        Assert.True(DockerScope.TryParse(expected, out var parsed));
        Assert.Equal(permission, parsed);
    }

    [Fact]
    public void Format_Catalog_IsRegistryCatalogStar()
    {
        Assert.Equal("registry:catalog:*", DockerScope.Format(RegistryPermission.Catalog));
    }

    [Fact]
    public void ParseActions_Names_IgnoresUnknownAndExpandsStar()
    {
        Assert.Equal(RegistryActions.Pull, DockerScope.ParseActions(["pull", "nope"]));
        Assert.Equal(All, DockerScope.ParseActions(["*"]));
        Assert.Equal(RegistryActions.None, DockerScope.ParseActions([]));
    }
}
