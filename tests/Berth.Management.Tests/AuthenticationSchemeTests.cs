using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using Berth.Api.Access;
using Berth.Auth.Network;
using Berth.Core.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Management.Tests;

/// <summary>
/// /api authenticates through ASP.NET Core authentication: Berth's schemes behind one policy scheme, so another
/// scheme (a web console's cookie) can be added beside them without touching an endpoint.
/// </summary>
public sealed class AuthenticationSchemeTests : IDisposable
{
    private const string CookieScheme = "TestCookie";
    private const string CookieName = "test-session";

    private readonly ManagementApp _app = new(services: services =>
    {
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, TestCookieHandler>(CookieScheme, null);
        services.Configure<BerthAuthenticationOptions>(options =>
            options.Selectors.Add(context => context.Request.Cookies.ContainsKey(CookieName) ? CookieScheme : null));
    });

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task AddBerthAuthentication_Schemes_AreRegisteredBehindThePolicyScheme()
    {
        var schemes = _app.Service<IAuthenticationSchemeProvider>();
        Assert.Null(await schemes.GetDefaultAuthenticateSchemeAsync()); // authenticated when an API asks, never by middleware
        Assert.Equal(typeof(PolicySchemeHandler), (await schemes.GetSchemeAsync(BerthSchemes.Default))?.HandlerType);
        Assert.NotNull(await schemes.GetSchemeAsync(BerthSchemes.Basic));
        Assert.NotNull(await schemes.GetSchemeAsync(BerthSchemes.AccessToken));
    }

    [Fact]
    public async Task CustomScheme_AddedBeside_AuthenticatesApiRequestsWithoutEndpointChanges()
    {
        var client = _app.NewClient(null);
        client.DefaultRequestHeaders.Add("Cookie", CookieName + "=admin");

        var me = await client.GetJsonAsync("/api/v1/me");
        Assert.Equal("admin", me.GetProperty("name").GetString());
        using var users = await client.GetAsync("/api/v1/users");
        await Expect.StatusAsync(users, HttpStatusCode.OK);
    }

    [Fact]
    public async Task CustomScheme_BadSession_IsRefusedWithTheBasicChallenge()
    {
        var client = _app.NewClient(null);
        client.DefaultRequestHeaders.Add("Cookie", CookieName + "=nobody");

        using var response = await client.GetAsync("/api/v1/me");
        await Expect.ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task ApiRequest_TwoAuthorizationHeaders_Unauthorized()
    {
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + ManagementApp.AdminPassword));
        var client = _app.NewClient(null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        request.Headers.TryAddWithoutValidation("Authorization", [basic, basic]);

        using var response = await client.SendAsync(request);
        var problem = await Expect.ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("unsupported Authorization header", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("admin")] // no colon
    [InlineData("")] // nothing at all
    public async Task ApiRequest_BasicWithoutColon_UnauthorizedAndNotAudited(string text)
    {
        var client = _app.NewClient(new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(text))));

        using var response = await client.GetAsync("/api/v1/me");
        await Expect.ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Empty(await _app.AuditAsync(AuditActions.LoginFailure));
    }

    [Fact]
    public async Task ApiRequest_OversizedAuthorizationHeader_Unauthorized()
    {
        var huge = Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + new string('x', 16 * 1024)));
        var client = _app.NewClient(new AuthenticationHeaderValue("Basic", huge));

        using var response = await client.GetAsync("/api/v1/me");
        await Expect.ProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ApiRequest_BearerThatIsNotAnAccessToken_UnauthorizedWithoutCheckingIt()
    {
        // A registry token (a JWT) is for /v2 only.
        var client = _app.WithBearer("eyJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJvdGhlciJ9.c2ln");

        using var response = await client.GetAsync("/api/v1/me");
        var problem = await Expect.ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("access token", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiRequest_UnknownAccessToken_UnauthorizedAndAuditedAsToken()
    {
        var client = _app.WithBearer("berth_pat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");

        using var response = await client.GetAsync("/api/v1/me");
        var problem = await Expect.ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("incorrect user name, password or token", problem.GetProperty("detail").GetString());
        Assert.Contains("\"via\":\"token\"", Assert.Single(await _app.AuditAsync(AuditActions.LoginFailure)).Detail, StringComparison.Ordinal);
    }

    /// <summary>A stand-in for a console's cookie scheme: the cookie names the session, here the administrator's.</summary>
    private sealed class TestCookieHandler(
        IOptionsMonitor<AuthenticationSchemeOptions> options,
        ILoggerFactory logger,
        UrlEncoder encoder,
        Authenticator authenticator,
        ClientAddressResolver addresses) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Cookies[CookieName] != "admin")
            {
                return AuthenticateResult.Fail("no such session");
            }

            var result = await authenticator.AuthenticateAsync("admin", ManagementApp.AdminPassword, addresses.ResolveClient(Context), Context.RequestAborted);
            return result.Caller is { } caller
                ? AuthenticateResult.Success(new AuthenticationTicket(new CallerPrincipal(caller, Scheme.Name), Scheme.Name))
                : AuthenticateResult.Fail("session expired");
        }
    }
}
