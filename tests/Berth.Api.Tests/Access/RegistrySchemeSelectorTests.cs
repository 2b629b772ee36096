using System.Net;
using System.Text.Encodings.Web;
using Berth.Api.Access;
using Berth.Auth.Network;
using Berth.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Api.Tests.Access;

/// <summary>
/// A scheme added beside Berth's through <see cref="BerthAuthenticationOptions.Selectors"/> (a web console's session,
/// say) authenticates /v2 as well, without any change to the distribution API; its refusals get /v2's challenge.
/// </summary>
public sealed class RegistrySchemeSelectorTests : IDisposable
{
    private const string SessionScheme = "TestSession";
    private const string SessionHeader = "X-Test-Session";

    private readonly BerthApplication _app = new()
    {
        ConfigureTestServices = services =>
        {
            services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, TestSessionHandler>(SessionScheme, null);
            services.Configure<BerthAuthenticationOptions>(options =>
                options.Selectors.Add(context => context.Request.Headers.ContainsKey(SessionHeader) ? SessionScheme : null));
        },
    };

    public RegistrySchemeSelectorTests()
    {
        using var admin = _app.CreateClient();
        admin.PushBlobAsync("proj/app", TestImages.Bytes(10, 1)).GetAwaiter().GetResult();
    }

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task SelectorScheme_ValidSession_AuthenticatesV2()
    {
        using var response = await SendAsync("/v2/proj/app/tags/list", "admin");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task SelectorScheme_ValidSession_CatalogListsWithTheSessionsRights()
    {
        using var response = await SendAsync("/v2/_catalog", "admin");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("proj/app", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelectorScheme_UnknownSession_UnauthorizedWithTheV2Challenge()
    {
        using var response = await SendAsync("/v2/proj/app/tags/list", "nobody");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(
            "Bearer realm=\"http://localhost/token\",service=\"berth\",scope=\"repository:proj/app:pull\",error=\"invalid_token\"",
            response.Header("WWW-Authenticate"));
        Assert.Equal("UNAUTHORIZED", (await response.ReadErrorAsync()).Code);
    }

    [Fact]
    public async Task SelectorScheme_SessionWithoutBerthCaller_UnauthorizedNotAllowed()
    {
        using var response = await SendAsync("/v2/proj/app/tags/list", "foreign");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("these credentials do not name a Berth account", (await response.ReadErrorAsync()).Message);
    }

    [Fact]
    public async Task SelectorScheme_NoSessionHeader_BerthSchemesStillDecide()
    {
        using var anonymous = _app.CreateAnonymousClient();
        using var refused = await anonymous.GetAsync("/v2/proj/app/tags/list");
        using var admin = _app.CreateClient();
        using var allowed = await admin.GetAsync("/v2/proj/app/tags/list");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    private async Task<HttpResponseMessage> SendAsync(string path, string session)
    {
        using var client = _app.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add(SessionHeader, session);
        return await client.SendAsync(request);
    }

    /// <summary>"admin" is the administrator, "foreign" a principal that is not Berth's, anything else refused.</summary>
    private sealed class TestSessionHandler(
        IOptionsMonitor<AuthenticationSchemeOptions> options,
        ILoggerFactory logger,
        UrlEncoder encoder,
        Authenticator authenticator,
        ClientAddressResolver addresses) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            switch (Request.Headers[SessionHeader].ToString())
            {
                case "admin":
                    var result = await authenticator.AuthenticateAsync(BerthApplication.AdminUser, BerthApplication.AdminPassword, addresses.ResolveClient(Context), Context.RequestAborted);
                    return result.Caller is { } caller
                        ? AuthenticateResult.Success(new AuthenticationTicket(new CallerPrincipal(caller, Scheme.Name), Scheme.Name))
                        : AuthenticateResult.Fail("session expired");
                case "foreign":
                    return AuthenticateResult.Success(new AuthenticationTicket(new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(Scheme.Name)), Scheme.Name));
                default:
                    return AuthenticateResult.Fail("no such session");
            }
        }
    }
}
