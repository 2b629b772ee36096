using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Berth.Core.Access;

namespace Berth.Auth.Jwt;

/// <summary>
/// What a registry or refresh token is bound to, beyond its subject's name: the account's immutable id, the account's
/// credential generation (a fingerprint of <see cref="User.SecurityStamp"/>, for users), and the access token the
/// caller signed in with, if any, by its random lookup id (never reused, unlike row ids). A token whose binding no
/// longer matches the account's current state is refused where the binding is checked: at every refresh, and at
/// every write (push, delete) through the registry.
/// </summary>
/// <param name="Kind">A user or a robot account.</param>
/// <param name="AccountId">The <see cref="User.Id"/> or <see cref="RobotAccount.Id"/>.</param>
/// <param name="Stamp">For users: <see cref="Fingerprint"/> of the security stamp at sign-in; null for robots.</param>
/// <param name="AccessTokenId">The access token's row id, when the caller signed in with one (audit and limits).</param>
/// <param name="AccessTokenLookupId">The access token's lookup id, when the caller signed in with one: what binds.</param>
public sealed record TokenBinding(TokenOwnerKind Kind, long AccountId, string? Stamp = null, long? AccessTokenId = null, string? AccessTokenLookupId = null)
{
    /// <summary>True when the caller signed in with an access token (both its ids are set).</summary>
    public bool ByAccessToken => AccessTokenId is not null && AccessTokenLookupId is not null;

    /// <summary>The binding of a user who signed in with a password.</summary>
    public static TokenBinding ForUser(User user) => new(TokenOwnerKind.User, user.Id, Fingerprint(user.SecurityStamp));

    /// <summary>The binding of a sign-in with <paramref name="token"/>; <paramref name="owner"/> is the token's user (null for a robot's token).</summary>
    public static TokenBinding ForAccessToken(AccessToken token, User? owner) =>
        new(token.Owner.Kind, token.Owner.Id, owner is null ? null : Fingerprint(owner.SecurityStamp), token.Id, token.LookupId);

    /// <summary>
    /// A short, one-way fingerprint of a security stamp (22 base64url characters, 128 bits of SHA-256), so tokens do
    /// not carry the stored value itself.
    /// </summary>
    public static string Fingerprint(string stamp)
    {
        ArgumentNullException.ThrowIfNull(stamp);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("berth-security-stamp\0" + stamp));
        return Base64Url.EncodeToString(hash.AsSpan(0, 16));
    }

    /// <summary>True when <paramref name="user"/> is still the account this binding names, with the same security stamp (constant time).</summary>
    public bool MatchesStamp(User user)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (Kind != TokenOwnerKind.User || user.Id != AccountId || Stamp is null)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Stamp), Encoding.ASCII.GetBytes(Fingerprint(user.SecurityStamp)));
    }
}
