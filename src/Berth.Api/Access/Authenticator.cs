using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Berth.Application.Access;
using Berth.Auth.Jwt;
using Berth.Auth.Passwords;
using Berth.Auth.Permissions;
using Berth.Auth.Throttling;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Microsoft.Extensions.Logging;

namespace Berth.Api.Access;

public enum AuthenticationStatus
{
    Succeeded,

    /// <summary>Unknown user, wrong password, bad/expired/revoked token, disabled account: one answer for all.</summary>
    Failed,

    /// <summary>Too many recent failures for this user name from this address, for this address, or for this account from unknown addresses; try again after <see cref="AuthenticationResult.RetryAfter"/>.</summary>
    Throttled,
}

public sealed record AuthenticationResult(AuthenticationStatus Status, Caller? Caller = null, TimeSpan RetryAfter = default)
{
    /// <summary>When a success with an access token stops being valid (the token's expiry); null for a password.</summary>
    public DateTimeOffset? ValidUntil { get; init; }

    public static AuthenticationResult Failed { get; } = new(AuthenticationStatus.Failed);
}

/// <summary>
/// Turns credentials into a <see cref="Caller"/>: a user name with a password or with one of the account's access
/// tokens (Basic auth, the token endpoint, <c>berth login</c>), or an access token on its own (Bearer on the
/// management API), or the binding of a registry or refresh token. Failed password sign-ins are throttled per user
/// name and address, per address, and per account from addresses the account has not signed in from lately
/// (<see cref="KnownNetworks"/>); access tokens are unguessable, so a valid one is never throttled and a wrong one
/// counts against its address only. Unknown users, wrong passwords, disabled accounts and bad tokens all do the same
/// work and get the same answer.
/// </summary>
public sealed partial class Authenticator
{
    private const int MaxCachedPasswords = 10_000;
    private static readonly TimeSpan PasswordCacheLifetime = TimeSpan.FromMinutes(5);

    private readonly IUserStore _users;
    private readonly IMembershipStore _memberships;
    private readonly IRobotAccountStore _robots;
    private readonly IAccessTokenStore _tokens;
    private readonly PasswordHasher _hasher;
    private readonly AccessTokenService _accessTokens;
    private readonly LoginThrottle _throttle;
    private readonly KnownNetworks _knownNetworks;
    private readonly TimeProvider _clock;
    private readonly ILogger<Authenticator> _logger;

    // Basic auth sends the password with every request; PBKDF2 is deliberately slow, so a successful check is
    // remembered for a few minutes under a SHA-256 of the user name and password (never the password itself), and
    // only while the stored hash and the security stamp are unchanged (a password change, a reset or "sign out
    // everywhere" ends it at once).
    private readonly ConcurrentDictionary<string, (long UserId, string PasswordHash, string Stamp, long VerifiedAt)> _verified = new(StringComparer.Ordinal);

    public Authenticator(
        IUserStore users,
        IMembershipStore memberships,
        IRobotAccountStore robots,
        IAccessTokenStore tokens,
        PasswordHasher hasher,
        AccessTokenService accessTokens,
        LoginThrottle throttle,
        KnownNetworks knownNetworks,
        TimeProvider clock,
        ILogger<Authenticator> logger)
    {
        _users = users;
        _memberships = memberships;
        _robots = robots;
        _tokens = tokens;
        _hasher = hasher;
        _accessTokens = accessTokens;
        _throttle = throttle;
        _knownNetworks = knownNetworks;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>
    /// Signs in with a user name (a robot's full name <c>project+robot</c> for robot tokens) and a secret: the
    /// user's password, or an access token of that account.
    /// </summary>
    public async Task<AuthenticationResult> AuthenticateAsync(string userName, string secret, IPAddress? address, CancellationToken cancellationToken) =>
        AccessTokenService.TryParse(secret, out var presented)
            ? await TokenSignInAsync(secret, presented, userName, address, cancellationToken)
            : await PasswordSignInAsync(userName, secret, address, cancellationToken);

    /// <summary>Signs in with an access token alone (<c>Authorization: Bearer berth_pat_…</c> on the management API).</summary>
    public async Task<AuthenticationResult> AuthenticateTokenAsync(string token, IPAddress? address, CancellationToken cancellationToken)
    {
        if (AccessTokenService.TryParse(token, out var presented))
        {
            return await TokenSignInAsync(token, presented, expectedOwner: null, address, cancellationToken);
        }

        if (await _throttle.GetLockoutAsync(null, address, cancellationToken) is { } wait)
        {
            return new AuthenticationResult(AuthenticationStatus.Throttled, RetryAfter: wait);
        }

        _accessTokens.Check(token, null); // the same work as for a token that is not stored
        await _throttle.RecordFailureAsync(null, address, cancellationToken: CancellationToken.None); // counted even when the client goes away
        return AuthenticationResult.Failed;
    }

    /// <summary>
    /// The caller a registry token (or, with <paramref name="refreshToken"/>, a refresh token) was issued to, as the
    /// account is now, with its current rights; null when the token's binding no longer holds. An empty subject is the
    /// anonymous caller. A user who signed in with a password must still have the same id and security stamp; a sign-in
    /// with an access token needs that token (by its lookup id, with the same row id and owner) still active, and for a
    /// refresh token of a user also the same security stamp; the account must exist, be enabled and still have the
    /// subject's name. Tokens without a binding (issued before bindings existed) are refused.
    /// </summary>
    public async Task<Caller?> FromBindingAsync(string subject, TokenBinding? binding, IPAddress? address, bool refreshToken, CancellationToken cancellationToken)
    {
        if (subject.Length == 0)
        {
            return binding is null ? Caller.Anonymous(address) : null;
        }

        if (binding is null)
        {
            return null;
        }

        if (binding.ByAccessToken)
        {
            var token = await _tokens.FindByLookupIdAsync(binding.AccessTokenLookupId!, cancellationToken);
            if (token is null || token.Id != binding.AccessTokenId || token.Owner.Kind != binding.Kind || token.Owner.Id != binding.AccountId
                || !token.IsActive(_clock.GetUtcNow()) || !string.Equals(token.Owner.Name, subject, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            var (caller, owner) = await CallerForTokenAsync(token, address, cancellationToken);
            if (caller is null || (refreshToken && binding.Kind == TokenOwnerKind.User && (owner is null || !binding.MatchesStamp(owner))))
            {
                return null;
            }

            return caller;
        }

        if (binding.Kind != TokenOwnerKind.User)
        {
            return null; // robots sign in only with their tokens, so their registry tokens always name one
        }

        var user = await _users.GetAsync(binding.AccountId, cancellationToken);
        if (user is null || user.Disabled || !binding.MatchesStamp(user) || !string.Equals(user.Name.Value, subject, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return await CallerForUserAsync(user, address, cancellationToken);
    }

    /// <summary>The principal of a user with their current memberships, bound to the user's id and security stamp.</summary>
    public async Task<Caller> CallerForUserAsync(User user, IPAddress? address, CancellationToken cancellationToken)
    {
        var memberships = await _memberships.ListByUserAsync(user.Id, cancellationToken);
        var roles = memberships.ToDictionary(m => m.Project.Value, m => m.Role, StringComparer.Ordinal);
        return new Caller(new UserPrincipal(user.Name.Value, user.IsAdministrator, roles), AuditActorKind.User, user.Name.Value, address)
        {
            Binding = TokenBinding.ForUser(user),
        };
    }

    private async Task<AuthenticationResult> TokenSignInAsync(string secret, PresentedToken presented, string? expectedOwner, IPAddress? address, CancellationToken cancellationToken)
    {
        var (caller, owner, expiresAt) = await FromAccessTokenAsync(secret, presented, expectedOwner, address, cancellationToken);
        if (caller is not null)
        {
            if (owner is not null)
            {
                await _knownNetworks.RememberAsync(owner, address, cancellationToken);
            }

            return new AuthenticationResult(AuthenticationStatus.Succeeded, caller) { ValidUntil = expiresAt };
        }

        // A wrong token proves nothing about the account's password: it counts against its address only.
        if (await _throttle.GetLockoutAsync(null, address, cancellationToken) is { } wait)
        {
            return new AuthenticationResult(AuthenticationStatus.Throttled, RetryAfter: wait);
        }

        await _throttle.RecordFailureAsync(null, address, cancellationToken: CancellationToken.None); // counted even when the client goes away
        return AuthenticationResult.Failed;
    }

    private async Task<AuthenticationResult> PasswordSignInAsync(string userName, string password, IPAddress? address, CancellationToken cancellationToken)
    {
        if (await _throttle.GetLockoutAsync(userName, address, cancellationToken) is { } wait)
        {
            return new AuthenticationResult(AuthenticationStatus.Throttled, RetryAfter: wait);
        }

        var user = UserName.TryParse(userName, out var name) ? await _users.GetAsync(name, cancellationToken) : null;
        if (user is { Disabled: true } or { PasswordHash: null })
        {
            user = null; // a disabled user, or one without a password, is treated exactly like an unknown one
        }

        // Guesses spread over many addresses lock the account, but not for the addresses its owner signs in from.
        bool? known = null;
        if (await _throttle.GetAccountLockoutAsync(userName, cancellationToken) is { } accountWait)
        {
            known = await _knownNetworks.IsKnownAsync(user, address, cancellationToken);
            if (!known.Value)
            {
                return new AuthenticationResult(AuthenticationStatus.Throttled, RetryAfter: accountWait);
            }
        }

        var caller = await FromPasswordAsync(user, userName, password, address, cancellationToken);
        if (caller is null)
        {
            known ??= await _knownNetworks.IsKnownAsync(user, address, cancellationToken);
            await _throttle.RecordFailureAsync(userName, address, countForAccount: !known.Value, CancellationToken.None); // counted even when the client goes away
            return AuthenticationResult.Failed;
        }

        await _throttle.RecordSuccessAsync(userName, address, cancellationToken);
        await _knownNetworks.RememberAsync(user!, address, cancellationToken);
        return new AuthenticationResult(AuthenticationStatus.Succeeded, caller);
    }

    private async Task<Caller?> FromPasswordAsync(User? user, string userName, string password, IPAddress? address, CancellationToken cancellationToken)
    {
        var cacheKey = CacheKey(userName, password);
        var now = _clock.GetTimestamp();
        if (user is not null && _verified.TryGetValue(cacheKey, out var remembered) && remembered.UserId == user.Id
            && string.Equals(remembered.PasswordHash, user.PasswordHash, StringComparison.Ordinal)
            && string.Equals(remembered.Stamp, user.SecurityStamp, StringComparison.Ordinal)
            && _clock.GetElapsedTime(remembered.VerifiedAt, now) < PasswordCacheLifetime)
        {
            return await CallerForUserAsync(user, address, cancellationToken);
        }

        var result = _hasher.Verify(user?.PasswordHash, password);
        if (user is null || result is not (PasswordVerification.Succeeded or PasswordVerification.SucceededRehashNeeded))
        {
            return null;
        }

        var storedHash = user.PasswordHash!;
        if (result == PasswordVerification.SucceededRehashNeeded)
        {
            // The same password under stronger parameters: the security stamp stays, so nothing the user holds ends;
            // and only if the hash is still the one verified, so a password changed meanwhile is not overwritten.
            var rehashed = _hasher.Hash(password);
            if (await _users.RehashPasswordAsync(user.Id, storedHash, rehashed, cancellationToken) == UpdateResult.Updated)
            {
                storedHash = rehashed;
            }
        }

        if (_verified.Count >= MaxCachedPasswords)
        {
            _verified.Clear();
        }

        _verified[cacheKey] = (user.Id, storedHash, user.SecurityStamp, now);
        return await CallerForUserAsync(user, address, cancellationToken);
    }

    /// <summary>The caller of a valid, active access token of <paramref name="expectedOwner"/> (any owner when null), with the owning user (null for a robot).</summary>
    private async Task<(Caller? Caller, User? Owner, DateTimeOffset? ExpiresAt)> FromAccessTokenAsync(string secret, PresentedToken presented, string? expectedOwner, IPAddress? address, CancellationToken cancellationToken)
    {
        var stored = await _tokens.FindByLookupIdAsync(presented.LookupId, cancellationToken);
        var check = _accessTokens.Check(secret, stored); // constant time, also when nothing is stored
        if (check != AccessTokenCheck.Valid || stored is null)
        {
            return (null, null, null);
        }

        // docker login -u NAME: the name must be the token's owner (user name, or the robot's project+name).
        if (expectedOwner is not null && !string.Equals(expectedOwner, stored.Owner.Name, StringComparison.OrdinalIgnoreCase))
        {
            return (null, null, null);
        }

        var (caller, owner) = await CallerForTokenAsync(stored, address, cancellationToken);
        if (caller is not null && _accessTokens.NeedsLastUsedUpdate(stored))
        {
            try
            {
                await _tokens.SetLastUsedAsync(stored.Id, _clock.GetUtcNow(), cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogLastUsedFailed(_logger, ex, stored.Id); // a sign-in does not fail because a bookkeeping write did
            }
        }

        return (caller, owner, stored.ExpiresAt);
    }

    private async Task<(Caller? Caller, User? Owner)> CallerForTokenAsync(AccessToken token, IPAddress? address, CancellationToken cancellationToken)
    {
        if (token.Owner.Kind == TokenOwnerKind.Robot)
        {
            var robot = await _robots.GetAsync(token.Owner.Id, cancellationToken);
            if (robot is null or { Disabled: true })
            {
                return (null, null);
            }

            var robotPrincipal = new RobotPrincipal(robot.FullName, robot.Project.Value, robot.Actions);
            var robotCaller = new Caller(new TokenPrincipal(robotPrincipal, token.Scope.ToActions(), token.Projects), AuditActorKind.Robot, robot.FullName, address, token.Id)
            {
                Binding = TokenBinding.ForAccessToken(token, null),
            };
            return (robotCaller, null);
        }

        var user = await _users.GetAsync(token.Owner.Id, cancellationToken);
        if (user is null or { Disabled: true })
        {
            return (null, null);
        }

        var owner = await CallerForUserAsync(user, address, cancellationToken);
        var caller = new Caller(new TokenPrincipal(owner.Principal!, token.Scope.ToActions(), token.Projects), AuditActorKind.User, user.Name.Value, address, token.Id)
        {
            Binding = TokenBinding.ForAccessToken(token, user),
        };
        return (caller, user);
    }

    private static string CacheKey(string userName, string password) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(userName.ToLowerInvariant() + "\0" + password)));

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Could not record the last use of access token {TokenId}")]
    private static partial void LogLastUsedFailed(ILogger logger, Exception exception, long tokenId);
}
