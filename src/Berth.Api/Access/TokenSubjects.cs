using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Berth.Application.Access;
using Berth.Auth.Jwt;

namespace Berth.Api.Access;

/// <summary>
/// The accounts registry tokens were issued to, as they are now: what a signed registry token cannot tell. A write
/// (push, delete) with a registry token is allowed only while its account still exists, is enabled and has the same
/// id and security stamp, its access token (if any) is still active, and the account's current rights cover the
/// write (see <see cref="RegistryAuthorizer"/>); the catalog lists what the account may pull now.
/// <para>
/// Each account is resolved through <see cref="Authenticator.FromBindingAsync"/> and kept for <see cref="Lifetime"/>
/// under its binding (account, stamp, access token), so the many requests of a push cost one look-up.
/// <see cref="Invalidate"/> drops everything at once; this node calls it after every change that can take access away
/// (memberships, users, robots, tokens, projects). A version for several nodes calls it on every node from a shared
/// change feed; until then another node sees a change within <see cref="Lifetime"/>.
/// </para>
/// <para>
/// The same holds for Basic credentials (<see cref="SignInAsync"/>), which clients such as CI scripts send with every
/// request: a successful sign-in is reused for <see cref="Lifetime"/> under a SHA-256 of the user name, the secret and
/// the address (never the secret itself), so a pull costs no account, membership and throttle look-ups in the
/// database; failures are never reused (each one is counted by the throttle).
/// </para>
/// </summary>
public sealed class TokenSubjects
{
    /// <summary>How long a resolved account is reused.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(2);

    private const int MaxEntries = 10_000;

    private readonly Authenticator _authenticator;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry> _signIns = new(StringComparer.Ordinal);
    private long _generation;

    public TokenSubjects(Authenticator authenticator, TimeProvider clock)
    {
        _authenticator = authenticator;
        _clock = clock;
    }

    /// <summary>
    /// The caller a registry token with <paramref name="subject"/> and <paramref name="binding"/> stands for now, from
    /// <paramref name="address"/>; null when the binding no longer holds (account gone, disabled or signed out, access
    /// token revoked or expired, or a token without a binding).
    /// </summary>
    public async ValueTask<Caller?> GetAsync(string subject, TokenBinding? binding, IPAddress? address, CancellationToken cancellationToken)
    {
        var key = Key(subject, binding);
        var now = _clock.GetTimestamp();
        var generation = Interlocked.Read(ref _generation);
        if (_cache.TryGetValue(key, out var entry) && entry.Generation == generation && _clock.GetElapsedTime(entry.ReadAt, now) < Lifetime)
        {
            return entry.Caller is null ? null : entry.Caller with { Address = address };
        }

        var caller = await _authenticator.FromBindingAsync(subject, binding, address, refreshToken: false, cancellationToken);
        if (_cache.Count >= MaxEntries)
        {
            _cache.Clear();
        }

        // The generation read before the look-up: an invalidation during it leaves this entry stale at once.
        _cache[key] = new Entry(caller, generation, now);
        return caller;
    }

    /// <summary>
    /// Signs in with Basic credentials through <see cref="Authenticator.AuthenticateAsync"/>, reusing a success of the
    /// same user name, secret and address for <see cref="Lifetime"/>.
    /// </summary>
    public async ValueTask<AuthenticationResult> SignInAsync(string userName, string secret, IPAddress? address, CancellationToken cancellationToken)
    {
        var key = SignInKey(userName, secret, address);
        var now = _clock.GetTimestamp();
        var generation = Interlocked.Read(ref _generation);
        if (_signIns.TryGetValue(key, out var entry) && entry.Generation == generation && _clock.GetElapsedTime(entry.ReadAt, now) < Lifetime
            && (entry.ValidUntil is not { } until || _clock.GetUtcNow() < until))
        {
            return new AuthenticationResult(AuthenticationStatus.Succeeded, entry.Caller) { ValidUntil = entry.ValidUntil };
        }

        var result = await _authenticator.AuthenticateAsync(userName, secret, address, cancellationToken);
        if (result.Status == AuthenticationStatus.Succeeded && result.Caller is { } caller)
        {
            if (_signIns.Count >= MaxEntries)
            {
                _signIns.Clear();
            }

            _signIns[key] = new Entry(caller, generation, now) { ValidUntil = result.ValidUntil }; // never past an access token's expiry
        }
        else
        {
            _signIns.TryRemove(key, out _);
        }

        return result;
    }

    /// <summary>Forgets every resolved account and sign-in (after this node changed access: a member, user, robot, token or project).</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _cache.Clear();
        _signIns.Clear();
    }

    private static string SignInKey(string userName, string secret, IPAddress? address)
    {
        var text = userName.ToLowerInvariant() + "\0" + secret + "\0" + address;
        var bytes = Encoding.UTF8.GetBytes(text);
        try
        {
            return Convert.ToHexString(SHA256.HashData(bytes));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private static string Key(string subject, TokenBinding? binding) =>
        binding is null
            ? "-|" + subject
            : $"{(int)binding.Kind}|{binding.AccountId}|{binding.Stamp}|{binding.AccessTokenId}|{binding.AccessTokenLookupId}|{subject.ToLowerInvariant()}";

    private sealed record Entry(Caller? Caller, long Generation, long ReadAt)
    {
        public DateTimeOffset? ValidUntil { get; init; }
    }
}
