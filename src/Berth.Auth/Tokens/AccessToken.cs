namespace Berth.Auth.Tokens;

/// <summary>Who a token acts for.</summary>
public enum TokenOwnerKind
{
    /// <summary>A person; the token is a personal access token (<c>berth_pat_</c>).</summary>
    User,

    /// <summary>A robot account of one project (<c>berth_robot_</c>).</summary>
    Robot,
}

/// <summary>The owner of a token: a user name, or a robot account's full name.</summary>
public sealed record TokenOwner(TokenOwnerKind Kind, string Name)
{
    public static TokenOwner User(string name) => new(TokenOwnerKind.User, name);

    public static TokenOwner Robot(string name) => new(TokenOwnerKind.Robot, name);
}

/// <summary>
/// A stored access token. The secret itself is never stored: only <see cref="SecretHash"/> (SHA-256, lower-case
/// hex) and the non-secret <see cref="LookupId"/>, which the store indexes to find the row for a presented token.
/// </summary>
public sealed record AccessToken
{
    /// <summary>Random, unique, non-secret; part of the token text. The key to look the token up by.</summary>
    public required string LookupId { get; init; }

    /// <summary>SHA-256 of the whole token text, 64 lower-case hex digits.</summary>
    public required string SecretHash { get; init; }

    /// <summary>The owner's label for it ("ci on laptop"); unique per owner is the store's concern.</summary>
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

    /// <summary>Last successful use, at the resolution of <see cref="AccessTokenOptions.LastUsedResolution"/>; null if never used.</summary>
    public DateTimeOffset? LastUsedAt { get; init; }

    public bool IsRevoked => RevokedAt is not null;

    /// <summary>True when not revoked and <paramref name="now"/> is before <see cref="ExpiresAt"/>.</summary>
    public bool IsActive(DateTimeOffset now) => RevokedAt is null && now < ExpiresAt;
}

/// <summary>A token just created: the record to store, and the secret text to show once and then forget.</summary>
public sealed record NewAccessToken(AccessToken Token, string Secret);
