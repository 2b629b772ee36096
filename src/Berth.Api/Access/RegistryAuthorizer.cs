using System.Net;
using System.Text;
using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Application.Projects;
using Berth.Auth.Jwt;
using Berth.Auth.Network;
using Berth.Auth.Permissions;
using Berth.Auth.Scopes;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Api.Access;

/// <summary>
/// Authorizes every /v2 request. Credentials come from ASP.NET Core authentication (<see cref="BerthSchemes.Default"/>,
/// asked after the server-wide IP allow list): a registry token from <c>/token</c> (<see cref="BerthSchemes.RegistryToken"/>,
/// <c>Authorization: Bearer</c>, what docker, podman, skopeo and containerd use after the challenge), Basic auth with a
/// password or an access token (curl, scripts), a scheme added through <see cref="BerthAuthenticationOptions.Selectors"/>,
/// or none (anonymous: pull from public projects). Then, in this order: the server-wide IP allow list, the access rules (the token's grant, or <see cref="AccessPolicy"/> for the principal), and the allow
/// list of every project the request touches. A project that does not exist grants nothing, and its allow list is
/// consulted only for callers with access, so a stranger gets the same answer for a private repository as for a
/// missing one. A write (push, delete) with a registry token is checked again against the account as it is now
/// (<see cref="TokenSubjects"/>): a removed member, a revoked access token, a deleted, disabled or signed-out account
/// cannot push or delete with a token issued before; reads keep working until the token expires.
/// </summary>
public sealed partial class RegistryAuthorizer : IRegistryAuthorizer
{
    private static readonly object ClaimsKey = new();
    private static readonly object SubjectCallerKey = new();

    private readonly ProjectDirectory _projects;
    private readonly IpAllowRules _ipRules;
    private readonly ClientAddressResolver _addresses;
    private readonly ProjectProvisioner _provisioner;
    private readonly RegistryTokenOptions _tokenOptions;
    private readonly AccessSettings _settings;
    private readonly TokenSubjects _subjects;
    private readonly AuditRecorder _audit;
    private readonly ILogger<RegistryAuthorizer> _logger;

    public RegistryAuthorizer(
        ProjectDirectory projects,
        IpAllowRules ipRules,
        ClientAddressResolver addresses,
        ProjectProvisioner provisioner,
        IOptions<RegistryTokenOptions> tokenOptions,
        IOptions<AccessSettings> settings,
        TokenSubjects subjects,
        AuditRecorder audit,
        ILogger<RegistryAuthorizer> logger)
    {
        _subjects = subjects;
        _audit = audit;
        _projects = projects;
        _ipRules = ipRules;
        _addresses = addresses;
        _provisioner = provisioner;
        _tokenOptions = tokenOptions.Value;
        _settings = settings.Value;
        _logger = logger;
    }

    public async ValueTask<AuthorizationResult> AuthorizeAsync(HttpContext context, IReadOnlyList<RegistryPermission> needed)
    {
        var cancellationToken = context.RequestAborted;
        var address = _addresses.ResolveClient(context);
        if (!await _ipRules.AllowsServerAsync(address, cancellationToken))
        {
            return Denied(address);
        }

        // Authentication comes after the server's allow list, as the policy scheme picks it: a registry token
        // (Bearer) on /v2, Basic, or a scheme added through BerthAuthenticationOptions.Selectors.
        var authentication = await context.AuthenticateAsync(BerthSchemes.Default);
        Caller caller;
        if (authentication.Succeeded)
        {
            if (authentication.Principal is RegistryTokenPrincipal token)
            {
                return await AuthorizeBearerAsync(context, token.Caller, token.Token, address, needed);
            }

            if (CallerPrincipal.From(authentication.Principal) is not { } signedIn)
            {
                Challenge(context, needed, "invalid_token");
                return new AuthorizationResult(AuthorizationOutcome.Unauthenticated, "these credentials do not name a Berth account");
            }

            caller = signedIn;
            if (authentication.Ticket.AuthenticationScheme == BerthSchemes.Basic)
            {
                await _audit.RecordLoginAsync(caller, caller.ByAccessToken ? "token" : "password", "registry");
            }
        }
        else if (authentication.None)
        {
            caller = Caller.Anonymous(address);
        }
        else
        {
            return await RefuseCredentialsAsync(context, authentication.Failure, address, needed);
        }

        context.SetCaller(caller);
        if (needed.Count == 0 && caller.IsAnonymous)
        {
            // GET /v2/ is how clients discover the authentication scheme: without credentials, answer the challenge.
            Challenge(context, needed, null);
            return new AuthorizationResult(AuthorizationOutcome.Unauthenticated, "authentication required");
        }

        foreach (var permission in needed)
        {
            if (permission.Repository is not { } repository)
            {
                if (AccessPolicy.GetCatalogActions(caller.Principal!, permission.Actions) != permission.Actions)
                {
                    return Refuse(context, caller, needed, permission);
                }

                continue;
            }

            var project = await _projects.GetAsync(repository.Project, cancellationToken);
            if (project is null && AccessPolicy.IsServerAdministrator(caller.Principal!))
            {
                // Administrators may know that a project is missing: reads and deletes go on to an honest 404
                // (and reach repositories kept from before projects existed); a push creates it or says why not.
                if ((permission.Actions & RegistryActions.Push) == 0)
                {
                    continue;
                }

                if (!_settings.AutoCreateProjects)
                {
                    return new AuthorizationResult(AuthorizationOutcome.Denied, MissingProject(repository.Project));
                }

                project = await _provisioner.CreateForPushAsync(repository.Project, caller, cancellationToken);
            }

            if (project is null)
            {
                return Refuse(context, caller, needed, permission);
            }

            // The rights first: someone who may not use the project at all gets the answer for a missing one, not
            // the allow list's, which would tell that the project exists.
            if (AccessPolicy.GetAllowedActions(caller.Principal!, ToInfo(project), permission.Actions) != permission.Actions)
            {
                return Refuse(context, caller, needed, permission);
            }

            if (!await _ipRules.AllowsProjectAsync(project.Name.Value, address, cancellationToken))
            {
                return Denied(address);
            }
        }

        return AuthorizationResult.Allowed;
    }

    public async ValueTask<RegistryActions> GetAllowedActionsAsync(HttpContext context, RepositoryName repository)
    {
        var cancellationToken = context.RequestAborted;
        var caller = context.GetCaller();
        if (caller is null)
        {
            return RegistryActions.None;
        }

        var project = await _projects.GetAsync(repository.Project, cancellationToken);
        if (project is not null && !await _ipRules.AllowsProjectAsync(project.Name.Value, caller.Address, cancellationToken))
        {
            return RegistryActions.None;
        }

        var principal = caller.Principal;
        var limit = RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete;
        if (context.Items[ClaimsKey] is RegistryTokenClaims claims)
        {
            if (project is not null && IssuedBefore(claims, project))
            {
                return RegistryActions.None;
            }

            var granted = PermissionLists.ActionsOn(claims.Permissions, repository);
            if (granted != RegistryActions.None || !claims.Permissions.Contains(RegistryPermission.Catalog))
            {
                return granted;
            }

            // A catalog token names no repositories: what its subject may pull decides what it lists.
            if (!context.Items.TryGetValue(SubjectCallerKey, out var cached))
            {
                cached = await _subjects.GetAsync(claims.Subject, claims.Binding, caller.Address, cancellationToken);
                context.Items[SubjectCallerKey] = cached;
            }

            principal = (cached as Caller)?.Principal;
            limit = RegistryActions.Pull;
        }

        if (principal is null)
        {
            return RegistryActions.None;
        }

        // Administrators see every repository, also one whose project does not exist (data from before projects).
        if (project is null)
        {
            return AccessPolicy.IsServerAdministrator(principal) ? limit : RegistryActions.None;
        }

        return AccessPolicy.GetAllowedActions(principal, ToInfo(project), limit);
    }

    /// <summary>
    /// Refused credentials, each with the answer /v2 has always given: a registry token that is not valid (or two
    /// headers, or a Bearer with nothing in it) and wrong Basic credentials are <c>invalid_token</c>, a header of
    /// another kind <c>invalid_request</c>, throttled sign-ins a 429; failed sign-ins are audited.
    /// </summary>
    private async ValueTask<AuthorizationResult> RefuseCredentialsAsync(HttpContext context, Exception? failure, IPAddress? address, IReadOnlyList<RegistryPermission> needed)
    {
        switch (failure)
        {
            case RegistryTokenRefused token:
                LogTokenRefused(_logger, token.Status, address);
                Challenge(context, needed, "invalid_token");
                return new AuthorizationResult(AuthorizationOutcome.Unauthenticated, token.Message);
            case CredentialsRefused { Status: AuthenticationStatus.Throttled } throttled:
                return new AuthorizationResult(AuthorizationOutcome.Throttled, "too many failed sign-ins; try again later", throttled.RetryAfter);
            case CredentialsRefused { Via: { } via } refused:
                await _audit.RecordLoginFailureAsync(address, refused.User, "registry", via);
                Challenge(context, needed, "invalid_token");
                return new AuthorizationResult(AuthorizationOutcome.Unauthenticated, "incorrect user name or password");
            case CredentialsRefused:
                Challenge(context, needed, "invalid_request");
                return new AuthorizationResult(AuthorizationOutcome.Unauthenticated, "unsupported Authorization header: use Basic or Bearer");
            default:
                // A scheme added through the selectors refused the request its own way.
                Challenge(context, needed, "invalid_token");
                return new AuthorizationResult(AuthorizationOutcome.Unauthenticated, "the credentials were refused");
        }
    }

    private async ValueTask<AuthorizationResult> AuthorizeBearerAsync(HttpContext context, Caller caller, RegistryTokenClaims claims, IPAddress? address, IReadOnlyList<RegistryPermission> needed)
    {
        context.SetCaller(caller);
        context.Items[ClaimsKey] = claims;
        if (PermissionLists.Covers(claims.Permissions, needed))
        {
            // The grant was decided when the token was issued; a write is also checked against the account as it is now.
            Principal? current = null;
            if (needed.Any(IsWrite))
            {
                var subject = await _subjects.GetAsync(claims.Subject, claims.Binding, address, context.RequestAborted);
                if (subject?.Principal is not { } principal || subject.IsAnonymous)
                {
                    LogWriteRefused(_logger, claims.Subject, address);
                    Challenge(context, needed, "invalid_token");
                    return new AuthorizationResult(AuthorizationOutcome.Unauthenticated,
                        "the registry token's account or access token is no longer valid (signed out, disabled, deleted or revoked): sign in again");
                }

                current = principal;
            }

            foreach (var permission in needed)
            {
                if (permission.Repository is not { } repository)
                {
                    continue;
                }

                var project = await _projects.GetAsync(repository.Project, context.RequestAborted);
                if (project is null)
                {
                    // Only administrators are granted push on a project that does not exist (see the token endpoint).
                    if ((permission.Actions & RegistryActions.Push) != 0)
                    {
                        return new AuthorizationResult(AuthorizationOutcome.Denied, MissingProject(repository.Project));
                    }

                    if (current is not null && IsWrite(permission) && !AccessPolicy.IsServerAdministrator(current))
                    {
                        return new AuthorizationResult(AuthorizationOutcome.Denied, DescribeRefusal(permission, anonymous: false));
                    }
                }
                else
                {
                    if (IssuedBefore(claims, project))
                    {
                        Challenge(context, needed, "invalid_token");
                        return new AuthorizationResult(AuthorizationOutcome.Unauthenticated, "the registry token is older than project '" + project.Name + "': get a new one");
                    }

                    if (current is not null && IsWrite(permission) && AccessPolicy.GetAllowedActions(current, ToInfo(project), permission.Actions) != permission.Actions)
                    {
                        return new AuthorizationResult(AuthorizationOutcome.Denied, DescribeRefusal(permission, anonymous: false));
                    }

                    if (!await _ipRules.AllowsProjectAsync(project.Name.Value, address, context.RequestAborted))
                    {
                        return Denied(address);
                    }
                }
            }

            return AuthorizationResult.Allowed;
        }

        var missing = needed.First(n => !PermissionLists.Covers(claims.Permissions, [n]));
        var refusal = DescribeRefusal(missing, anonymous: claims.Subject.Length == 0);
        Challenge(context, needed, "insufficient_scope", refusal);
        return new AuthorizationResult(AuthorizationOutcome.Unauthenticated, refusal);
    }

    /// <summary>Push or delete: what a registry token may only do while its account still may.</summary>
    private static bool IsWrite(RegistryPermission permission) => (permission.Actions & (RegistryActions.Push | RegistryActions.Delete)) != 0;

    private AuthorizationResult Refuse(HttpContext context, Caller caller, IReadOnlyList<RegistryPermission> needed, RegistryPermission missing)
    {
        var message = DescribeRefusal(missing, caller.IsAnonymous);
        if (caller.IsAnonymous)
        {
            Challenge(context, needed, null);
            return new AuthorizationResult(AuthorizationOutcome.Unauthenticated, message);
        }

        return new AuthorizationResult(AuthorizationOutcome.Denied, message);
    }

    /// <summary>
    /// The same words whether the project is missing or private, so refusals do not reveal which, and what to do about
    /// it. docker and podman print this (the challenge's <c>error_description</c>) as their <c>denied: …</c> line.
    /// </summary>
    private static string DescribeRefusal(RegistryPermission missing, bool anonymous)
    {
        if (missing.Repository is not { } repository)
        {
            return anonymous ? "authentication required: log in to list the catalog" : "requested access to the catalog is denied";
        }

        var actions = string.Join(",", DockerScope.ActionNames(missing.Actions));
        return anonymous
            ? $"authentication required for {actions} on {repository}: log in first (docker login) with an account that may {actions} in project '{repository.Project}'"
            : $"requested access to the resource is denied: {actions} on {repository} (project '{repository.Project}' does not exist or you may not {actions} in it): " +
              "check the name, ask an owner of the project for a role that allows it, or log in with an access token whose scope and projects include it";
    }

    private static string MissingProject(string project) =>
        $"project '{project}' does not exist: create it first (berth project create {project}), or start the server with --auto-create-projects";

    private static AuthorizationResult Denied(IPAddress? address) =>
        new(AuthorizationOutcome.Denied, $"requested access to the resource is denied: requests from {address?.ToString() ?? "an unknown address"} are not allowed by the IP allow list");

    private void Challenge(HttpContext context, IReadOnlyList<RegistryPermission> needed, string? error, string? description = null)
    {
        var header = new StringBuilder("Bearer realm=\"").Append(TokenRealm(context)).Append("\",service=\"").Append(_tokenOptions.Service).Append('"');
        if (needed.Count > 0)
        {
            header.Append(",scope=\"").AppendJoin(' ', needed.Select(DockerScope.Format)).Append('"');
        }

        if (error is not null)
        {
            header.Append(",error=\"").Append(error).Append('"');
            if (description is not null)
            {
                header.Append(",error_description=").Append(QuotedString(description));
            }
        }

        context.Response.Headers.WWWAuthenticate = header.ToString();
    }

    /// <summary>
    /// <paramref name="text"/> as an RFC 9110 quoted-string: quotes and backslashes escaped with a backslash (as the
    /// challenge parsers of distribution and containers/image read them); anything outside printable ASCII, which a
    /// header value may not carry, becomes '?'.
    /// </summary>
    internal static string QuotedString(string text)
    {
        var quoted = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            if (c is '"' or '\\')
            {
                quoted.Append('\\');
            }

            quoted.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return quoted.Append('"').ToString();
    }

    /// <summary>The token endpoint's absolute URL as clients must call it.</summary>
    private string TokenRealm(HttpContext context) =>
        (string.IsNullOrEmpty(_settings.PublicUrl) ? $"{context.Request.Scheme}://{context.Request.Host}" : _settings.PublicUrl.TrimEnd('/')) + TokenEndpoints.Path;

    /// <summary>
    /// A registry token issued before the project was created (beyond the clock skew) names an earlier project of the
    /// same name, deleted since: it grants nothing in this one.
    /// </summary>
    private bool IssuedBefore(RegistryTokenClaims claims, Project project) => claims.IssuedAt + _tokenOptions.ClockSkew < project.CreatedAt;

    private static ProjectInfo ToInfo(Project project) => new(project.Name.Value, project.Visibility);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "Registry token refused ({Status}) from {Address}")]
    private static partial void LogTokenRefused(ILogger logger, RegistryTokenStatus status, IPAddress? address);

    [LoggerMessage(EventId = 27, Level = LogLevel.Information, Message = "Write with the registry token of {Subject} refused from {Address}: the account or access token is no longer valid")]
    private static partial void LogWriteRefused(ILogger logger, string subject, IPAddress? address);
}
