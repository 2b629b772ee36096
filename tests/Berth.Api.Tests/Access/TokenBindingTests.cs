using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Berth.Api.Access;
using Berth.Application.Access;
using Berth.Auth.Passwords;
using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>
/// Refresh and registry tokens are bound to the account's immutable id, its credential generation (security stamp)
/// and the access token they came from: password changes and resets, sign-out, disabling, deleting and changes of the
/// administrator flag end refresh tokens; a write with a registry token is checked against the account as it is now.
/// </summary>
public sealed class TokenBindingTests : AccessTest
{
    private const string PullPush = "repository:proj/app:pull,push";

    public TokenBindingTests()
    {
        Setup.ProjectAsync("proj").GetAwaiter().GetResult();
        Setup.ProjectAsync("other").GetAwaiter().GetResult();
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> PostTokenAsync(params (string Key, string Value)[] form)
    {
        using var client = App.CreateAnonymousClient();
        using var response = await client.PostAsync("/token", new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Key, f.Value))));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.Clone());
    }

    /// <summary>A refresh token from the OAuth2 password grant (what docker login saves), with a password or an access token.</summary>
    private async Task<string> RefreshTokenAsync(string user, string secret)
    {
        var (status, json) = await PostTokenAsync(("grant_type", "password"), ("username", user), ("password", secret), ("access_type", "offline"), ("service", "berth"));
        Assert.Equal(HttpStatusCode.OK, status);
        return json.GetProperty("refresh_token").GetString()!;
    }

    /// <summary>The refresh grant: the registry token it issues for <paramref name="scope"/>, or null when refused (asserting invalid_grant).</summary>
    private async Task<string?> RefreshAsync(string refreshToken, string scope = PullPush)
    {
        var (status, json) = await PostTokenAsync(("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("service", "berth"), ("scope", scope));
        if (status == HttpStatusCode.OK)
        {
            return json.GetProperty("access_token").GetString();
        }

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", json.GetProperty("error").GetString());
        return null;
    }

    private async Task<HttpStatusCode> ApiAsync(Credentials caller, HttpMethod method, string path, object? body = null)
    {
        using var client = AccessClient.Basic(App, caller);
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private static Credentials AdminCredentials => new(BerthApplication.AdminUser, BerthApplication.AdminPassword);

    /// <summary>A monolithic blob push with a registry token; the status and the error code (null on success).</summary>
    private async Task<(HttpStatusCode Status, string? Code)> PushWithAsync(string registryToken, string repository = "proj/app", int seed = 1)
    {
        using var client = AccessClient.Bearer(App, registryToken);
        var blob = TestImages.Bytes(64, seed);
        using var response = await client.PostAsync($"/v2/{repository}/blobs/uploads/?digest={TestImages.Sha256(blob)}", new ByteArrayContent(blob));
        return (response.StatusCode, response.IsSuccessStatusCode ? null : (await response.ReadErrorAsync()).Code);
    }

    // ------------------------------------------------------------------ item 3: refresh tokens end with the credentials

    [Fact]
    public async Task RefreshGrant_AfterOwnPasswordChange_IsRefused()
    {
        var (_, dev) = await UserAsync("dev", "proj");
        var refresh = await RefreshTokenAsync("dev", dev.Secret);
        Assert.NotNull(await RefreshAsync(refresh));

        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(dev, HttpMethod.Put, "/api/v1/me/password", new { currentPassword = dev.Secret, newPassword = "a-new-password" }));

        Assert.Null(await RefreshAsync(refresh));
        Assert.NotNull(await RefreshAsync(await RefreshTokenAsync("dev", "a-new-password")));
    }

    [Fact]
    public async Task RefreshGrant_AfterAdministratorReset_IsRefused()
    {
        var (_, dev) = await UserAsync("dev", "proj");
        var refresh = await RefreshTokenAsync("dev", dev.Secret);

        Assert.Equal(HttpStatusCode.OK, await ApiAsync(AdminCredentials, HttpMethod.Patch, "/api/v1/users/dev", new { password = "reset-by-admin" }));

        Assert.Null(await RefreshAsync(refresh));
    }

    [Fact]
    public async Task RefreshGrant_AfterOfflineResetPassword_IsRefused()
    {
        var refresh = await RefreshTokenAsync("admin", BerthApplication.AdminPassword);

        // What `berth admin reset-password` does for admin (and SetPasswordHashAsync for anyone else).
        await AdminBootstrap.EnsureAdministratorAsync(Service<IUserStore>(), Service<PasswordHasher>(), "offline-reset-1", CancellationToken.None);

        Assert.Null(await RefreshAsync(refresh));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RefreshGrant_AfterAdministratorFlagChanged_IsRefused(bool promote)
    {
        var (user, dev) = await UserAsync("dev", "proj");
        if (!promote)
        {
            await Service<IUserStore>().SetAdministratorAsync(user.Id, true, CancellationToken.None);
        }

        var refresh = await RefreshTokenAsync("dev", dev.Secret);

        Assert.Equal(HttpStatusCode.OK, await ApiAsync(AdminCredentials, HttpMethod.Patch, "/api/v1/users/dev", new { administrator = promote }));

        Assert.Null(await RefreshAsync(refresh));
    }

    [Fact]
    public async Task RefreshGrant_AfterDisableAndReEnable_StaysRefused()
    {
        var (_, dev) = await UserAsync("dev", "proj");
        var refresh = await RefreshTokenAsync("dev", dev.Secret);

        Assert.Equal(HttpStatusCode.OK, await ApiAsync(AdminCredentials, HttpMethod.Patch, "/api/v1/users/dev", new { disabled = true }));
        Assert.Equal(HttpStatusCode.OK, await ApiAsync(AdminCredentials, HttpMethod.Patch, "/api/v1/users/dev", new { disabled = false }));

        Assert.Null(await RefreshAsync(refresh));
    }

    [Fact]
    public async Task SignOutEverywhere_EndsRefreshTokensFromPasswordsAndTokens_ButNotTheAccessTokens()
    {
        var (user, dev) = await UserAsync("dev", "proj");
        var (_, secret) = await Setup.TokenAsync(user, AccessTokenScope.PullPush);
        var fromPassword = await RefreshTokenAsync("dev", dev.Secret);
        var fromToken = await RefreshTokenAsync("dev", secret);
        Assert.NotNull(await RefreshAsync(fromToken));

        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(dev, HttpMethod.Delete, "/api/v1/me/sessions"));

        Assert.Null(await RefreshAsync(fromPassword));
        Assert.Null(await RefreshAsync(fromToken));
        Assert.Equal([PullPush], AccessClient.AccessOf(await AccessClient.GetTokenAsync(App, new Credentials("dev", secret), PullPush)));
        Assert.NotNull(await RefreshAsync(await RefreshTokenAsync("dev", dev.Secret)));
        var entry = Assert.Single(await Setup.AuditAsync(new AuditQuery(Action: AuditActions.UserSignOut)));
        Assert.Equal("dev", entry.ActorName);
    }

    [Fact]
    public async Task SignOutEverywhere_WithAnAccessTokenOrAnonymously_IsRefused()
    {
        var (user, _) = await UserAsync("dev", "proj");
        var (_, secret) = await Setup.TokenAsync(user, AccessTokenScope.PullPushDelete);

        Assert.Equal(HttpStatusCode.Forbidden, await ApiAsync(new Credentials("dev", secret), HttpMethod.Delete, "/api/v1/me/sessions"));
        using var anonymous = App.CreateAnonymousClient();
        using var response = await anonymous.DeleteAsync("/api/v1/me/sessions");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task SignOutEverywhere_EndsTheRememberedPasswordCheck()
    {
        var (_, dev) = await UserAsync("dev", "proj");
        using var client = AccessClient.Basic(App, dev);
        await OciAssert.StatusAsync(await client.GetAsync("/v2/"), HttpStatusCode.OK);
        var before = IterationsRun();
        await OciAssert.StatusAsync(await client.GetAsync("/v2/"), HttpStatusCode.OK);
        Assert.Equal(before, IterationsRun()); // remembered: no PBKDF2

        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(dev, HttpMethod.Delete, "/api/v1/me/sessions"));
        var afterSignOut = IterationsRun();
        await OciAssert.StatusAsync(await client.GetAsync("/v2/"), HttpStatusCode.OK);

        Assert.True(IterationsRun() > afterSignOut, "the password was not checked again after signing out everywhere");
    }

    [Fact]
    public async Task RegistryToken_FromPasswordAfterPasswordChange_CannotPush_FromAccessTokenStill()
    {
        var (user, dev) = await UserAsync("dev", "proj");
        var (_, secret) = await Setup.TokenAsync(user, AccessTokenScope.PullPush);
        var byPassword = await AccessClient.GetTokenAsync(App, dev, PullPush);
        var byToken = await AccessClient.GetTokenAsync(App, new Credentials("dev", secret), PullPush);

        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(dev, HttpMethod.Put, "/api/v1/me/password", new { currentPassword = dev.Secret, newPassword = "a-new-password" }));

        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHORIZED"), await PushWithAsync(byPassword));
        Assert.Equal((HttpStatusCode.Created, null), await PushWithAsync(byToken)); // CI with its access token is not interrupted
    }

    private long IterationsRun() =>
        (long)typeof(PasswordHasher).GetProperty("IterationsRun", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(Service<PasswordHasher>())!;

    // ------------------------------------------------------------------ item 4: bound to the account's id, not its name

    [Fact]
    public async Task RefreshToken_OfDeletedUser_GrantsNothingToANewUserOfTheSameName()
    {
        var (_, ivan) = await UserAsync("ivan", "proj");
        var refresh = await RefreshTokenAsync("ivan", ivan.Secret);
        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(AdminCredentials, HttpMethod.Delete, "/api/v1/users/ivan"));
        var (newIvan, _) = await UserAsync("ivan", "other", ProjectRole.Owner);

        Assert.Null(await RefreshAsync(refresh, "repository:other/app:pull,push,delete"));
        Assert.True(newIvan.Id > 0);
    }

    [Fact]
    public async Task TokensFromDeletedUsersAccessToken_AreRefusedEvenWhenTheNewTokenGetsTheSameRowId()
    {
        var (ivan, _) = await UserAsync("ivan", "proj");
        var (oldToken, oldSecret) = await Setup.TokenAsync(ivan, AccessTokenScope.PullPushDelete, name: "ci");
        var refresh = await RefreshTokenAsync("ivan", oldSecret);
        var registryToken = await AccessClient.GetTokenAsync(App, new Credentials("ivan", oldSecret), PullPush);
        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(AdminCredentials, HttpMethod.Delete, "/api/v1/users/ivan"));

        var (newIvan, _) = await UserAsync("ivan", "proj", ProjectRole.Owner);
        var (newToken, _) = await Setup.TokenAsync(newIvan, AccessTokenScope.PullPushDelete, name: "ci");

        if (App.Metadata == "sqlite")
        {
            Assert.Equal(oldToken.Id, newToken.Id); // SQLite reused the row id: only the lookup id tells them apart
        }
        else
        {
            Assert.NotEqual(oldToken.Id, newToken.Id); // PostgreSQL never hands out an identity value twice
        }

        Assert.Null(await RefreshAsync(refresh, "repository:proj/app:pull,push,delete"));
        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHORIZED"), await PushWithAsync(registryToken));
    }

    [Fact]
    public async Task RegistryToken_OfDeletedUser_CannotPushForTheNewUserOfTheSameName()
    {
        var (_, ivan) = await UserAsync("ivan", "proj", ProjectRole.Owner);
        var old = await AccessClient.GetTokenAsync(App, ivan, PullPush);
        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(AdminCredentials, HttpMethod.Delete, "/api/v1/users/ivan"));
        await UserAsync("ivan", "proj", ProjectRole.Owner); // same name, same rights: still another account

        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHORIZED"), await PushWithAsync(old));
    }

    [Fact]
    public async Task CatalogToken_OfDeletedUser_ListsNothingOfTheNewUser()
    {
        var (_, ivan) = await UserAsync("ivan");
        await Admin.PushManifestAsync("other/app", TestImages.OciImage(3), "v1");
        var catalogToken = await AccessClient.GetTokenAsync(App, ivan, "registry:catalog:*");
        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(AdminCredentials, HttpMethod.Delete, "/api/v1/users/ivan"));
        await UserAsync("ivan", "other", ProjectRole.Owner);

        using var client = AccessClient.Bearer(App, catalogToken);
        Assert.Empty(await client.GetCatalogAsync());
        using var fresh = AccessClient.Bearer(App, await AccessClient.GetTokenAsync(App, new Credentials("ivan", "ivan-password"), "registry:catalog:*"));
        Assert.Equal(["other/app"], await fresh.GetCatalogAsync());
    }

    // ------------------------------------------------------------------ item 8: writes checked against the account as it is now

    [Fact]
    public async Task Push_AfterMemberRemoved_IsRefusedAtOnce_PullStillWorksUntilExpiry()
    {
        var (_, dev) = await UserAsync("dev", "proj");
        var token = await AccessClient.GetTokenAsync(App, dev, PullPush);
        await Admin.PushManifestAsync("proj/app", TestImages.OciImage(4), "v1");
        Assert.Equal((HttpStatusCode.Created, null), await PushWithAsync(token, seed: 1));

        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(AdminCredentials, HttpMethod.Delete, "/api/v1/projects/proj/members/dev"));

        Assert.Equal((HttpStatusCode.Forbidden, "DENIED"), await PushWithAsync(token, seed: 2));
        using var client = AccessClient.Bearer(App, token);
        await OciAssert.StatusAsync(await client.GetAsync("/v2/proj/app/manifests/v1"), HttpStatusCode.OK); // documented: reads last until expiry
        App.Clock.Advance(TimeSpan.FromMinutes(6));
        await OciAssert.ErrorAsync(await client.GetAsync("/v2/proj/app/manifests/v1"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task Push_AfterMemberRemovedOnAnotherNode_IsRefusedWithinTwoSeconds()
    {
        var (user, dev) = await UserAsync("dev", "proj");
        var token = await AccessClient.GetTokenAsync(App, dev, PullPush);
        Assert.Equal((HttpStatusCode.Created, null), await PushWithAsync(token, seed: 1));

        // Straight in the store, as another node would: this node's cache does not hear of it.
        await Service<IMembershipStore>().RemoveAsync(ProjectName.Parse("proj"), user.Id, CancellationToken.None);
        Assert.Equal((HttpStatusCode.Created, null), await PushWithAsync(token, seed: 2));

        App.Clock.Advance(TokenSubjects.Lifetime);
        Assert.Equal((HttpStatusCode.Forbidden, "DENIED"), await PushWithAsync(token, seed: 3));
    }

    [Fact]
    public async Task Push_AfterAccessTokenRevoked_IsRefused()
    {
        var (user, _) = await UserAsync("dev", "proj");
        var (stored, secret) = await Setup.TokenAsync(user, AccessTokenScope.PullPush);
        var token = await AccessClient.GetTokenAsync(App, new Credentials("dev", secret), PullPush);
        Assert.Equal((HttpStatusCode.Created, null), await PushWithAsync(token, seed: 1));

        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(new Credentials("dev", "dev-password"), HttpMethod.Delete, $"/api/v1/tokens/{stored.Id}"));

        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHORIZED"), await PushWithAsync(token, seed: 2));
    }

    [Theory]
    [InlineData("disable")]
    [InlineData("delete")]
    public async Task PushAndDelete_AfterUserDisabledOrDeleted_AreRefused(string change)
    {
        var (_, dev) = await UserAsync("dev", "proj", ProjectRole.Maintainer);
        var digest = await Admin.PushManifestAsync("proj/app", TestImages.OciImage(5), "v1");
        var token = await AccessClient.GetTokenAsync(App, dev, "repository:proj/app:pull,push,delete");

        Assert.Equal(change == "disable" ? HttpStatusCode.OK : HttpStatusCode.NoContent, change == "disable"
            ? await ApiAsync(AdminCredentials, HttpMethod.Patch, "/api/v1/users/dev", new { disabled = true })
            : await ApiAsync(AdminCredentials, HttpMethod.Delete, "/api/v1/users/dev"));

        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHORIZED"), await PushWithAsync(token));
        using var client = AccessClient.Bearer(App, token);
        using var delete = await client.DeleteAsync($"/v2/proj/app/manifests/{digest}");
        await OciAssert.ErrorAsync(delete, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("error=\"invalid_token\"", delete.Header("WWW-Authenticate"));
        Assert.True(await Admin.ManifestExistsAsync("proj/app", "v1"));
    }

    [Fact]
    public async Task Delete_AfterRoleLowered_IsRefused_PushStillAllowed()
    {
        var (_, keeper) = await UserAsync("keeper", "proj", ProjectRole.Maintainer);
        var digest = await Admin.PushManifestAsync("proj/app", TestImages.OciImage(6), "v1");
        var token = await AccessClient.GetTokenAsync(App, keeper, "repository:proj/app:pull,push,delete");

        Assert.Equal(HttpStatusCode.OK, await ApiAsync(AdminCredentials, HttpMethod.Put, "/api/v1/projects/proj/members/keeper", new { role = "developer" }));

        using var client = AccessClient.Bearer(App, token);
        using var delete = await client.DeleteAsync($"/v2/proj/app/manifests/{digest}");
        await OciAssert.ErrorAsync(delete, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal((HttpStatusCode.Created, null), await PushWithAsync(token));
    }

    [Fact]
    public async Task Push_ByRobotAfterItsScopeWasReduced_IsRefused()
    {
        var robot = await Setup.RobotAsync("proj", "ci", RegistryActions.Pull | RegistryActions.Push);
        var (_, secret) = await Setup.RobotTokenAsync(robot, AccessTokenScope.PullPush);
        var token = await AccessClient.GetTokenAsync(App, new Credentials(robot.FullName, secret), PullPush);
        Assert.Equal((HttpStatusCode.Created, null), await PushWithAsync(token, seed: 1));

        Assert.Equal(HttpStatusCode.OK, await ApiAsync(AdminCredentials, HttpMethod.Patch, "/api/v1/projects/proj/robots/ci", new { scope = "pull" }));

        Assert.Equal((HttpStatusCode.Forbidden, "DENIED"), await PushWithAsync(token, seed: 2));
    }

    [Fact]
    public async Task Push_ByRobotAfterItWasDeletedAndRecreated_IsRefused()
    {
        var robot = await Setup.RobotAsync("proj", "ci", RegistryActions.Pull | RegistryActions.Push);
        var (_, secret) = await Setup.RobotTokenAsync(robot, AccessTokenScope.PullPush);
        var token = await AccessClient.GetTokenAsync(App, new Credentials(robot.FullName, secret), PullPush);
        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(AdminCredentials, HttpMethod.Delete, "/api/v1/projects/proj/robots/ci"));

        var again = await Setup.RobotAsync("proj", "ci", RegistryActions.Pull | RegistryActions.Push);
        await Setup.RobotTokenAsync(again, AccessTokenScope.PullPush);

        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHORIZED"), await PushWithAsync(token));
    }

    [Fact]
    public async Task Push_WithAFreshTokenAfterAllThat_Works()
    {
        var (_, dev) = await UserAsync("dev", "proj");
        var first = await AccessClient.GetTokenAsync(App, dev, PullPush);
        Assert.Equal(HttpStatusCode.NoContent, await ApiAsync(dev, HttpMethod.Delete, "/api/v1/me/sessions"));
        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHORIZED"), await PushWithAsync(first));

        var second = await AccessClient.GetTokenAsync(App, dev, PullPush);

        Assert.Equal((HttpStatusCode.Created, null), await PushWithAsync(second));
    }
}

/// <summary>The transparent rehash of a password at sign-in (stronger parameters) keeps everything bound to the account.</summary>
public sealed class RehashBindingTests : AccessTest
{
    public RehashBindingTests()
        : base(new Dictionary<string, string?> { ["Berth:Auth:Passwords:Iterations"] = "2000" })
    {
    }

    [Fact]
    public async Task RefreshGrant_AfterTransparentRehashAtSignIn_StillWorks()
    {
        await Setup.ProjectAsync("proj");
        var weaker = new PasswordHasher(Microsoft.Extensions.Options.Options.Create(new PasswordHasherOptions { Iterations = 1000 }), System.Security.Cryptography.RandomNumberGenerator.Create());
        var created = await Service<IUserStore>().CreateAsync(UserName.Parse("dev"), weaker.Hash("dev-password"), false, CancellationToken.None);
        var (_, secret) = await Setup.TokenAsync(created.User!, AccessTokenScope.PullPush);
        using var client = App.CreateAnonymousClient();
        using var grant = await client.PostAsync("/token", new FormUrlEncodedContent([
            KeyValuePair.Create("grant_type", "password"), KeyValuePair.Create("username", "dev"),
            KeyValuePair.Create("password", secret), KeyValuePair.Create("access_type", "offline")]));
        using var json = JsonDocument.Parse(await grant.Content.ReadAsStringAsync());
        var refresh = json.RootElement.GetProperty("refresh_token").GetString()!;
        var registryToken = await AccessClient.GetTokenAsync(App, new Credentials("dev", "dev-password"), "repository:proj/app:pull");

        // The password sign-in above found the old parameters and stored a new hash of the same password.
        var after = (await Service<IUserStore>().GetAsync(created.User!.Id, CancellationToken.None))!;
        Assert.NotEqual(created.User.PasswordHash, after.PasswordHash);
        Assert.False(Service<PasswordHasher>().NeedsRehash(after.PasswordHash!));
        Assert.Equal(created.User.SecurityStamp, after.SecurityStamp);

        using var refreshed = await client.PostAsync("/token", new FormUrlEncodedContent([
            KeyValuePair.Create("grant_type", "refresh_token"), KeyValuePair.Create("refresh_token", refresh)]));
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.NotEmpty(registryToken);
    }
}
