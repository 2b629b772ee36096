using System.Net;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>The Docker token service at /token: GET with Basic or no credentials, POST with OAuth2 grants.</summary>
public sealed class TokenEndpointTests : AccessTest
{
    private const string Pull = "repository:proj/app:pull";
    private const string PullPush = "repository:proj/app:pull,push";

    public TokenEndpointTests()
    {
        Setup.ProjectAsync("proj").GetAwaiter().GetResult();
        Setup.ProjectAsync("pub", isPublic: true).GetAwaiter().GetResult();
    }

    private async Task<JsonElement> GetJsonAsync(HttpClient client, string path, HttpStatusCode status = HttpStatusCode.OK)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{path}: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.Clone();
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(params (string Key, string Value)[] form)
    {
        using var client = App.CreateAnonymousClient();
        using var response = await client.PostAsync("/token", new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Key, f.Value))));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.Clone());
    }

    [Theory]
    [InlineData("Bearer berth_pat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // not Basic
    [InlineData("Basic ZGV2")] // "dev": no colon
    [InlineData("Basic !!!")] // not base64
    public async Task Get_AuthorizationThatIsNotBasic_UnauthorizedWithBasicChallenge(string authorization)
    {
        using var client = App.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, AccessClient.TokenPath(Pull));
        request.Headers.TryAddWithoutValidation("Authorization", authorization);

        using var response = await client.SendAsync(request);
        await OciAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("takes Basic credentials", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_TwoAuthorizationHeaders_Unauthorized()
    {
        var (_, credentials) = await UserAsync("dev", "proj");
        using var right = AccessClient.Basic(App, credentials);
        var basic = right.DefaultRequestHeaders.Authorization!.ToString();
        using var client = App.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, AccessClient.TokenPath(Pull));
        request.Headers.TryAddWithoutValidation("Authorization", [basic, basic]);

        using var response = await client.SendAsync(request);
        await OciAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task Anonymous_GetsATokenWithWhatEveryoneMayDo()
    {
        using var client = App.CreateAnonymousClient();
        using var response = await client.GetAsync(AccessClient.TokenPath(Pull, "repository:pub/app:pull,push"));
        await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        Assert.True(response.Headers.CacheControl?.NoStore);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        var token = root.GetProperty("token").GetString()!;
        Assert.Equal(token, root.GetProperty("access_token").GetString());
        Assert.Equal(300, root.GetProperty("expires_in").GetInt32());
        Assert.Equal("2026-01-01T00:00:00Z", root.GetProperty("issued_at").GetString());
        Assert.False(root.TryGetProperty("refresh_token", out _));
        Assert.Equal(["repository:pub/app:pull"], AccessClient.AccessOf(token));
    }

    [Fact]
    public async Task Basic_WithPasswordOrAccessToken_GrantsTheUsersRights()
    {
        var (user, credentials) = await UserAsync("dev", "proj");
        var (_, secret) = await Setup.TokenAsync(user, AccessTokenScope.Pull);

        var byPassword = await AccessClient.GetTokenAsync(App, credentials, PullPush);
        var byToken = await AccessClient.GetTokenAsync(App, new Credentials("dev", secret), PullPush);

        Assert.Equal([PullPush], AccessClient.AccessOf(byPassword));
        Assert.Equal([Pull], AccessClient.AccessOf(byToken)); // the token's scope limits it
        using var wrongName = AccessClient.Basic(App, new Credentials("admin", secret));
        using var response = await wrongName.GetAsync(AccessClient.TokenPath(Pull));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("\"code\":\"UNAUTHORIZED\"", await response.Content.ReadAsStringAsync());
        using var wrongPassword = AccessClient.Basic(App, new Credentials("dev", "nope"));
        using var refused = await wrongPassword.GetAsync(AccessClient.TokenPath(Pull));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(await response.Content.ReadAsStringAsync(), await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task PartialGrant_IsStillOk()
    {
        var (_, reader) = await UserAsync("reader", "proj", ProjectRole.Reader);

        var token = await AccessClient.GetTokenAsync(App, reader, PullPush, "repository:proj/other:delete");

        Assert.Equal([Pull], AccessClient.AccessOf(token));
        using var client = AccessClient.Bearer(App, token);
        using var response = await client.PostAsync("/v2/proj/app/blobs/uploads/", null);
        await OciAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("error=\"insufficient_scope\"", response.Header("WWW-Authenticate"));
    }

    [Theory]
    [InlineData("repository:localhost/proj/app:pull")]
    [InlineData("repository:localhost:5000/proj/app:pull")]
    [InlineData("repository:127.0.0.1:5000/proj/app:pull")]
    public async Task HostPrefixes_AreStripped(string scope)
    {
        var token = await AccessClient.GetTokenAsync(App, new Credentials(BerthApplication.AdminUser, BerthApplication.AdminPassword), scope);

        Assert.Equal([Pull], AccessClient.AccessOf(token));
    }

    [Fact]
    public async Task RepeatedAndSpaceSeparatedScopes_AreMerged()
    {
        var admin = new Credentials(BerthApplication.AdminUser, BerthApplication.AdminPassword);

        var token = await AccessClient.GetTokenAsync(App, admin, Pull, "repository:proj/app:push repository:pub/app:pull", "registry:catalog:*");

        Assert.Equal([PullPush, "repository:pub/app:pull", "registry:catalog:*"], AccessClient.AccessOf(token));
    }

    [Fact]
    public async Task CatalogScope_IsGrantedToSignedInCallersOnly()
    {
        var anonymous = await AccessClient.GetTokenAsync(App, null, "registry:catalog:*");
        var (_, stranger) = await UserAsync("stranger");
        var signedIn = await AccessClient.GetTokenAsync(App, stranger, "registry:catalog:*");

        Assert.Empty(AccessClient.AccessOf(anonymous));
        Assert.Equal(["registry:catalog:*"], AccessClient.AccessOf(signedIn));
    }

    [Fact]
    public async Task WrongService_IsRefused()
    {
        using var client = App.CreateAnonymousClient();
        using var response = await client.GetAsync("/token?service=elsewhere&scope=" + Pull);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task PasswordGrant_WithAndWithoutOffline()
    {
        var (status, json) = await PostAsync(("grant_type", "password"), ("username", "admin"), ("password", BerthApplication.AdminPassword), ("service", "berth"), ("scope", Pull));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([Pull], AccessClient.AccessOf(json.GetProperty("access_token").GetString()!));
        Assert.False(json.TryGetProperty("refresh_token", out _));

        (status, json) = await PostAsync(("grant_type", "password"), ("username", "admin"), ("password", BerthApplication.AdminPassword), ("access_type", "offline"), ("client_id", "docker"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(string.IsNullOrEmpty(json.GetProperty("refresh_token").GetString()));
    }

    [Fact]
    public async Task GetWithOfflineToken_ReturnsARefreshTokenThatTheRefreshGrantTakes()
    {
        var (_, credentials) = await UserAsync("dev", "proj");
        using var client = AccessClient.Basic(App, credentials);
        var json = await GetJsonAsync(client, AccessClient.TokenPath(Pull) + "&offline_token=true&client_id=docker");
        var refresh = json.GetProperty("refresh_token").GetString()!;

        var (status, refreshed) = await PostAsync(("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", "berth"), ("scope", PullPush));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(PullPush, refreshed.GetProperty("scope").GetString());
        Assert.Equal([PullPush], AccessClient.AccessOf(refreshed.GetProperty("access_token").GetString()!));
        Assert.Equal(refresh, refreshed.GetProperty("refresh_token").GetString());
        using var anonymous = App.CreateAnonymousClient();
        Assert.False((await GetJsonAsync(anonymous, AccessClient.TokenPath(Pull) + "&offline_token=true")).TryGetProperty("refresh_token", out _));
    }

    [Fact]
    public async Task RefreshGrant_WorksUntilTheUserIsDisabled()
    {
        var (user, credentials) = await UserAsync("dev", "proj");
        var (_, json) = await PostAsync(("grant_type", "password"), ("username", "dev"), ("password", credentials.Secret), ("access_type", "offline"));
        var refresh = json.GetProperty("refresh_token").GetString()!;

        var (status, refreshed) = await PostAsync(("grant_type", "refresh_token"), ("refresh_token", refresh), ("scope", PullPush));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([PullPush], AccessClient.AccessOf(refreshed.GetProperty("access_token").GetString()!));

        await Service<IUserStore>().SetDisabledAsync(user.Id, true, CancellationToken.None);
        (status, refreshed) = await PostAsync(("grant_type", "refresh_token"), ("refresh_token", refresh), ("scope", Pull));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", refreshed.GetProperty("error").GetString());
    }

    [Fact]
    public async Task RefreshGrant_StopsWhenTheAccessTokenIsRevoked()
    {
        var (user, _) = await UserAsync("dev", "proj");
        var (token, secret) = await Setup.TokenAsync(user, AccessTokenScope.PullPush);
        var (_, json) = await PostAsync(("grant_type", "password"), ("username", "dev"), ("password", secret), ("access_type", "offline"));
        var refresh = json.GetProperty("refresh_token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(("grant_type", "refresh_token"), ("refresh_token", refresh))).Status);

        await Setup.RevokeAsync(token);

        var (status, refused) = await PostAsync(("grant_type", "refresh_token"), ("refresh_token", refresh));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", refused.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("password", "admin", "wrong", null)]
    [InlineData("password", "nobody", "wrong", null)]
    [InlineData("refresh_token", null, null, "not-a-token")]
    [InlineData("refresh_token", null, null, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.")]
    public async Task InvalidGrant_Is400(string grant, string? user, string? password, string? refresh)
    {
        var form = new List<(string, string)> { ("grant_type", grant) };
        if (user is not null)
        {
            form.Add(("username", user));
            form.Add(("password", password!));
        }

        if (refresh is not null)
        {
            form.Add(("refresh_token", refresh));
        }

        var (status, json) = await PostAsync([.. form]);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task AccessTokenAsRefreshToken_IsAnInvalidGrant()
    {
        var access = await AccessClient.GetTokenAsync(App, new Credentials(BerthApplication.AdminUser, BerthApplication.AdminPassword), Pull);

        var (status, json) = await PostAsync(("grant_type", "refresh_token"), ("refresh_token", access));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Token_Body_HasTheFieldsClientsReadInOrder()
    {
        var (_, credentials) = await UserAsync("dev", "proj");
        using var client = AccessClient.Basic(App, credentials);
        using var anonymous = App.CreateAnonymousClient();

        using var plain = await anonymous.GetAsync(AccessClient.TokenPath("repository:pub/app:pull"));
        var token = JsonDocument.Parse(await plain.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString();
        var offline = await GetJsonAsync(client, AccessClient.TokenPath(Pull) + "&offline_token=true&client_id=docker");
        using var refreshed = await anonymous.PostAsync("/token", new FormUrlEncodedContent(
        [
            KeyValuePair.Create("grant_type", "refresh_token"),
            KeyValuePair.Create("refresh_token", offline.GetProperty("refresh_token").GetString()!),
            KeyValuePair.Create("scope", Pull),
        ]));

        Assert.Equal($$"""{"token":"{{token}}","access_token":"{{token}}","expires_in":300,"issued_at":"2026-01-01T00:00:00Z"}""", await plain.Content.ReadAsStringAsync());
        Assert.Equal("application/json", plain.Content.Headers.ContentType?.MediaType);
        var body = await refreshed.Content.ReadAsStringAsync();
        var names = JsonDocument.Parse(body).RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["token", "access_token", "expires_in", "issued_at", "refresh_token", "scope"], names);
    }

    [Fact]
    public async Task OAuthError_Body_IsErrorThenDescription()
    {
        using var client = App.CreateAnonymousClient();

        using var response = await client.PostAsync("/token", new FormUrlEncodedContent([KeyValuePair.Create("grant_type", "client_credentials")]));

        var body = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("""{"error":"unsupported_grant_type","error_description":""", body, StringComparison.Ordinal);
        Assert.Equal(["error", "error_description"], JsonDocument.Parse(body).RootElement.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task UnsupportedGrantType_Is400()
    {
        var (status, json) = await PostAsync(("grant_type", "client_credentials"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("unsupported_grant_type", json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task TamperedToken_IsRefusedByTheRegistry()
    {
        await Admin.PushManifestAsync("proj/app", TestImages.OciImage(1), "v1");
        var token = await AccessClient.GetTokenAsync(App, new Credentials(BerthApplication.AdminUser, BerthApplication.AdminPassword), Pull);
        using (var good = AccessClient.Bearer(App, token))
        using (var ok = await good.GetAsync("/v2/proj/app/manifests/v1"))
        {
            await OciAssert.StatusAsync(ok, HttpStatusCode.OK);
        }

        var parts = token.Split('.');
        var payload = parts[1].ToCharArray();
        payload[10] = payload[10] == 'A' ? 'B' : 'A';
        var tampered = $"{parts[0]}.{new string(payload)}.{parts[2]}";

        using var client = AccessClient.Bearer(App, tampered);
        using var response = await client.GetAsync("/v2/proj/app/manifests/v1");
        await OciAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("error=\"invalid_token\"", response.Header("WWW-Authenticate"));
    }

    [Fact]
    public async Task ExpiredRegistryToken_IsRefused()
    {
        await Admin.PushManifestAsync("proj/app", TestImages.OciImage(1), "v1");
        var token = await AccessClient.GetTokenAsync(App, new Credentials(BerthApplication.AdminUser, BerthApplication.AdminPassword), Pull);
        using var client = AccessClient.Bearer(App, token);

        App.Clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(20)); // within the 30 s skew
        using (var stillValid = await client.GetAsync("/v2/proj/app/manifests/v1"))
        {
            await OciAssert.StatusAsync(stillValid, HttpStatusCode.OK);
        }

        App.Clock.Advance(TimeSpan.FromSeconds(15));
        using var response = await client.GetAsync("/v2/proj/app/manifests/v1");
        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("expired", error.Message);
    }
}
