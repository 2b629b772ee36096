using System.Net;
using System.Net.Http.Json;
using Berth.Api.Access;
using Berth.Core.Access;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>
/// Basic credentials sent with every request: a success is reused for <see cref="TokenSubjects.Lifetime"/> (so a pull
/// costs no account look-ups), a change made through this node ends it at once, a change made elsewhere (another node,
/// straight in the store) within the lifetime, and a failure is never reused.
/// </summary>
public sealed class BasicSignInReuseTests : AccessTest
{
    private const string Tags = "/v2/proj/app/tags/list";

    private async Task<Credentials> ReaderAsync()
    {
        await Admin.PushManifestAsync("proj/app", TestImages.OciImage(4), "v1");
        var (_, dev) = await UserAsync("dev", "proj");
        return dev;
    }

    private async Task<HttpStatusCode> GetAsync(Credentials credentials, string path = Tags)
    {
        using var client = AccessClient.Basic(App, credentials);
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    [Fact]
    public async Task PasswordChangedElsewhere_OldPasswordWorksAtMostTheLifetime()
    {
        var dev = await ReaderAsync();
        Assert.Equal(HttpStatusCode.OK, await GetAsync(dev));
        var user = await Service<IUserStore>().GetAsync(UserName.Parse("dev"), CancellationToken.None);

        // Straight in the store, as another node would: this node has not heard of it.
        await Service<IUserStore>().SetPasswordHashAsync(user!.Id, Service<Berth.Auth.Passwords.PasswordHasher>().Hash("another-password"), CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(dev));

        App.Clock.Advance(TokenSubjects.Lifetime);
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(dev));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(new Credentials("dev", "another-password")));
    }

    [Fact]
    public async Task PasswordChangedThroughThisNode_OldPasswordRefusedAtOnce()
    {
        var dev = await ReaderAsync();
        Assert.Equal(HttpStatusCode.OK, await GetAsync(dev));

        using (var client = AccessClient.Basic(App, dev))
        using (var changed = await client.PutAsJsonAsync("/api/v1/me/password", new { currentPassword = dev.Secret, newPassword = "a-new-password" }))
        {
            Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(dev));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(new Credentials("dev", "a-new-password")));
    }

    [Fact]
    public async Task UserDisabledOrMemberRemovedElsewhere_RefusedAfterTheLifetime()
    {
        var dev = await ReaderAsync();
        var (other, otherCredentials) = await UserAsync("ops", "proj");
        Assert.Equal(HttpStatusCode.OK, await GetAsync(dev));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(otherCredentials));
        var user = await Service<IUserStore>().GetAsync(UserName.Parse("dev"), CancellationToken.None);

        await Service<IUserStore>().SetDisabledAsync(user!.Id, true, CancellationToken.None);
        await Service<IMembershipStore>().RemoveAsync(ProjectName.Parse("proj"), other.Id, CancellationToken.None);
        App.Clock.Advance(TokenSubjects.Lifetime);

        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(dev));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(otherCredentials)); // signed in, no longer a member
    }

    [Fact]
    public async Task WrongPasswordAfterASuccess_IsRefusedAndCountedEveryTime()
    {
        var dev = await ReaderAsync();
        Assert.Equal(HttpStatusCode.OK, await GetAsync(dev));

        // A failure is never answered from what a success left: each is checked and counted until the throttle holds.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            statuses.Add(await GetAsync(new Credentials("dev", "wrong-password")));
        }

        Assert.DoesNotContain(HttpStatusCode.OK, statuses);
        Assert.Equal(HttpStatusCode.Unauthorized, statuses[0]);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
    }

    [Fact]
    public async Task AccessTokenAsPassword_ExpiringWithinTheLifetime_IsNotReusedPastItsExpiry()
    {
        await Admin.PushManifestAsync("proj/app", TestImages.OciImage(4), "v1");
        var (user, _) = await UserAsync("dev", "proj");
        var (_, secret) = await Setup.TokenAsync(user, AccessTokenScope.Pull, expiresAt: App.Clock.GetUtcNow().AddSeconds(1));
        var credentials = new Credentials("dev", secret);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(credentials));

        App.Clock.Advance(TimeSpan.FromSeconds(1)); // expired, though the reuse lifetime (2 s) has not passed
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(credentials));
    }

    [Fact]
    public async Task AccessTokenAsPassword_RevokedElsewhere_RefusedAfterTheLifetime()
    {
        await Admin.PushManifestAsync("proj/app", TestImages.OciImage(4), "v1");
        var (user, _) = await UserAsync("dev", "proj");
        var (stored, secret) = await Setup.TokenAsync(user, AccessTokenScope.PullPush);
        var credentials = new Credentials("dev", secret);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(credentials));

        await Service<IAccessTokenStore>().RevokeAsync(stored.Id, CancellationToken.None);
        App.Clock.Advance(TokenSubjects.Lifetime);
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(credentials));
    }
}
