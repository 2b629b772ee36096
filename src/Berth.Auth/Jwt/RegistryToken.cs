using Berth.Core.Registry;

namespace Berth.Auth.Jwt;

/// <summary>A signed registry token, with the times the token endpoint reports (<c>issued_at</c>, <c>expires_in</c>).</summary>
public sealed record IssuedRegistryToken(string Token, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt)
{
    /// <summary>Whole seconds from issue to expiry, for <c>expires_in</c>.</summary>
    public int ExpiresInSeconds => (int)(ExpiresAt - IssuedAt).TotalSeconds;
}

/// <summary>What a valid registry token says.</summary>
/// <param name="Subject">The account the token was issued to; empty for an anonymous client.</param>
/// <param name="Permissions">The granted permissions, merged per resource; empty when nothing was granted.</param>
/// <param name="Binding">The account (and access token) the token was issued to; null for anonymous.</param>
public sealed record RegistryTokenClaims(
    string Issuer,
    string Subject,
    string Audience,
    DateTimeOffset IssuedAt,
    DateTimeOffset NotBefore,
    DateTimeOffset ExpiresAt,
    string Id,
    IReadOnlyList<RegistryPermission> Permissions,
    TokenBinding? Binding = null)
{
    /// <summary>The row id of the access token the caller signed in with (claim <c>berth_tid</c>), if any.</summary>
    public long? AccessTokenId => Binding?.AccessTokenId;
}

/// <summary>Outcome of <see cref="RegistryTokenService.Validate"/>. Only <see cref="Valid"/> carries claims.</summary>
public enum RegistryTokenStatus
{
    Valid,

    /// <summary>Not three base64url parts of JSON objects, missing or mistyped claims, a <c>crit</c> header, or too long.</summary>
    Malformed,

    /// <summary>The header's <c>alg</c> is not <c>ES256</c> (<c>none</c> and HMAC algorithms included).</summary>
    UnsupportedAlgorithm,

    /// <summary>No <c>kid</c>, or no key with that id in the ring (never issued here, or removed after rotation).</summary>
    UnknownKey,

    /// <summary>The signature does not match the header and payload.</summary>
    BadSignature,

    WrongIssuer,

    WrongAudience,

    /// <summary>Past <c>exp</c> by more than the allowed clock skew.</summary>
    Expired,

    /// <summary>Before <c>nbf</c> by more than the allowed clock skew.</summary>
    NotYetValid,
}

/// <summary>Status, and the claims when valid.</summary>
public sealed record RegistryTokenValidation(RegistryTokenStatus Status, RegistryTokenClaims? Claims = null)
{
    public bool IsValid => Status == RegistryTokenStatus.Valid;
}
