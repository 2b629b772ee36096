using System.Net;
using Berth.Api.Access;
using Berth.Core.Access;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>
/// Personal access tokens on /v2 (Basic, token as password): expiry, revocation, disabled owner, last use. The changes
/// are made straight in the stores, as another node would, so a sign-in this node made is reused until
/// <see cref="TokenSubjects.Lifetime"/> has passed (<see cref="BasicSignInReuseTests"/>).
/// </summary>
public sealed class AccessTokenLifecycleTests : AccessTest
{
    private const string Path = "/v2/proj/app/manifests/v1";

    public AccessTokenLifecycleTests()
    {
        Setup.ProjectAsync("proj").GetAwaiter().GetResult();
        Admin.PushManifestAsync("proj/app", TestImages.OciImage(1), "v1").GetAwaiter().GetResult();
    }

    private async Task<HttpStatusCode> PullAsync(string user, string secret)
    {
        using var client = AccessClient.Basic(App, new Credentials(user, secret));
        using var response = await client.GetAsync(Path);
        return response.StatusCode;
    }

    [Fact]
    public async Task ExpiredToken_IsRefused()
    {
        var (user, _) = await UserAsync("dev", "proj");
        var (_, secret) = await Setup.TokenAsync(user, AccessTokenScope.Pull, expiresAt: App.Clock.GetUtcNow().AddDays(1));
        Assert.Equal(HttpStatusCode.OK, await PullAsync("dev", secret));

        App.Clock.Advance(TimeSpan.FromDays(1));

        Assert.Equal(HttpStatusCode.Unauthorized, await PullAsync("dev", secret));
        using var tokenClient = AccessClient.Basic(App, new Credentials("dev", secret));
        using var response = await tokenClient.GetAsync(AccessClient.TokenPath("repository:proj/app:pull"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task RevokedToken_IsRefused()
    {
        var (user, _) = await UserAsync("dev", "proj");
        var (token, secret) = await Setup.TokenAsync(user, AccessTokenScope.Pull);
        Assert.Equal(HttpStatusCode.OK, await PullAsync("dev", secret));

        await Setup.RevokeAsync(token);
        App.Clock.Advance(TokenSubjects.Lifetime);

        Assert.Equal(HttpStatusCode.Unauthorized, await PullAsync("dev", secret));
    }

    [Fact]
    public async Task DisabledOwner_IsRefused()
    {
        var (user, credentials) = await UserAsync("dev", "proj");
        var (_, secret) = await Setup.TokenAsync(user, AccessTokenScope.Pull);
        Assert.Equal(HttpStatusCode.OK, await PullAsync("dev", secret));
        Assert.Equal(HttpStatusCode.OK, await PullAsync("dev", credentials.Secret));

        await Service<IUserStore>().SetDisabledAsync(user.Id, true, CancellationToken.None);
        App.Clock.Advance(TokenSubjects.Lifetime);

        Assert.Equal(HttpStatusCode.Unauthorized, await PullAsync("dev", secret));
        Assert.Equal(HttpStatusCode.Unauthorized, await PullAsync("dev", credentials.Secret));
    }

    [Fact]
    public async Task DisabledRobot_IsRefused()
    {
        var robot = await Setup.RobotAsync("proj", "ci", Core.Registry.RegistryActions.Pull);
        var (_, secret) = await Setup.RobotTokenAsync(robot, AccessTokenScope.Pull);
        Assert.Equal(HttpStatusCode.OK, await PullAsync(robot.FullName, secret));

        await Service<IRobotAccountStore>().UpdateAsync(robot.Id, new RobotChanges(Disabled: true), CancellationToken.None);
        App.Clock.Advance(TokenSubjects.Lifetime);

        Assert.Equal(HttpStatusCode.Unauthorized, await PullAsync(robot.FullName, secret));
    }

    [Fact]
    public async Task Use_IsRecorded()
    {
        var (user, _) = await UserAsync("dev", "proj");
        var (token, secret) = await Setup.TokenAsync(user, AccessTokenScope.Pull);
        Assert.Null(token.LastUsedAt);
        App.Clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(HttpStatusCode.OK, await PullAsync("dev", secret));

        var stored = await Service<IAccessTokenStore>().GetAsync(token.Id, CancellationToken.None);
        Assert.Equal(App.Clock.GetUtcNow(), stored!.LastUsedAt);
    }
}
