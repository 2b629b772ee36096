using Berth.Core.Registry;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Distribution;

/// <summary>Outcome of an authorization check.</summary>
public enum AuthorizationOutcome
{
    Allowed,
    /// <summary>No or invalid credentials: the client should authenticate (401 with a challenge).</summary>
    Unauthenticated,
    /// <summary>Authenticated but not permitted (403 DENIED).</summary>
    Denied,
}

/// <summary>
/// The one place every /v2 request is authorized: the router names what each request needs, the authorizer decides.
/// </summary>
public interface IRegistryAuthorizer
{
    /// <summary>Checks every access in <paramref name="needed"/>; all must be allowed. May add challenge headers to the response.</summary>
    ValueTask<AuthorizationOutcome> AuthorizeAsync(HttpContext context, IReadOnlyList<RegistryAccess> needed);
}

/// <summary>Allows everything: the registry without authentication (announced in the start-up log).</summary>
public sealed class OpenAccessAuthorizer : IRegistryAuthorizer
{
    public ValueTask<AuthorizationOutcome> AuthorizeAsync(HttpContext context, IReadOnlyList<RegistryAccess> needed) =>
        ValueTask.FromResult(AuthorizationOutcome.Allowed);
}
