using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Access;

/// <summary>Outcome of an authorization check.</summary>
public enum AuthorizationOutcome
{
    Allowed,

    /// <summary>No, invalid or insufficient credentials: the client should (re)authenticate (401 with a challenge).</summary>
    Unauthenticated,

    /// <summary>Authenticated but not permitted, or refused by an IP allow list (403 DENIED).</summary>
    Denied,

    /// <summary>Too many failed sign-ins from this user name or address (429 TOOMANYREQUESTS with Retry-After).</summary>
    Throttled,
}

/// <summary>An authorization decision, with the message the client sees when it is a refusal.</summary>
public readonly record struct AuthorizationResult(AuthorizationOutcome Outcome, string? Message = null, TimeSpan? RetryAfter = null)
{
    public static AuthorizationResult Allowed => new(AuthorizationOutcome.Allowed);
}

/// <summary>
/// The one place every /v2 request is authorized: the router names what each request needs, the authorizer decides.
/// </summary>
public interface IRegistryAuthorizer
{
    /// <summary>Checks every permission in <paramref name="needed"/>; all must be allowed. May add challenge headers to the response.</summary>
    ValueTask<AuthorizationResult> AuthorizeAsync(HttpContext context, IReadOnlyList<RegistryPermission> needed);

    /// <summary>
    /// After <see cref="AuthorizeAsync"/> allowed the request: the actions the same caller holds on another
    /// repository, quietly (no challenge). The catalog filters its names with it, and a cross-repository mount
    /// checks pull on the source with it (falling back to a plain upload when it is missing).
    /// </summary>
    ValueTask<RegistryActions> GetAllowedActionsAsync(HttpContext context, RepositoryName repository);
}
