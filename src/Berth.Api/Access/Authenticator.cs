using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
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

    /// <summary>Too many recent failures for this user name or address; try again after <see cref="AuthenticationResult.RetryAfter"/>.</summary>
    Throttled,
}

public sealed record AuthenticationResult(AuthenticationStatus Status, Caller? Caller = null, TimeSpan RetryAfter = default)
{
    public static AuthenticationResult Failed { get; } = new(AuthenticationStatus.Failed);
}

/// <summary>
/// Turns credentials into a <see cref="Caller"/>: a user name with a password or with one of the account's access
/// tokens (Basic auth, the token endpoint, <c>berth login</c>), or an access token on its own (Bearer on the
/// management API), or the subject of a registry token. Failed sign-ins are throttled per user name and address;
/// unknown users, wrong passwords, disabled accounts and bad tokens all do the same work and get the same answer.
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
    private readonly TimeProvider _clock;
    private readonly ILogger<Authenticator> _logger;

    // Basic auth sends the password with every request; PBKDF2 is deliberately slow, so a successful check is
    // remembered for a few minutes under a SHA-256 of the user name and password (never the password itself), and
    // only while the stored hash is unchanged (a password change or reset ends it at once).
    private readonly ConcurrentDictionary<string, (long UserId, string PasswordHash, long VerifiedAt)> _verified = new(StringComparer.Ordinal);

    public Authenticator(
        IUserStore users,
        IMembershipStore memberships,
        IRobotAccountStore robots,
        IAccessTokenStore tokens,
        PasswordHasher hasher,
        AccessTokenService accessTokens,
        LoginThrottle throttle,
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
        _clock = clock;
        _logger = logger;
    }

    /// <summary>
    /// Signs in with a user name (a robot's full name <c>project+robot</c> for robot tokens) and a secret: the
    /// user's password, or an access token of that account.
    /// </summary>
    public async Task<AuthenticationResult> AuthenticateAsync(string userName, string secret, IPAddress? address, CancellationToken cancellationToken)
    {
        if (_throttle.GetLockout(userName, address) is { } wait)
        {
            return new AuthenticationResult(AuthenticationStatus.Throttled, RetryAfter: wait);
        }

        var caller = AccessTokenService.TryParse(secret, out var presented)
            ? await FromAccessTokenAsync(secret, presented, userName, address, cancellationToken)
            : await FromPasswordAsync(userName, secret, address, cancellationToken);
        return Conclude(userName, address, caller);
    }

    /// <summary>Signs in with an access token alone (<c>Authorization: Bearer berth_pat_…</c> on the management API).</summary>
    public async Task<AuthenticationResult> AuthenticateTokenAsync(string token, IPAddress? address, CancellationToken cancellationToken)
    {
        // Throttled by address only: there is no user name to go by.
        if (_throttle.GetLockout(null, address) is { } wait)
        {
            return new AuthenticationResult(AuthenticationStatus.Throttled, RetryAfter: wait);
        }

        Caller? caller = null;
        if (AccessTokenService.TryParse(token, out var presented))
        {
            caller = await FromAccessTokenAsync(token, presented, expectedOwner: null, address, cancellationToken);
        }
        else
        {
            _accessTokens.Check(token, null); // the same work as for a token that is not stored
        }

        return Conclude(null, address, caller);
    }

    /// <summary>
    /// The caller a registry token was issued to, rebuilt from its subject (a user name or a robot's full name) and
    /// the access token it came from, if any, with the account's current rights. Null when the account or token is
    /// gone, disabled, expired or revoked.
    /// </summary>
    public async Task<Caller?> FromSubjectAsync(string subject, long? accessTokenId, IPAddress? address, CancellationToken cancellationToken)
    {
        if (subject.Length == 0)
        {
            return Caller.Anonymous(address);
        }

        if (accessTokenId is { } id)
        {
            var token = await _tokens.GetAsync(id, cancellationToken);
            if (token is null || !token.IsActive(_clock.GetUtcNow()) || !string.Equals(token.Owner.Name, subject, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            return await CallerForTokenAsync(token, address, cancellationToken);
        }

        var robotSeparator = subject.IndexOf('+', StringComparison.Ordinal);
        if (robotSeparator > 0)
        {
            return null; // robots sign in only with their tokens, so their registry tokens always name one
        }

        return UserName.TryParse(subject, out var name) && await _users.GetAsync(name, cancellationToken) is { Disabled: false } user
            ? await CallerForUserAsync(user, address, cancellationToken)
            : null;
    }

    /// <summary>The principal of a user with their current memberships.</summary>
    public async Task<Caller> CallerForUserAsync(User user, IPAddress? address, CancellationToken cancellationToken)
    {
        var memberships = await _memberships.ListByUserAsync(user.Id, cancellationToken);
        var roles = memberships.ToDictionary(m => m.Project.Value, m => m.Role, StringComparer.Ordinal);
        return new Caller(new UserPrincipal(user.Name.Value, user.IsAdministrator, roles), AuditActorKind.User, user.Name.Value, address);
    }

    private AuthenticationResult Conclude(string? userName, IPAddress? address, Caller? caller)
    {
        if (caller is null)
        {
            _throttle.RecordFailure(userName, address);
            return AuthenticationResult.Failed;
        }

        _throttle.RecordSuccess(userName, address);
        return new AuthenticationResult(AuthenticationStatus.Succeeded, caller);
    }

    private async Task<Caller?> FromPasswordAsync(string userName, string password, IPAddress? address, CancellationToken cancellationToken)
    {
        var user = UserName.TryParse(userName, out var name) ? await _users.GetAsync(name, cancellationToken) : null;
        if (user is { Disabled: true } or { PasswordHash: null })
        {
            user = null; // a disabled user, or one without a password, is treated exactly like an unknown one
        }

        var cacheKey = CacheKey(userName, password);
        var now = _clock.GetTimestamp();
        if (user is not null && _verified.TryGetValue(cacheKey, out var remembered) && remembered.UserId == user.Id
            && string.Equals(remembered.PasswordHash, user.PasswordHash, StringComparison.Ordinal)
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
            storedHash = _hasher.Hash(password);
            await _users.SetPasswordHashAsync(user.Id, storedHash, cancellationToken);
        }

        if (_verified.Count >= MaxCachedPasswords)
        {
            _verified.Clear();
        }

        _verified[cacheKey] = (user.Id, storedHash, now);
        return await CallerForUserAsync(user, address, cancellationToken);
    }

    private async Task<Caller?> FromAccessTokenAsync(string secret, PresentedToken presented, string? expectedOwner, IPAddress? address, CancellationToken cancellationToken)
    {
        var stored = await _tokens.FindByLookupIdAsync(presented.LookupId, cancellationToken);
        var check = _accessTokens.Check(secret, stored); // constant time, also when nothing is stored
        if (check != AccessTokenCheck.Valid || stored is null)
        {
            return null;
        }

        // docker login -u NAME: the name must be the token's owner (user name, or the robot's project+name).
        if (expectedOwner is not null && !string.Equals(expectedOwner, stored.Owner.Name, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var caller = await CallerForTokenAsync(stored, address, cancellationToken);
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

        return caller;
    }

    private async Task<Caller?> CallerForTokenAsync(AccessToken token, IPAddress? address, CancellationToken cancellationToken)
    {
        if (token.Owner.Kind == TokenOwnerKind.Robot)
        {
            var robot = await _robots.GetAsync(token.Owner.Id, cancellationToken);
            if (robot is null or { Disabled: true })
            {
                return null;
            }

            var robotPrincipal = new RobotPrincipal(robot.FullName, robot.Project.Value, robot.Actions);
            return new Caller(new TokenPrincipal(robotPrincipal, token.Scope.ToActions(), token.Projects), AuditActorKind.Robot, robot.FullName, address, token.Id);
        }

        var user = await _users.GetAsync(token.Owner.Id, cancellationToken);
        if (user is null or { Disabled: true })
        {
            return null;
        }

        var owner = await CallerForUserAsync(user, address, cancellationToken);
        return new Caller(new TokenPrincipal(owner.Principal!, token.Scope.ToActions(), token.Projects), AuditActorKind.User, user.Name.Value, address, token.Id);
    }

    private static string CacheKey(string userName, string password) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(userName.ToLowerInvariant() + "\0" + password)));

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Could not record the last use of access token {TokenId}")]
    private static partial void LogLastUsedFailed(ILogger logger, Exception exception, long tokenId);
}
