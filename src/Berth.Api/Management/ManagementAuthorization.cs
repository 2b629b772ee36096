using System.Globalization;
using Berth.Api.Access;
using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Auth.Network;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary>What a management endpoint demands of its caller; every endpoint declares one (none: administrators only).</summary>
public enum RequirementKind
{
    /// <summary>Anyone, anonymous included (the server IP allow list still applies).</summary>
    Anyone,

    /// <summary>Any authenticated caller: a user (password or token) or a robot (token).</summary>
    Authenticated,

    /// <summary>A user signed in with a password.</summary>
    User,

    /// <summary>A server administrator signed in with a password.</summary>
    Administrator,

    /// <summary>
    /// A route under <c>/projects/{project}</c>: callers who may not pull in the project get 404 (as for a missing
    /// one), then the project's IP allow list (403), then the project check (403).
    /// </summary>
    Project,
}

/// <summary>Endpoint metadata: the requirement the management authorization filter enforces.</summary>
/// <param name="Permissions">For <see cref="RequirementKind.Project"/>: the project permissions needed (pull is always needed).</param>
/// <param name="MinimumRole">For <see cref="RequirementKind.Project"/>: a membership of at least this role (administrators pass).</param>
/// <param name="AdministratorOnly">For <see cref="RequirementKind.Project"/>: only server administrators.</param>
public sealed record ManagementRequirement(
    RequirementKind Kind,
    ProjectPermissions Permissions = ProjectPermissions.Pull,
    ProjectRole? MinimumRole = null,
    bool AdministratorOnly = false);

/// <summary>Endpoint metadata: requests authenticated by an access token may call this endpoint (its requirement still applies).</summary>
public sealed record AccessTokensAllowed;

/// <summary>
/// Endpoint metadata: successful Basic sign-ins to this endpoint are audited as logins (<c>GET /api/v1/me</c>, what
/// <c>berth login</c> calls). Failed sign-ins are audited on every endpoint.
/// </summary>
public sealed record AuditedLogin;

/// <summary>How management endpoints declare who may call them.</summary>
public static class ManagementRequirements
{
    public static TBuilder AllowAnyone<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ManagementRequirement(RequirementKind.Anyone));

    public static TBuilder RequireAuthenticated<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ManagementRequirement(RequirementKind.Authenticated));

    public static TBuilder RequireUser<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ManagementRequirement(RequirementKind.User));

    public static TBuilder RequireAdministrator<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ManagementRequirement(RequirementKind.Administrator));

    public static TBuilder RequireProject<TBuilder>(this TBuilder builder, ProjectPermissions permissions) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ManagementRequirement(RequirementKind.Project, permissions | ProjectPermissions.Pull));

    public static TBuilder RequireProjectRole<TBuilder>(this TBuilder builder, ProjectRole minimum) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ManagementRequirement(RequirementKind.Project, MinimumRole: minimum));

    public static TBuilder RequireProjectAdministrator<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ManagementRequirement(RequirementKind.Project, AdministratorOnly: true));

    public static TBuilder AllowAccessTokens<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AccessTokensAllowed());

    public static TBuilder AuditLogins<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AuditedLogin());
}

/// <summary>
/// The one place management requests are authorized. For every request: the server-wide IP allow list (403), then
/// the credentials (Basic with a password or access token, <c>Bearer berth_pat_…</c>/<c>berth_robot_…</c>, or none;
/// bad ones 401 with <c>WWW-Authenticate: Basic realm="berth"</c>, throttled ones 429 with <c>Retry-After</c>), then
/// the endpoint's <see cref="ManagementRequirement"/>. Access tokens reach only endpoints marked
/// <see cref="AccessTokensAllowed"/> (and those open to anyone). The caller is stored with <see cref="CallerHttpContextExtensions.SetCaller"/>,
/// the project of a project route with <see cref="ManagementHttpContextExtensions.GetProject"/>.
/// </summary>
public sealed class ManagementAuthorization
{
    public const string Challenge = "Basic realm=\"berth\"";

    private static readonly ManagementRequirement Default = new(RequirementKind.Administrator);

    private readonly ClientAddressResolver _addresses;
    private readonly IpAllowRules _ipRules;
    private readonly ProjectDirectory _projects;
    private readonly AuditRecorder _audit;

    public ManagementAuthorization(ClientAddressResolver addresses, IpAllowRules ipRules, ProjectDirectory projects, AuditRecorder audit)
    {
        _addresses = addresses;
        _ipRules = ipRules;
        _projects = projects;
        _audit = audit;
    }

    /// <summary>Null when the request may go on; otherwise the refusal to send.</summary>
    public async ValueTask<IResult?> AuthorizeAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var metadata = context.GetEndpoint()?.Metadata;
        var requirement = metadata?.GetMetadata<ManagementRequirement>() ?? Default; // undeclared: fail closed
        var address = _addresses.ResolveClient(context);
        if (!await _ipRules.AllowsServerAsync(address, cancellationToken))
        {
            return Problems.Forbidden($"requests from {address?.ToString() ?? "an unknown address"} are not allowed by the IP allow list");
        }

        var (caller, refusal) = await AuthenticateAsync(context, address, metadata?.GetMetadata<AuditedLogin>() is not null);
        if (caller is null)
        {
            return refusal;
        }

        context.SetCaller(caller);
        if (caller.ByAccessToken && requirement.Kind != RequirementKind.Anyone && metadata?.GetMetadata<AccessTokensAllowed>() is null)
        {
            return Problems.Forbidden("access tokens cannot manage Berth: sign in with your password (berth login)");
        }

        var principal = caller.Principal!;
        switch (requirement.Kind)
        {
            case RequirementKind.Anyone:
                return null;
            case RequirementKind.Authenticated:
                return caller.IsAnonymous ? Unauthorized(context, "authentication required") : null;
            case RequirementKind.User:
                return caller.IsAnonymous ? Unauthorized(context, "authentication required")
                    : caller.Kind != AuditActorKind.User ? Problems.Forbidden("only users may do this, not robot accounts")
                    : null;
            case RequirementKind.Administrator:
                return caller.IsAnonymous ? Unauthorized(context, "authentication required")
                    : AccessPolicy.IsServerAdministrator(principal) ? null
                    : Problems.Forbidden("only server administrators may do this");
            case RequirementKind.Project:
                return await AuthorizeProjectAsync(context, caller, requirement, cancellationToken);
            default:
                return Problems.Forbidden("not allowed");
        }
    }

    private async ValueTask<IResult?> AuthorizeProjectAsync(HttpContext context, Caller caller, ManagementRequirement requirement, CancellationToken cancellationToken)
    {
        var pullOnly = requirement is { Permissions: ProjectPermissions.Pull, MinimumRole: null, AdministratorOnly: false };
        if (caller.IsAnonymous && !pullOnly)
        {
            return Unauthorized(context, "authentication required");
        }

        var name = context.GetRouteValue("project") as string;
        if (name is null && context.GetEndpoint()?.Metadata.GetMetadata<RepositoryQueryRoute>() is not null)
        {
            if (!RepositoryQueryRoute.TryRead(context, out var repository))
            {
                return Problems.Invalid(RepositoryQueryRoute.Parameter, "is required and must be a repository name (project/name)");
            }

            name = repository.Project;
        }

        var project = name is null ? null : await _projects.GetAsync(name, cancellationToken);
        var principal = caller.Principal!;
        var permissions = project is null ? ProjectPermissions.None : AccessPolicy.GetPermissions(principal, new ProjectInfo(project.Name.Value, project.Visibility));
        if (project is null || (permissions & ProjectPermissions.Pull) == 0)
        {
            return Problems.ProjectNotFound(name);
        }

        if (!await _ipRules.AllowsProjectAsync(project.Name.Value, caller.Address, cancellationToken)
            && !(AccessPolicy.IsServerAdministrator(principal) && context.GetEndpoint()?.Metadata.GetMetadata<AdministratorsPassProjectIpAllowList>() is not null))
        {
            return Problems.Forbidden($"requests from {caller.Address?.ToString() ?? "an unknown address"} are not allowed by the IP allow list of project '{project.Name}'");
        }

        var administrator = AccessPolicy.IsServerAdministrator(principal);
        var allowed = requirement switch
        {
            { AdministratorOnly: true } => administrator,
            { MinimumRole: { } minimum } => administrator
                || (principal is UserPrincipal user && user.Memberships.TryGetValue(project.Name.Value, out var role) && role >= minimum),
            _ => (permissions & requirement.Permissions) == requirement.Permissions,
        };
        if (!allowed)
        {
            return Problems.Forbidden($"you may not do this in project '{project.Name}'");
        }

        context.SetProject(project);
        return null;
    }

    private async ValueTask<(Caller? Caller, IResult? Refusal)> AuthenticateAsync(HttpContext context, System.Net.IPAddress? address, bool auditLogin)
    {
        var result = await context.AuthenticateAsync(BerthSchemes.Default);
        if (result.Succeeded)
        {
            if (CallerPrincipal.From(result.Principal) is not { } caller)
            {
                return (null, Unauthorized(context, "these credentials do not name a Berth account"));
            }

            if (auditLogin && result.Ticket.AuthenticationScheme == BerthSchemes.Basic)
            {
                await _audit.RecordLoginAsync(caller, caller.ByAccessToken ? "token" : "password", "api");
            }

            return (caller, null);
        }

        if (result.None)
        {
            return (Caller.Anonymous(address), null);
        }

        var refused = result.Failure as CredentialsRefused;
        if (refused?.Status == AuthenticationStatus.Throttled)
        {
            context.Response.SetRetryAfter(refused.RetryAfter);
            return (null, Problems.Status(StatusCodes.Status429TooManyRequests, refused.Message));
        }

        if (refused?.Via is { } via)
        {
            // Every failure is recorded (deduplicated per claimed user and address), whichever endpoint it was for.
            await _audit.RecordLoginFailureAsync(address, refused.User, "api", via);
        }

        return (null, Unauthorized(context, refused?.Message ?? "incorrect user name, password or token"));
    }

    private static IResult Unauthorized(HttpContext context, string detail)
    {
        context.Response.Headers.WWWAuthenticate = Challenge;
        return Problems.Status(StatusCodes.Status401Unauthorized, detail);
    }
}

/// <summary>Runs <see cref="ManagementAuthorization"/> before every management endpoint.</summary>
internal sealed class ManagementAuthorizationFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var authorization = context.HttpContext.RequestServices.GetService(typeof(ManagementAuthorization)) as ManagementAuthorization
            ?? throw new InvalidOperationException("ManagementAuthorization is not registered: call AddManagementApi");
        return await authorization.AuthorizeAsync(context.HttpContext) ?? await next(context);
    }
}

public static class ManagementHttpContextExtensions
{
    private static readonly object ProjectKey = new();

    /// <summary>The project of a project route, as authorization found it.</summary>
    public static Project GetProject(this HttpContext context) =>
        context.Items.TryGetValue(ProjectKey, out var value) && value is Project project
            ? project
            : throw new InvalidOperationException("not a project route");

    internal static void SetProject(this HttpContext context, Project project) => context.Items[ProjectKey] = project;

    /// <summary>The authenticated caller (every management handler runs after authorization).</summary>
    public static Caller Caller(this HttpContext context) => context.GetCaller() ?? throw new InvalidOperationException("request not authorized");
}
