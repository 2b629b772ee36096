using Berth.Core.Registry;

namespace Berth.Core.Access;

/// <summary>Who a token acts for.</summary>
public enum TokenOwnerKind
{
    /// <summary>A person; the token is a personal access token (<c>berth_pat_</c>).</summary>
    User,

    /// <summary>A robot account of one project (<c>berth_robot_</c>).</summary>
    Robot,
}

/// <summary>The owner of a token.</summary>
/// <param name="Id">The <see cref="User.Id"/> or <see cref="RobotAccount.Id"/>; what the store keeps.</param>
/// <param name="Name">The user name, or the robot account's full name (<see cref="RobotAccount.FullName"/>). Stores fill it from the owner's row when reading.</param>
public sealed record TokenOwner(TokenOwnerKind Kind, long Id, string Name)
{
    public static TokenOwner User(long id, string name) => new(TokenOwnerKind.User, id, name);

    public static TokenOwner Robot(long id, string fullName) => new(TokenOwnerKind.Robot, id, fullName);
}

/// <summary>
/// What an access token may do, at most: each level includes the ones before it. The values equal the
/// <see cref="RegistryActions"/> flags they allow, so <c>(RegistryActions)scope</c> is the action set.
/// </summary>
public enum AccessTokenScope
{
    Pull = (int)RegistryActions.Pull,
    PullPush = (int)(RegistryActions.Pull | RegistryActions.Push),
    PullPushDelete = (int)(RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete),
}

/// <summary>
/// A stored access token. The secret itself is never stored: only <see cref="SecretHash"/> (SHA-256, lower-case
/// hex) and the non-secret <see cref="LookupId"/>, which the store indexes to find the row for a presented token.
/// </summary>
public sealed record AccessToken
{
    /// <summary>Assigned by the store when the token is created; 0 before that.</summary>
    public long Id { get; init; }

    /// <summary>Random, unique, non-secret; part of the token text. The key to look the token up by.</summary>
    public required string LookupId { get; init; }

    /// <summary>SHA-256 of the whole token text, 64 lower-case hex digits.</summary>
    public required string SecretHash { get; init; }

    /// <summary>The owner's label for it ("ci on laptop"); unique among the owner's tokens that are not revoked (see <see cref="IAccessTokenStore.CreateAsync"/>).</summary>
    public required string Name { get; init; }

    public required TokenOwner Owner { get; init; }

    /// <summary>The most the token may do; the owner's own rights limit it further.</summary>
    public required AccessTokenScope Scope { get; init; }

    /// <summary>Projects the token is limited to; null means every project the owner can reach. Never empty.</summary>
    public IReadOnlyList<string>? Projects { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The token is refused from this instant on.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>When it was revoked; null while it is not. Revocation is final.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Last successful use (written at a coarse resolution, see Berth.Auth's <c>AccessTokenOptions.LastUsedResolution</c>); null if never used.</summary>
    public DateTimeOffset? LastUsedAt { get; init; }

    public bool IsRevoked => RevokedAt is not null;

    /// <summary>True when not revoked and <paramref name="now"/> is before <see cref="ExpiresAt"/>.</summary>
    public bool IsActive(DateTimeOffset now) => RevokedAt is null && now < ExpiresAt;
}
