using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Berth.Auth.Internal;
using Berth.Core.Access;
using Microsoft.Extensions.Options;

namespace Berth.Auth.Tokens;

/// <summary>Outcome of <see cref="AccessTokenService.Create"/>.</summary>
public enum AccessTokenCreateStatus
{
    Created,

    /// <summary>The name is empty, longer than <see cref="AccessTokenService.MaxNameLength"/> or has control characters.</summary>
    InvalidName,

    /// <summary>The owner's id is not positive, or its name is empty.</summary>
    InvalidOwner,

    /// <summary>The project list is empty, or a name in it is not a valid project name.</summary>
    InvalidProjects,

    /// <summary>The requested expiry is not after the current time.</summary>
    ExpiryNotInFuture,

    /// <summary>The requested expiry is further away than <see cref="AccessTokenOptions.MaxLifetime"/>.</summary>
    ExpiryTooFar,

    /// <summary>The scope is not one of the defined levels.</summary>
    InvalidScope,
}

/// <summary>What the owner asks for when creating a token.</summary>
/// <param name="Projects">Projects to limit the token to; null for every project the owner can reach. Duplicates are removed.</param>
/// <param name="ExpiresAt">Expiry; null for now + <see cref="AccessTokenOptions.DefaultLifetime"/>.</param>
public sealed record AccessTokenRequest(
    string Name,
    TokenOwner Owner,
    AccessTokenScope Scope,
    IReadOnlyList<string>? Projects = null,
    DateTimeOffset? ExpiresAt = null);

/// <summary>Status, and on success the token to store with its secret to show once.</summary>
public sealed record AccessTokenCreateResult(AccessTokenCreateStatus Status, NewAccessToken? Created = null);

/// <summary>Outcome of <see cref="AccessTokenService.Check"/>. Only <see cref="Valid"/> authenticates.</summary>
public enum AccessTokenCheck
{
    Valid,

    /// <summary>Not a Berth token at all (wrong prefix, length or alphabet).</summary>
    Malformed,

    /// <summary>Well-formed, but no token is stored under its lookup id.</summary>
    Unknown,

    /// <summary>A token with that lookup id exists but the secret differs.</summary>
    Mismatch,

    /// <summary>The secret matches but the token was revoked.</summary>
    Revoked,

    /// <summary>The secret matches but the token expired.</summary>
    Expired,
}

/// <summary>A presented token string split into its parts. Says nothing about whether it is valid.</summary>
public readonly record struct PresentedToken(TokenOwnerKind Kind, string LookupId);

/// <summary>
/// Creates and checks access-token secrets. A token reads <c>berth_pat_&lt;id&gt;_&lt;secret&gt;</c> (or
/// <c>berth_robot_…</c> for robots): <c>id</c> is 10 random bytes and <c>secret</c> 32 random bytes, both lower-case
/// base32. The id is not secret and is what the store indexes; the secret is only kept as the SHA-256 of the
/// whole token text, compared in constant time. The recognisable prefix lets secret scanners find leaked tokens.
/// Thread-safe.
/// </summary>
public sealed class AccessTokenService
{
    public const string UserPrefix = "berth_pat_";
    public const string RobotPrefix = "berth_robot_";
    public const int MaxNameLength = 100;

    internal const int LookupIdBytes = 10;
    internal const int SecretBytes = 32;

    private static readonly int LookupIdLength = Base32.EncodedLength(LookupIdBytes);
    private static readonly int SecretLength = Base32.EncodedLength(SecretBytes);
    private static readonly byte[] DummyHash = new byte[SHA256.HashSizeInBytes];

    private readonly AccessTokenOptions _options;
    private readonly TimeProvider _clock;
    private readonly RandomNumberGenerator _random;

    public AccessTokenService(IOptions<AccessTokenOptions> options, TimeProvider clock, RandomNumberGenerator random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(random);
        _options = options.Value;
        if (_options.DefaultLifetime <= TimeSpan.Zero || _options.MaxLifetime < _options.DefaultLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Token lifetimes must satisfy 0 < DefaultLifetime <= MaxLifetime.");
        }

        _clock = clock;
        _random = random;
    }

    /// <summary>
    /// Validates the request and makes a new token with fresh random id and secret. Nothing is stored: the caller
    /// stores <see cref="NewAccessToken.Token"/> (a unique index on <see cref="AccessToken.LookupId"/> catches the
    /// practically impossible id collision; create again then) and shows <see cref="NewAccessToken.Secret"/> once.
    /// </summary>
    public AccessTokenCreateResult Create(AccessTokenRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > MaxNameLength || request.Name.Any(char.IsControl))
        {
            return new(AccessTokenCreateStatus.InvalidName);
        }

        if (request.Owner is null || request.Owner.Id <= 0 || string.IsNullOrWhiteSpace(request.Owner.Name) || !Enum.IsDefined(request.Owner.Kind))
        {
            return new(AccessTokenCreateStatus.InvalidOwner);
        }

        if (!Enum.IsDefined(request.Scope))
        {
            return new(AccessTokenCreateStatus.InvalidScope);
        }

        IReadOnlyList<string>? projects = null;
        if (request.Projects is not null)
        {
            if (request.Projects.Count == 0 || !request.Projects.All(IsProjectName))
            {
                return new(AccessTokenCreateStatus.InvalidProjects);
            }

            projects = request.Projects.Distinct(StringComparer.Ordinal).ToArray();
        }

        var now = _clock.GetUtcNow();
        var expiresAt = request.ExpiresAt ?? now + _options.DefaultLifetime;
        if (expiresAt <= now)
        {
            return new(AccessTokenCreateStatus.ExpiryNotInFuture);
        }

        if (expiresAt - now > _options.MaxLifetime)
        {
            return new(AccessTokenCreateStatus.ExpiryTooFar);
        }

        Span<byte> id = stackalloc byte[LookupIdBytes];
        Span<byte> secret = stackalloc byte[SecretBytes];
        _random.GetBytes(id);
        _random.GetBytes(secret);
        var lookupId = Base32.Encode(id);
        var text = PrefixOf(request.Owner.Kind) + lookupId + "_" + Base32.Encode(secret);
        CryptographicOperations.ZeroMemory(secret);

        var token = new AccessToken
        {
            LookupId = lookupId,
            SecretHash = HashSecret(text),
            Name = request.Name.Trim(),
            Owner = request.Owner,
            Scope = request.Scope,
            Projects = projects,
            CreatedAt = now,
            ExpiresAt = expiresAt,
        };
        return new(AccessTokenCreateStatus.Created, new NewAccessToken(token, text));
    }

    /// <summary>
    /// Splits a presented token into kind and lookup id without any store access; false when it cannot be a Berth
    /// token (then reject it as <see cref="AccessTokenCheck.Malformed"/> without a look-up).
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? presented, out PresentedToken token)
    {
        token = default;
        if (presented is null)
        {
            return false;
        }

        TokenOwnerKind kind;
        ReadOnlySpan<char> rest;
        if (presented.StartsWith(UserPrefix, StringComparison.Ordinal))
        {
            kind = TokenOwnerKind.User;
            rest = presented.AsSpan(UserPrefix.Length);
        }
        else if (presented.StartsWith(RobotPrefix, StringComparison.Ordinal))
        {
            kind = TokenOwnerKind.Robot;
            rest = presented.AsSpan(RobotPrefix.Length);
        }
        else
        {
            return false;
        }

        if (rest.Length != LookupIdLength + 1 + SecretLength || rest[LookupIdLength] != '_'
            || !Base32.IsValid(rest[..LookupIdLength]) || !Base32.IsValid(rest[(LookupIdLength + 1)..]))
        {
            return false;
        }

        token = new PresentedToken(kind, rest[..LookupIdLength].ToString());
        return true;
    }

    /// <summary>
    /// Checks a presented token against the row stored under its lookup id (<paramref name="stored"/> null when
    /// there is none). The hash comparison runs in constant time and runs even when nothing is stored, so unknown
    /// and wrong tokens cost the same. Revocation and expiry are only reported to a caller who holds the secret.
    /// </summary>
    public AccessTokenCheck Check(string? presented, AccessToken? stored)
    {
        if (!TryParse(presented, out var parsed))
        {
            return AccessTokenCheck.Malformed;
        }

        Span<byte> actual = stackalloc byte[SHA256.HashSizeInBytes];
        Hash(presented, actual);

        var usable = stored is not null
            && string.Equals(stored.LookupId, parsed.LookupId, StringComparison.Ordinal)
            && stored.Owner.Kind == parsed.Kind;
        byte[] expected;
        try
        {
            expected = usable ? Convert.FromHexString(stored!.SecretHash) : DummyHash;
        }
        catch (FormatException)
        {
            expected = DummyHash;
            usable = false;
        }

        var equal = CryptographicOperations.FixedTimeEquals(actual, expected);
        if (stored is null)
        {
            return AccessTokenCheck.Unknown;
        }

        if (!usable || !equal)
        {
            return AccessTokenCheck.Mismatch;
        }

        if (stored.IsRevoked)
        {
            return AccessTokenCheck.Revoked;
        }

        return _clock.GetUtcNow() < stored.ExpiresAt ? AccessTokenCheck.Valid : AccessTokenCheck.Expired;
    }

    /// <summary>
    /// True when a successful use now should be written to <see cref="AccessToken.LastUsedAt"/>: never written, or
    /// older than <see cref="AccessTokenOptions.LastUsedResolution"/>.
    /// </summary>
    public bool NeedsLastUsedUpdate(AccessToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return token.LastUsedAt is not { } last || _clock.GetUtcNow() - last >= _options.LastUsedResolution;
    }

    /// <summary>SHA-256 of the token text as 64 lower-case hex digits: the value kept in <see cref="AccessToken.SecretHash"/>.</summary>
    public static string HashSecret(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        Hash(token, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>The text a token of that owner kind starts with.</summary>
    public static string PrefixOf(TokenOwnerKind kind) => kind == TokenOwnerKind.Robot ? RobotPrefix : UserPrefix;

    private static void Hash(string token, Span<byte> destination) => SHA256.HashData(Encoding.UTF8.GetBytes(token), destination);

    private static bool IsProjectName(string? name) => ProjectName.TryParse(name, out _);
}
