using System.Security.Claims;
using System.Text.Encodings.Web;
using Berth.Api.Hosting;
using Berth.Application.Access;
using Berth.Core.Access;
using Berth.Auth.Jwt;
using Berth.Auth.Network;
using Berth.Auth.Tokens;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Api.Access;

/// <summary>The authentication schemes of Berth's APIs (ASP.NET Core authentication).</summary>
public static class BerthSchemes
{
    /// <summary>
    /// The policy scheme every API authenticates with: it forwards each request to one of the schemes below by path
    /// and <c>Authorization</c> header (<see cref="BerthAuthenticationOptions.Selectors"/> first, so another scheme, a
    /// web console's cookie for example, can be added beside them without touching an endpoint).
    /// </summary>
    public const string Default = "Berth";

    /// <summary><c>Authorization: Basic</c>: a user name with a password, or an account's access token as the password.</summary>
    public const string Basic = "Basic";

    /// <summary><c>Authorization: Bearer berth_pat_…</c> or <c>berth_robot_…</c>: an access token alone (the management API).</summary>
    public const string AccessToken = "BerthAccessToken";

    /// <summary><c>Authorization: Bearer &lt;jwt&gt;</c> on <c>/v2</c>: a registry token issued by <c>/token</c>.</summary>
    public const string RegistryToken = "BerthRegistryToken";
}

/// <summary>Options of the <see cref="BerthSchemes.Default"/> policy scheme.</summary>
public sealed class BerthAuthenticationOptions
{
    /// <summary>
    /// Consulted in order before the built-in choice: the first scheme name returned authenticates the request
    /// (null: no opinion).
    /// </summary>
    public IList<Func<HttpContext, string?>> Selectors { get; } = [];
}

/// <summary>
/// What every Berth scheme's handler produces: a principal that carries the <see cref="Caller"/> (no claims are
/// copied; the API reads the caller through <see cref="From"/>, the one place a principal becomes a caller).
/// </summary>
public class CallerPrincipal : ClaimsPrincipal
{
    public CallerPrincipal(Caller caller, string scheme)
        : base(new ClaimsIdentity(scheme))
    {
        Caller = caller;
    }

    public Caller Caller { get; }

    /// <summary>The caller a principal stands for; null when it is not one of Berth's (a scheme that does not produce them).</summary>
    public static Caller? From(ClaimsPrincipal? principal) => (principal as CallerPrincipal)?.Caller;
}

/// <summary>
/// What <see cref="BerthSchemes.RegistryToken"/> produces: the caller the token names, and the token's claims (its grant
/// decided when it was issued, which the /v2 authorizer checks instead of the account's rights).
/// </summary>
public sealed class RegistryTokenPrincipal : CallerPrincipal
{
    public RegistryTokenPrincipal(Caller caller, RegistryTokenClaims token, string scheme)
        : base(caller, scheme)
    {
        Token = token;
    }

    public RegistryTokenClaims Token { get; }
}

/// <summary>Why a registry token was refused, carried as the failure of an <see cref="AuthenticateResult"/> (never thrown).</summary>
public sealed class RegistryTokenRefused : Exception
{
    public RegistryTokenRefused(RegistryTokenStatus status)
        : base(status == RegistryTokenStatus.Expired ? "the registry token has expired" : "the registry token is not valid")
    {
        Status = status;
    }

    public RegistryTokenRefused()
        : this(RegistryTokenStatus.Malformed)
    {
    }

    public RegistryTokenRefused(string message)
        : base(message)
    {
        Status = RegistryTokenStatus.Malformed;
    }

    public RegistryTokenRefused(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = RegistryTokenStatus.Malformed;
    }

    /// <summary>Why the token is not valid (never <see cref="RegistryTokenStatus.Valid"/>).</summary>
    public RegistryTokenStatus Status { get; }
}

/// <summary>Why credentials were refused, carried as the failure of an <see cref="AuthenticateResult"/> (never thrown).</summary>
public sealed class CredentialsRefused : Exception
{
    public CredentialsRefused(AuthenticationStatus status, string message, string? user = null, string? via = null, TimeSpan retryAfter = default)
        : base(message)
    {
        Status = status;
        User = user;
        Via = via;
        RetryAfter = retryAfter;
    }

    public CredentialsRefused()
        : this(AuthenticationStatus.Failed, "credentials refused")
    {
    }

    public CredentialsRefused(string message)
        : this(AuthenticationStatus.Failed, message)
    {
    }

    public CredentialsRefused(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary><see cref="AuthenticationStatus.Failed"/> (bad credentials, or a header this scheme does not take) or <see cref="AuthenticationStatus.Throttled"/>.</summary>
    public AuthenticationStatus Status { get; }

    /// <summary>The user name claimed (Basic), for the audit of failed sign-ins.</summary>
    public string? User { get; }

    /// <summary>How the sign-in was tried (<c>password</c> or <c>token</c>), for the audit; null when no credentials were checked.</summary>
    public string? Via { get; }

    public TimeSpan RetryAfter { get; }

    internal static AuthenticateResult Fail(AuthenticationResult result, string? user, string via) =>
        AuthenticateResult.Fail(result.Status == AuthenticationStatus.Throttled
            ? new CredentialsRefused(AuthenticationStatus.Throttled, "too many failed sign-ins; try again later", user, via, result.RetryAfter)
            : new CredentialsRefused(AuthenticationStatus.Failed, "incorrect user name, password or token", user, via));
}

/// <summary>
/// <see cref="BerthSchemes.Basic"/>: no <c>Authorization</c> header is no result (anonymous); a header that is not
/// well-formed Basic fails without checking anything; otherwise <see cref="Authenticator"/> decides (throttled
/// failures included), a success reused for 2 s through <see cref="TokenSubjects.SignInAsync"/>.
/// </summary>
internal sealed class BasicAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TokenSubjects signIns, ClientAddressResolver addresses)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var headers = Request.Headers.Authorization;
        if (headers.Count == 0)
        {
            return AuthenticateResult.NoResult();
        }

        if (headers.Count > 1 || !BasicCredentials.TryParse(headers[0], out var user, out var secret))
        {
            return AuthenticateResult.Fail(new CredentialsRefused(AuthenticationStatus.Failed, "unsupported Authorization header: use Basic or Bearer with an access token"));
        }

        var result = await signIns.SignInAsync(user, secret, addresses.ResolveClient(Context), Context.RequestAborted);
        return result.Caller is { } caller
            ? AuthenticateResult.Success(new AuthenticationTicket(new CallerPrincipal(caller, Scheme.Name), Scheme.Name))
            : CredentialsRefused.Fail(result, user, AccessTokenService.TryParse(secret, out _) ? "token" : "password");
    }
}

/// <summary><see cref="BerthSchemes.AccessToken"/>: <c>Authorization: Bearer</c> with a personal access token or a robot token.</summary>
internal sealed class AccessTokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, Authenticator authenticator, ClientAddressResolver addresses)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string Prefix = "Bearer ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var headers = Request.Headers.Authorization;
        if (headers.Count == 0)
        {
            return AuthenticateResult.NoResult();
        }

        var authorization = headers.Count == 1 ? headers[0] : null;
        if (authorization is null || !authorization.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail(new CredentialsRefused(AuthenticationStatus.Failed, "unsupported Authorization header: use Basic or Bearer with an access token"));
        }

        var token = authorization[Prefix.Length..].Trim();
        if (!token.StartsWith(AccessTokenService.UserPrefix, StringComparison.Ordinal) && !token.StartsWith(AccessTokenService.RobotPrefix, StringComparison.Ordinal))
        {
            return AuthenticateResult.Fail(new CredentialsRefused(AuthenticationStatus.Failed, "the management API takes Basic credentials or an access token (Bearer berth_pat_… or berth_robot_…)"));
        }

        var result = await authenticator.AuthenticateTokenAsync(token, addresses.ResolveClient(Context), Context.RequestAborted);
        return result.Caller is { } caller
            ? AuthenticateResult.Success(new AuthenticationTicket(new CallerPrincipal(caller, Scheme.Name), Scheme.Name))
            : CredentialsRefused.Fail(result, null, "token");
    }
}

/// <summary>
/// <see cref="BerthSchemes.RegistryToken"/>: <c>Authorization: Bearer &lt;jwt&gt;</c>, a registry token from <c>/token</c>,
/// checked through <see cref="RegistryTokenCache"/> (signature once per token, then its claims until it expires). No
/// header is no result; two headers, another scheme or a token that is not valid fail with a
/// <see cref="RegistryTokenRefused"/>. The caller is the token's subject as the token names it; whether that account
/// may still write is the authorizer's question, asked only for writes.
/// </summary>
internal sealed class RegistryTokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, RegistryTokenCache tokens, ClientAddressResolver addresses)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string Prefix = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var headers = Request.Headers.Authorization;
        if (headers.Count == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var authorization = headers.Count == 1 ? headers[0] : null;
        if (authorization is null || !authorization.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail(new RegistryTokenRefused(RegistryTokenStatus.Malformed)));
        }

        var validation = tokens.Validate(authorization.AsSpan(Prefix.Length).Trim());
        if (validation.Claims is not { } claims)
        {
            return Task.FromResult(AuthenticateResult.Fail(new RegistryTokenRefused(validation.Status)));
        }

        var kind = claims.Subject.Length == 0 ? AuditActorKind.Anonymous : claims.Subject.Contains('+', StringComparison.Ordinal) ? AuditActorKind.Robot : AuditActorKind.User;
        var caller = new Caller(null, kind, claims.Subject, addresses.ResolveClient(Context), claims.AccessTokenId) { Binding = claims.Binding };
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new RegistryTokenPrincipal(caller, claims, Scheme.Name), Scheme.Name)));
    }
}

public static class BerthAuthenticationServiceCollectionExtensions
{
    /// <summary>
    /// Registers ASP.NET Core authentication with Berth's schemes and the <see cref="BerthSchemes.Default"/> policy
    /// scheme that picks one per request. Authentication runs when an API's authorizer asks for it
    /// (<c>HttpContext.AuthenticateAsync</c>), after the IP allow lists, never as middleware, so nothing is
    /// authenticated twice or before it is needed.
    /// </summary>
    public static IServiceCollection AddBerthAuthentication(this IServiceCollection services)
    {
        services.AddOptions<BerthAuthenticationOptions>();

        // AuthenticationHandler logs every failure at Information; refused sign-ins are audited (and throttled) by
        // the APIs already, so the handlers' own lines would only repeat them.
        services.Configure<LoggerFilterOptions>(options =>
        {
            options.AddFilter(typeof(BasicAuthenticationHandler).FullName, LogLevel.Warning);
            options.AddFilter(typeof(AccessTokenAuthenticationHandler).FullName, LogLevel.Warning);
            options.AddFilter(typeof(RegistryTokenAuthenticationHandler).FullName, LogLevel.Warning);
        });
        services.TryAddSingleton<RegistryTokenCache>();
        // No default scheme: WebApplication adds the authentication middleware by itself once authentication is
        // registered, and with a default it would authenticate every request before the IP allow lists, the body
        // limits and the route's own checks (and /v2 a second time). Each API asks for BerthSchemes.Default itself.
        services.AddAuthentication()
            .AddPolicyScheme(BerthSchemes.Default, "Berth (by path and header)", options => options.ForwardDefaultSelector = SelectScheme)
            .AddScheme<AuthenticationSchemeOptions, BasicAuthenticationHandler>(BerthSchemes.Basic, null)
            .AddScheme<AuthenticationSchemeOptions, AccessTokenAuthenticationHandler>(BerthSchemes.AccessToken, null)
            .AddScheme<AuthenticationSchemeOptions, RegistryTokenAuthenticationHandler>(BerthSchemes.RegistryToken, null);
        return services;
    }

    private static string SelectScheme(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<BerthAuthenticationOptions>>().Value;
        for (var i = 0; i < options.Selectors.Count; i++)
        {
            if (options.Selectors[i](context) is { } chosen)
            {
                return chosen;
            }
        }

        // Bearer means an access token on /api and a registry token on /v2 (where two headers are the registry token
        // scheme's to refuse, as the /v2 challenge says); anything else, and Bearer elsewhere, is Basic's to take or refuse.
        var headers = context.Request.Headers.Authorization;
        if (headers.Count == 0 || headers[0] is not { } authorization || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return BerthSchemes.Basic;
        }

        return ApiSurfaces.Of(context.Request) switch
        {
            ApiSurface.Registry => BerthSchemes.RegistryToken,
            ApiSurface.Management when headers.Count == 1 => BerthSchemes.AccessToken,
            _ => BerthSchemes.Basic,
        };
    }
}
