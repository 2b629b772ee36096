using System.Net;
using Berth.Auth.Jwt;
using Berth.Auth.Permissions;
using Berth.Core.Access;

namespace Berth.Application.Access;

/// <summary>
/// Who made a request, as authentication established it: the principal the access rules apply to, how it is named
/// in the audit log, the client address (after trusted proxies), and the access token used, if any.
/// <see cref="Principal"/> is null for a /v2 request carrying a registry token: the token's grant decides there,
/// and the account is loaded only when needed (the catalog).
/// </summary>
public sealed record Caller(Principal? Principal, AuditActorKind Kind, string Name, IPAddress? Address, long? AccessTokenId = null)
{
    public static Caller Anonymous(IPAddress? address) => new(Principal.Anonymous, AuditActorKind.Anonymous, string.Empty, address);

    /// <summary>
    /// The account (and access token) the caller signed in as, which the registry and refresh tokens issued to it
    /// carry; null for anonymous callers.
    /// </summary>
    public TokenBinding? Binding { get; init; }

    public bool IsAnonymous => Kind == AuditActorKind.Anonymous;

    /// <summary>True when the request was authenticated by an access token (tokens never administer).</summary>
    public bool ByAccessToken => AccessTokenId is not null;
}
