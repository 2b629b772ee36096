using System.Net;
using System.Security.Cryptography;
using System.Text;
using Berth.Api.Access;
using Berth.Auth.Jwt;
using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.Oci;
using Berth.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Berth.Api.Tests.Access;

/// <summary>
/// /v2 authenticates a <c>Bearer</c> registry token through <see cref="BerthSchemes.RegistryToken"/>: every token that
/// is not one this server issued for its own service, and still valid, gets the same 401 with the same
/// <c>invalid_token</c> challenge, whatever is wrong with it, before and after the token was cached.
/// </summary>
public sealed class RegistryTokenSchemeTests : AccessTest
{
    private const string Path = "/v2/proj/app/tags/list";
    private const string InvalidToken = "Bearer realm=\"http://localhost/token\",service=\"berth\",scope=\"repository:proj/app:pull\",error=\"invalid_token\"";
    private static readonly Credentials AdminCredentials = new(BerthApplication.AdminUser, BerthApplication.AdminPassword);

    public RegistryTokenSchemeTests()
    {
        Admin.PushBlobAsync("proj/app", TestImages.Bytes(10, 1)).GetAwaiter().GetResult();
    }

    [Fact]
    public async Task Authenticate_RegistryTokenOnV2_PicksTheRegistryTokenScheme()
    {
        var schemes = Service<IAuthenticationSchemeProvider>();
        Assert.Equal(typeof(RegistryTokenAuthenticationHandler), (await schemes.GetSchemeAsync(BerthSchemes.RegistryToken))?.HandlerType);
        var token = await AccessClient.GetTokenAsync(App, AdminCredentials, "repository:proj/app:pull");

        using var response = await SendAsync("Bearer " + token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Authenticate_TokenForAnotherService_UnauthorizedWithInvalidToken()
    {
        // Signed with this server's own key, for another audience.
        var other = Issuer(Service<SigningKeyRing>(), service: "other").Issue("admin", [Pull("proj/app")]).Token;

        await AssertNotValidAsync("Bearer " + other, "the registry token is not valid");
    }

    [Fact]
    public async Task Authenticate_RefreshTokenAsBearer_UnauthorizedWithInvalidToken()
    {
        // A refresh token is signed by the same key but its audience is the token endpoint's, not /v2's.
        var refresh = Service<RegistryTokenService>().IssueRefreshToken("admin", new TokenBinding(TokenOwnerKind.User, 1)).Token;

        await AssertNotValidAsync("Bearer " + refresh, "the registry token is not valid");
    }

    [Fact]
    public async Task Authenticate_ExpiredToken_UnauthorizedAsExpired()
    {
        var token = await AccessClient.GetTokenAsync(App, AdminCredentials, "repository:proj/app:pull");
        App.Clock.Advance(TimeSpan.FromMinutes(6)); // five minutes of life and thirty seconds of skew

        await AssertNotValidAsync("Bearer " + token, "the registry token has expired");
    }

    [Fact]
    public async Task Authenticate_ExpiredAfterItWasCached_UnauthorizedAsExpired()
    {
        var token = await AccessClient.GetTokenAsync(App, AdminCredentials, "repository:proj/app:pull");
        using (var first = await SendAsync("Bearer " + token))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        App.Clock.Advance(TimeSpan.FromMinutes(6));

        await AssertNotValidAsync("Bearer " + token, "the registry token has expired");
    }

    [Fact]
    public async Task Authenticate_SignedByAnUnknownKey_UnauthorizedWithInvalidToken()
    {
        using var stranger = SigningKeyRing.CreateEphemeral();
        var forged = Issuer(stranger, service: "berth").Issue("admin", [Pull("proj/app")]).Token;

        await AssertNotValidAsync("Bearer " + forged, "the registry token is not valid");
    }

    [Fact]
    public async Task Authenticate_AlgNone_UnauthorizedWithInvalidToken()
    {
        var token = await AccessClient.GetTokenAsync(App, AdminCredentials, "repository:proj/app:pull");
        var parts = token.Split('.');
        var header = Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}");

        await AssertNotValidAsync("Bearer " + header + "." + parts[1] + ".", "the registry token is not valid");
        await AssertNotValidAsync("Bearer " + header + "." + parts[1] + "." + parts[2], "the registry token is not valid");
    }

    [Fact]
    public async Task Authenticate_TwoAuthorizationHeaders_UnauthorizedEvenWhenBothAreValid()
    {
        var token = await AccessClient.GetTokenAsync(App, AdminCredentials, "repository:proj/app:pull");
        using (var first = await SendAsync("Bearer " + token))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode); // cached: the second header must not ride on it
        }

        await AssertNotValidAsync(["Bearer " + token, "Bearer " + token], "the registry token is not valid");
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(AdminCredentials.User + ":" + AdminCredentials.Secret));
        await AssertNotValidAsync(["Bearer " + token, basic], "the registry token is not valid");
    }

    [Theory]
    [InlineData("Bearer ")]
    [InlineData("Bearer")]
    [InlineData("bearer    ")]
    public async Task Authenticate_BearerWithoutToken_UnauthorizedWithChallenge(string header)
    {
        using var response = await SendAsync(header);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = response.Header("WWW-Authenticate");
        Assert.NotNull(challenge);
        Assert.StartsWith("Bearer realm=\"http://localhost/token\",service=\"berth\",scope=\"repository:proj/app:pull\",error=\"invalid_", challenge, StringComparison.Ordinal);
        Assert.Equal("UNAUTHORIZED", (await response.ReadErrorAsync()).Code);
    }

    [Fact]
    public async Task Authenticate_AccessTokenAsBearerOnV2_UnauthorizedWithInvalidToken()
    {
        // Access tokens are for /api (or as the Basic password); Bearer on /v2 is a registry token.
        await AssertNotValidAsync("Bearer berth_pat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "the registry token is not valid");
    }

    private async Task AssertNotValidAsync(string authorization, string message) => await AssertNotValidAsync([authorization], message);

    private async Task AssertNotValidAsync(string[] authorization, string message)
    {
        using var response = await SendAsync(authorization);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(InvalidToken, response.Header("WWW-Authenticate"));
        Assert.Equal(message, (await response.ReadErrorAsync()).Message);
    }

    private async Task<HttpResponseMessage> SendAsync(params string[] authorization)
    {
        using var client = AccessClient.Basic(App, null);
        using var request = new HttpRequestMessage(HttpMethod.Get, Path);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return await client.SendAsync(request);
    }

    private RegistryTokenService Issuer(SigningKeyRing keys, string service) =>
        new(keys, Options.Create(new RegistryTokenOptions { Service = service }), App.Clock, RandomNumberGenerator.Create());

    private static RegistryPermission Pull(string repository) => new(RepositoryName.Parse(repository), RegistryActions.Pull);

    private static string Base64Url(string json) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
