using System.Globalization;
using System.Net;
using System.Text.Json;
using Berth.Api.Hosting;
using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Application.Projects;
using Berth.Auth.Jwt;
using Berth.Auth.Network;
using Berth.Auth.Permissions;
using Berth.Auth.Scopes;
using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Berth.Api.Access;

/// <summary>
/// The Docker token service: <c>GET /token</c> (Basic credentials or none) and <c>POST /token</c> (OAuth2
/// <c>password</c> and <c>refresh_token</c> grants). The answer grants the intersection of the scopes asked for
/// and what the caller holds; a partial or empty grant is not an error (the registry refuses the rest later).
/// </summary>
public static class TokenEndpoints
{
    public const string Path = ApiSurfaces.TokenPath;

    /// <summary>
    /// Scopes one token request may name (each <c>scope</c> parameter may hold several, separated by spaces). A client
    /// asks for the repositories of one push or pull, a handful; the token grants each by name, so without a bound
    /// one request could make the server sign a token of megabytes.
    /// </summary>
    public const int MaxScopes = 100;

    private const string FormMediaType = "application/x-www-form-urlencoded";

    /// <summary>
    /// What a token form may hold: a few short parameters (grant, user name, password or refresh token) and the scopes,
    /// which containerd sends space-separated in one value. A value is bounded by the body's limit (a body over it is
    /// a 413 before any value could be), names and the number of fields by these.
    /// </summary>
    private static readonly FormOptions FormLimits = new()
    {
        ValueCountLimit = MaxScopes + 32,
        KeyLengthLimit = 256,
        ValueLengthLimit = (int)RequestBodyLimits.DefaultMaxBytes,
        BufferBody = false,
    };

    public static IEndpointRouteBuilder MapTokenEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Path, (Delegate)GetAsync);
        endpoints.MapPost(Path, (Delegate)PostAsync).DisableAntiforgery();
        return endpoints;
    }

    private static async Task<IResult> GetAsync(HttpContext context)
    {
        var services = Services.From(context);
        var query = context.Request.Query;
        if (WrongService(services, query["service"]) is { } wrong)
        {
            return wrong;
        }

        var address = services.Address(context);
        if (!await services.IpRules.AllowsServerAsync(address, context.RequestAborted))
        {
            return OciError(StatusCodes.Status403Forbidden, OciErrorCode.Denied, $"requests from {address} are not allowed by the IP allow list");
        }

        if (TooManyScopes(query["scope"]) is { } tooMany)
        {
            return OciError(StatusCodes.Status400BadRequest, OciErrorCode.Unsupported, tooMany);
        }

        var caller = Caller.Anonymous(address);
        var authentication = await context.AuthenticateAsync(BerthSchemes.Default);
        if (authentication.Succeeded)
        {
            if (CallerPrincipal.From(authentication.Principal) is not { } signedIn)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"berth\"";
                return OciError(StatusCodes.Status401Unauthorized, OciErrorCode.Unauthorized, "the token endpoint takes Basic credentials (user name and password or access token)");
            }

            caller = signedIn;
            await services.Audit.RecordLoginAsync(caller, caller.ByAccessToken ? "token" : "password", "token");
        }
        else if (!authentication.None)
        {
            var refused = authentication.Failure as CredentialsRefused;
            if (refused?.Status == AuthenticationStatus.Throttled)
            {
                context.Response.SetRetryAfter(refused.RetryAfter);
                return OciError(StatusCodes.Status429TooManyRequests, OciErrorCode.TooManyRequests, "too many failed sign-ins; try again later");
            }

            context.Response.Headers.WWWAuthenticate = "Basic realm=\"berth\"";
            if (refused?.Via is not { } via)
            {
                return OciError(StatusCodes.Status401Unauthorized, OciErrorCode.Unauthorized, "the token endpoint takes Basic credentials (user name and password or access token)");
            }

            await services.Audit.RecordLoginFailureAsync(address, refused.User, "token", via);
            return OciError(StatusCodes.Status401Unauthorized, OciErrorCode.Unauthorized, "incorrect user name or password");
        }

        var issued = await IssueAsync(context, services, caller, query["scope"]);
        string? refresh = null;
        if (caller.Binding is { } binding && string.Equals(query["offline_token"], "true", StringComparison.OrdinalIgnoreCase))
        {
            refresh = services.Tokens.IssueRefreshToken(caller.Name, binding).Token;
        }

        return TokenResponse(issued, refresh, scope: null);
    }

    private static async Task<IResult> PostAsync(HttpContext context)
    {
        var services = Services.From(context);
        var address = services.Address(context);
        if (!await services.IpRules.AllowsServerAsync(address, context.RequestAborted))
        {
            return OAuthError(StatusCodes.Status403Forbidden, "access_denied", $"requests from {address} are not allowed by the IP allow list");
        }

        var (form, invalid) = await ReadFormAsync(context);
        if (invalid is not null)
        {
            return invalid;
        }

        if (WrongService(services, form["service"]) is { } wrong)
        {
            return wrong;
        }

        if (TooManyScopes(form["scope"]) is { } tooMany)
        {
            return OAuthError(StatusCodes.Status400BadRequest, "invalid_scope", tooMany);
        }

        Caller? caller;
        string? refresh = null;
        switch (form["grant_type"].ToString())
        {
            case "password":
            {
                var user = form["username"].ToString();
                var password = form["password"].ToString();
                if (user.Length == 0 || password.Length == 0)
                {
                    return OAuthError(StatusCodes.Status400BadRequest, "invalid_request", "the password grant needs username and password");
                }

                var result = await services.Authenticator.AuthenticateAsync(user, password, address, context.RequestAborted);
                if (result.Status == AuthenticationStatus.Throttled)
                {
                    context.Response.SetRetryAfter(result.RetryAfter);
                    return OAuthError(StatusCodes.Status429TooManyRequests, "slow_down", "too many failed sign-ins; try again later");
                }

                caller = result.Caller;
                if (caller is null)
                {
                    await services.Audit.RecordLoginFailureAsync(address, user, "token", ViaOf(password));
                    return OAuthError(StatusCodes.Status400BadRequest, "invalid_grant", "incorrect user name or password");
                }

                await services.Audit.RecordLoginAsync(caller, caller.ByAccessToken ? "token" : "password", "token");
                if (caller.Binding is { } binding && string.Equals(form["access_type"], "offline", StringComparison.Ordinal))
                {
                    refresh = services.Tokens.IssueRefreshToken(caller.Name, binding).Token;
                }

                break;
            }

            case "refresh_token":
            {
                // Bound to the account's id and security stamp (and access token): a password change or reset, disabling,
                // deleting, a change of the administrator flag or "sign out everywhere" ends it.
                var presented = form["refresh_token"].ToString();
                var validation = services.Tokens.ValidateRefreshToken(presented);
                caller = validation.Claims is { } claims && claims.Subject.Length > 0
                    ? await services.Authenticator.FromBindingAsync(claims.Subject, claims.Binding, address, refreshToken: true, context.RequestAborted)
                    : null;
                if (caller is null)
                {
                    if (validation.Claims is { Subject.Length: > 0 } refused)
                    {
                        await services.Audit.RecordLoginFailureAsync(address, refused.Subject, "token", "refresh_token");
                    }

                    return OAuthError(StatusCodes.Status400BadRequest, "invalid_grant", "the refresh token is not valid, has expired, or its account has changed (password, sign-out, disabled): sign in again");
                }

                refresh = presented;
                break;
            }

            default:
                return OAuthError(StatusCodes.Status400BadRequest, "unsupported_grant_type", "grant_type must be password or refresh_token");
        }

        var scopes = form["scope"];
        var issued = await IssueAsync(context, services, caller, scopes);
        return TokenResponse(issued, refresh, scopes.ToString());
    }

    /// <summary>
    /// Reads the form of <c>POST /token</c> once the caller's address is allowed: an
    /// <c>application/x-www-form-urlencoded</c> body of at most <see cref="RequestBodyLimits.DefaultMaxBytes"/>,
    /// within <see cref="FormLimits"/>, each parameter but <c>scope</c> at most once (RFC 6749, section 3.1).
    /// Otherwise the OAuth2 error to answer: 413 for a body over the limit, 400 for anything else.
    /// </summary>
    private static async Task<(IFormCollection Form, IResult? Error)> ReadFormAsync(HttpContext context)
    {
        var request = context.Request;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals(FormMediaType, StringComparison.OrdinalIgnoreCase))
        {
            return (FormCollection.Empty, OAuthError(StatusCodes.Status400BadRequest, "invalid_request", $"POST /token takes an {FormMediaType} body"));
        }

        if (request.ContentLength > RequestBodyLimits.DefaultMaxBytes)
        {
            return (FormCollection.Empty, OAuthError(StatusCodes.Status413PayloadTooLarge, "invalid_request", RequestBodyLimits.TooLarge(RequestBodyLimits.DefaultMaxBytes)));
        }

        IFormCollection form;
        try
        {
            context.Features.Set<IFormFeature>(new FormFeature(request, FormLimits));
            form = await request.ReadFormAsync(context.RequestAborted);
        }
        catch (BadHttpRequestException ex)
        {
            var message = ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? RequestBodyLimits.TooLarge(RequestBodyLimits.DefaultMaxBytes) : "the body could not be read: " + ex.Message;
            return (FormCollection.Empty, OAuthError(ex.StatusCode, "invalid_request", message));
        }
        catch (InvalidDataException ex)
        {
            // A field or name over FormLimits, too many fields, or bytes that are not a form (such as %00).
            return (FormCollection.Empty, OAuthError(StatusCodes.Status400BadRequest, "invalid_request", "the form is malformed or over a limit: " + ex.Message));
        }

        foreach (var (name, values) in form)
        {
            if (values.Count > 1 && !string.Equals(name, "scope", StringComparison.Ordinal))
            {
                return (FormCollection.Empty, OAuthError(StatusCodes.Status400BadRequest, "invalid_request", $"the parameter '{name}' may be given only once"));
            }
        }

        return (form, null);
    }

    /// <summary>Null when the request names at most <see cref="MaxScopes"/> scopes; otherwise why it is refused.</summary>
    internal static string? TooManyScopes(StringValues values)
    {
        var count = 0;
        foreach (var value in values)
        {
            foreach (var _ in (value ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (++count > MaxScopes)
                {
                    return $"a token request may name at most {MaxScopes} scopes";
                }
            }
        }

        return null;
    }

    private static async Task<IssuedRegistryToken> IssueAsync(HttpContext context, Services services, Caller caller, IEnumerable<string?> scopes)
    {
        var hosts = new List<string> { context.Request.Host.Value ?? string.Empty };
        if (Uri.TryCreate(services.Settings.PublicUrl, UriKind.Absolute, out var publicUrl))
        {
            hosts.Add(publicUrl.Authority);
        }

        var requested = DockerScope.ParseAll(scopes, hosts);
        var projects = new Dictionary<string, ProjectInfo?>(StringComparer.Ordinal);
        foreach (var permission in requested)
        {
            if (permission.Repository is not { } repository || projects.ContainsKey(repository.Project))
            {
                continue;
            }

            var project = await services.Projects.GetAsync(repository.Project, context.RequestAborted);
            if (project is null && services.Settings.AutoCreateProjects && (permission.Actions & RegistryActions.Push) != 0
                && caller.Principal is { } principal && AccessPolicy.IsServerAdministrator(principal))
            {
                project = await services.Provisioner.CreateForPushAsync(repository.Project, caller, context.RequestAborted);
            }

            if (project is null)
            {
                // Administrators get their grant on a missing project too: reads then end in an honest 404, and a
                // push is refused by the registry with the reason (the project does not exist).
                var administrator = caller.Principal is { } p && AccessPolicy.IsServerAdministrator(p);
                projects[repository.Project] = administrator ? new ProjectInfo(repository.Project, ProjectVisibility.Private) : null;
                continue;
            }

            // Project allow lists are not applied here: the registry checks them on every request, after the grant,
            // so that callers with access are told why they are refused and others learn nothing about the lists.
            projects[repository.Project] = new ProjectInfo(project.Name.Value, project.Visibility);
        }

        var granted = AccessPolicy.Grant(caller.Principal ?? Principal.Anonymous, requested, name => projects.GetValueOrDefault(name));
        return services.Tokens.Issue(caller.Name, granted, caller.Binding);
    }

    /// <summary>How a failed sign-in tried, for the audit log: an access token or a password.</summary>
    private static string ViaOf(string secret) => Auth.Tokens.AccessTokenService.TryParse(secret, out _) ? "token" : "password";

    private static IResult TokenResponse(IssuedRegistryToken issued, string? refreshToken, string? scope) =>
        new TokenResult(issued, refreshToken, scope);

    private static IResult? WrongService(Services services, string? service)
    {
        if (string.IsNullOrEmpty(service) || string.Equals(service, services.TokenOptions.Service, StringComparison.Ordinal))
        {
            return null;
        }

        return OciError(StatusCodes.Status400BadRequest, OciErrorCode.Unsupported, $"this token service issues tokens for service '{services.TokenOptions.Service}', not '{service}'");
    }

    /// <summary>
    /// An error of <c>GET /token</c>, which registry clients read like the registry's own: the one OCI error writer,
    /// with the status this endpoint has always answered (400 for an unsupported service or scope list).
    /// </summary>
    private static IResult OciError(int status, OciErrorCode code, string message) =>
        new OciErrorResult(new RegistryError(code, message), status);

    private static IResult OAuthError(int status, string error, string description) =>
        Results.Json(new OAuthErrorResponse(error, description), statusCode: status); // HTTP JSON options: TokenJsonContext, relaxed escaping

    /// <summary>Writes the token answer with the exact field names clients read, and no caching.</summary>
    private sealed class TokenResult(IssuedRegistryToken issued, string? refreshToken, string? scope) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json";
            response.Headers.CacheControl = "no-store";
            response.Headers.Pragma = "no-cache";
            var body = new RegistryTokenResponse(
                issued.Token,
                issued.Token,
                issued.ExpiresInSeconds,
                issued.IssuedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                refreshToken,
                string.IsNullOrEmpty(scope) ? null : scope);
            await JsonSerializer.SerializeAsync(response.Body, body, TokenJsonContext.Default.RegistryTokenResponse, httpContext.RequestAborted);
        }
    }

    private sealed record Services(
        Authenticator Authenticator,
        RegistryTokenService Tokens,
        ProjectDirectory Projects,
        ProjectProvisioner Provisioner,
        IpAllowRules IpRules,
        ClientAddressResolver Addresses,
        AuditRecorder Audit,
        RegistryTokenOptions TokenOptions,
        AccessSettings Settings)
    {
        public static Services From(HttpContext context)
        {
            var sp = context.RequestServices;
            return new Services(
                sp.GetRequiredService<Authenticator>(),
                sp.GetRequiredService<RegistryTokenService>(),
                sp.GetRequiredService<ProjectDirectory>(),
                sp.GetRequiredService<ProjectProvisioner>(),
                sp.GetRequiredService<IpAllowRules>(),
                sp.GetRequiredService<ClientAddressResolver>(),
                sp.GetRequiredService<AuditRecorder>(),
                sp.GetRequiredService<IOptions<RegistryTokenOptions>>().Value,
                sp.GetRequiredService<IOptions<AccessSettings>>().Value);
        }

        public IPAddress? Address(HttpContext context) =>
            Addresses.ResolveClient(context);
    }
}
