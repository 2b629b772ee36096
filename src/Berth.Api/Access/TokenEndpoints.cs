using System.Globalization;
using System.Net;
using System.Text.Json;
using Berth.Auth.Jwt;
using Berth.Auth.Network;
using Berth.Auth.Permissions;
using Berth.Auth.Scopes;
using Berth.Core.Access;
using Berth.Core.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Berth.Api.Access;

/// <summary>
/// The Docker token service: <c>GET /token</c> (Basic credentials or none) and <c>POST /token</c> (OAuth2
/// <c>password</c> and <c>refresh_token</c> grants). The answer grants the intersection of the scopes asked for
/// and what the caller holds; a partial or empty grant is not an error (the registry refuses the rest later).
/// </summary>
public static class TokenEndpoints
{
    public const string Path = "/token";

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
            return RegistryError(StatusCodes.Status403Forbidden, "DENIED", $"requests from {address} are not allowed by the IP allow list");
        }

        var caller = Caller.Anonymous(address);
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.Length > 0)
        {
            if (!BasicCredentials.TryParse(authorization, out var user, out var secret))
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"berth\"";
                return RegistryError(StatusCodes.Status401Unauthorized, "UNAUTHORIZED", "the token endpoint takes Basic credentials (user name and password or access token)");
            }

            var result = await services.Authenticator.AuthenticateAsync(user, secret, address, context.RequestAborted);
            if (result.Status == AuthenticationStatus.Throttled)
            {
                context.Response.SetRetryAfter(result.RetryAfter);
                return RegistryError(StatusCodes.Status429TooManyRequests, "TOOMANYREQUESTS", "too many failed sign-ins; try again later");
            }

            if (result.Caller is null)
            {
                await services.Audit.RecordLoginFailureAsync(address, user, "token", ViaOf(secret));
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"berth\"";
                return RegistryError(StatusCodes.Status401Unauthorized, "UNAUTHORIZED", "incorrect user name or password");
            }

            caller = result.Caller;
            await services.Audit.RecordLoginAsync(caller, caller.ByAccessToken ? "token" : "password", "token");
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
        if (!context.Request.HasFormContentType)
        {
            return OAuthError(StatusCodes.Status400BadRequest, "invalid_request", "POST /token takes an application/x-www-form-urlencoded body");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (WrongService(services, form["service"]) is { } wrong)
        {
            return wrong;
        }

        var address = services.Address(context);
        if (!await services.IpRules.AllowsServerAsync(address, context.RequestAborted))
        {
            return OAuthError(StatusCodes.Status403Forbidden, "access_denied", $"requests from {address} are not allowed by the IP allow list");
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

    private static async Task<IssuedRegistryToken> IssueAsync(HttpContext context, Services services, Caller caller, IEnumerable<string?> scopes)
    {
        var hosts = new List<string> { context.Request.Host.Value ?? string.Empty };
        if (Uri.TryCreate(services.Settings.PublicUrl, UriKind.Absolute, out var publicUrl))
        {
            hosts.Add(publicUrl.Authority);
        }

        var requested = DockerScope.ParseAll(scopes, hosts);
        var projects = new Dictionary<string, ProjectInfo?>(StringComparer.Ordinal);
        foreach (var access in requested)
        {
            if (access.Repository is not { } repository || projects.ContainsKey(repository.Project))
            {
                continue;
            }

            var project = await services.Projects.GetAsync(repository.Project, context.RequestAborted);
            if (project is null && services.Settings.AutoCreateProjects && (access.Actions & RegistryActions.Push) != 0
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

        return RegistryError(StatusCodes.Status400BadRequest, "UNSUPPORTED", $"this token service issues tokens for service '{services.TokenOptions.Service}', not '{service}'");
    }

    private static IResult RegistryError(int status, string code, string message) =>
        Results.Json(new { errors = new[] { new { code, message } } }, statusCode: status);

    private static IResult OAuthError(int status, string error, string description) =>
        Results.Json(new Dictionary<string, string> { ["error"] = error, ["error_description"] = description }, statusCode: status);

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
            await using var writer = new Utf8JsonWriter(response.Body);
            writer.WriteStartObject();
            writer.WriteString("token", issued.Token);
            writer.WriteString("access_token", issued.Token);
            writer.WriteNumber("expires_in", issued.ExpiresInSeconds);
            writer.WriteString("issued_at", issued.IssuedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            if (refreshToken is not null)
            {
                writer.WriteString("refresh_token", refreshToken);
            }

            if (!string.IsNullOrEmpty(scope))
            {
                writer.WriteString("scope", scope);
            }

            writer.WriteEndObject();
            await writer.FlushAsync(httpContext.RequestAborted);
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
