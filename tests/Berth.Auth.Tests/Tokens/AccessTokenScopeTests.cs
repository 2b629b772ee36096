using Berth.Auth.Tokens;
using Berth.Core.Access;
using Berth.Core.Registry;

namespace Berth.Auth.Tests.Tokens;

public sealed class AccessTokenScopeTests
{
    [Theory]
    [InlineData("pull", AccessTokenScope.Pull)]
    [InlineData("pull,push", AccessTokenScope.PullPush)]
    [InlineData("push,pull", AccessTokenScope.PullPush)]
    [InlineData("pull, push ,delete", AccessTokenScope.PullPushDelete)]
    [InlineData("delete,push,pull", AccessTokenScope.PullPushDelete)]
    public void TryParse_DefinedLevel_Parses(string text, AccessTokenScope expected)
    {
        Assert.True(AccessTokenScopes.TryParse(text, out var scope));
        Assert.Equal(expected, scope);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("push")]
    [InlineData("pull,delete")]
    [InlineData("delete")]
    [InlineData("pull,admin")]
    [InlineData("*")]
    [InlineData("Pull")]
    public void TryParse_NotALevel_Fails(string? text)
    {
        Assert.False(AccessTokenScopes.TryParse(text, out var scope));
        Assert.Equal(default, scope);
    }

    [Theory]
    [InlineData(AccessTokenScope.Pull, "pull", RegistryActions.Pull)]
    [InlineData(AccessTokenScope.PullPush, "pull,push", RegistryActions.Pull | RegistryActions.Push)]
    [InlineData(AccessTokenScope.PullPushDelete, "pull,push,delete", RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete)]
    public void Format_EachLevel_RoundTripsAndMapsToActions(AccessTokenScope scope, string text, RegistryActions actions)
    {
        Assert.Equal(text, AccessTokenScopes.Format(scope));
        Assert.Equal(actions, scope.ToActions());
        Assert.True(AccessTokenScopes.TryParse(text, out var parsed));
        Assert.Equal(scope, parsed);
    }
}
