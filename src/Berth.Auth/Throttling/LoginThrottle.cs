using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Berth.Auth.Network;
using Berth.Core.Access;
using Microsoft.Extensions.Options;

namespace Berth.Auth.Throttling;

/// <summary>
/// Slows down password guessing with three counts, kept in an <see cref="ILoginFailureStore"/> (in memory on one node,
/// in the metadata database when several nodes share it, so that guesses spread over the nodes add up): per user name and address (so failures
/// from one address never lock the account for its owner elsewhere), per address (one address trying many names),
/// and per account (guesses at one name spread over many addresses; the caller skips this one for addresses that
/// signed in to the account successfully not long ago, see <see cref="LoginThrottleOptions.KnownNetworkLifetime"/>).
/// Addresses are counted per IPv4 address or IPv6 prefix (<see cref="NetworkOf"/>).
/// Each count locks its key, once at or above its free limit, for <see cref="LoginThrottleOptions.BaseDelay"/> ×
/// 2^(count − limit), at most <see cref="LoginThrottleOptions.MaxDelay"/>; counts decay by one per
/// <see cref="LoginThrottleOptions.ForgetAfter"/> without failures. The throttle never knows whether a user exists,
/// so unknown and real users are treated identically.
/// <para>
/// Use at a password sign-in: if <see cref="GetLockoutAsync"/> (or, for an address not known to the account,
/// <see cref="GetAccountLockoutAsync"/>) returns a delay, refuse without checking the password (429 with
/// <c>Retry-After</c>) and record nothing; otherwise verify, then call <see cref="RecordFailureAsync"/> or
/// <see cref="RecordSuccessAsync"/>. Unguessable secrets (access tokens) are never throttled by these counts; a wrong
/// one counts against its address only. Thread-safe.
/// </para>
/// </summary>
public sealed class LoginThrottle
{
    private readonly LoginThrottleOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILoginFailureStore _store;
    private long _nextPruneTicks;

    public LoginThrottle(IOptions<LoginThrottleOptions> options, TimeProvider clock, ILoginFailureStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        _options = options.Value;
        if (_options.UserFreeFailures < 1 || _options.AddressFreeFailures < 1 || _options.AccountFreeFailures < 1
            || _options.BaseDelay <= TimeSpan.Zero || _options.MaxDelay < _options.BaseDelay || _options.ForgetAfter <= TimeSpan.Zero
            || _options.KnownNetworkLifetime <= TimeSpan.Zero || _options.IPv6PrefixLength is < 1 or > 128 || _options.MaxEntries < 1)
        {
            throw new ArgumentException("Invalid login throttle settings.", nameof(options));
        }

        _clock = clock;
        _store = store ?? new MemoryLoginFailureStore(options, clock);
        _nextPruneTicks = (clock.GetUtcNow() + _options.ForgetAfter).UtcTicks;
    }

    /// <summary>How long an address stays known to an account after a successful sign-in from it.</summary>
    public TimeSpan KnownNetworkLifetime => _options.KnownNetworkLifetime;

    /// <summary>True when the counts are shared by every node of the metadata store.</summary>
    public bool Shared => _store.Shared;

    /// <summary>
    /// The coarse network an address is counted under, as text: the IPv4 address itself (IPv4-mapped IPv6 included),
    /// or the IPv6 prefix of <see cref="LoginThrottleOptions.IPv6PrefixLength"/> bits (<c>2001:db8:1:2::/64</c>).
    /// Also the key of an account's known networks.
    /// </summary>
    public string NetworkOf(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        address = IPNetworkList.Normalize(address);
        return address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"{IPNetworkList.Mask(address, _options.IPv6PrefixLength)}/{_options.IPv6PrefixLength}"
            : address.ToString();
    }

    /// <summary>
    /// How long a sign-in as <paramref name="user"/> from <paramref name="address"/> must still wait because of failures
    /// of that user from that address or of anyone from that address; null when it may proceed. Either argument may be
    /// null (no user: the address alone; no address: the user's failures from unknown addresses). The per-account
    /// count is separate: <see cref="GetAccountLockoutAsync"/>.
    /// </summary>
    public Task<TimeSpan?> GetLockoutAsync(string? user, IPAddress? address, CancellationToken cancellationToken = default) =>
        LockoutOfAsync(Keys(user, address, account: false), cancellationToken);

    /// <summary>
    /// How long sign-ins as <paramref name="user"/> from addresses not known to the account must still wait because of
    /// failures from such addresses, however many; null when they may proceed or <paramref name="user"/> is empty.
    /// </summary>
    public Task<TimeSpan?> GetAccountLockoutAsync(string? user, CancellationToken cancellationToken = default) =>
        AccountKey(user) is { } key ? LockoutOfAsync([(key, _options.AccountFreeFailures)], cancellationToken) : Task.FromResult<TimeSpan?>(null);

    /// <summary>
    /// Counts a failed sign-in against the user from that address and against the address, and, when
    /// <paramref name="countForAccount"/> (the address is not known to the account), against the account.
    /// </summary>
    public async Task RecordFailureAsync(string? user, IPAddress? address, bool countForAccount = true, CancellationToken cancellationToken = default)
    {
        var now = _clock.GetUtcNow();
        var keys = Keys(user, address, countForAccount);
        var free = keys.ToDictionary(k => k.Key, k => k.FreeFailures, StringComparer.Ordinal);
        await _store.UpdateAsync(free.Keys, (key, current) => Failed(current, now, free[key]), cancellationToken);
        await PruneIfDueAsync(now, cancellationToken);
    }

    /// <summary>
    /// Clears the count of the user from that address after a correct password. The address's and the account's counts
    /// are left to decay: otherwise an attacker could reset them by signing in to an account of their own between
    /// guesses at others, and the owner's sign-in would reset the count of guesses spread over other addresses.
    /// </summary>
    public Task RecordSuccessAsync(string? user, IPAddress? address, CancellationToken cancellationToken = default) =>
        PairKey(user, address) is { } key ? _store.RemoveAsync(key, cancellationToken) : Task.CompletedTask;

    /// <summary>True when a count no longer matters at <paramref name="now"/>: unlocked and every failure forgotten.</summary>
    public static bool IsForgotten(LoginFailureCount count, DateTimeOffset now, TimeSpan forgetAfter) =>
        count.LockedUntil <= now && Decayed(count, now, forgetAfter) == 0;

    private LoginFailureCount Failed(LoginFailureCount? current, DateTimeOffset now, int freeFailures)
    {
        var failures = (current is { } c ? Decayed(c, now, _options.ForgetAfter) : 0) + 1;
        var lockedUntil = current?.LockedUntil ?? DateTimeOffset.MinValue;
        if (failures >= freeFailures)
        {
            var delay = Math.Min(_options.MaxDelay.Ticks, _options.BaseDelay.Ticks * Math.Pow(2, Math.Min(failures - freeFailures, 62)));
            var until = now + TimeSpan.FromTicks((long)delay);
            if (until > lockedUntil)
            {
                lockedUntil = until;
            }
        }

        return new LoginFailureCount(failures, now, lockedUntil);
    }

    private static int Decayed(LoginFailureCount count, DateTimeOffset now, TimeSpan forgetAfter)
    {
        var forgotten = Math.Max(0, (now - count.LastFailure).Ticks) / forgetAfter.Ticks;
        return (int)Math.Max(0, count.Failures - forgotten);
    }

    /// <summary>Once per <see cref="LoginThrottleOptions.ForgetAfter"/>, on the failure that comes after it, counts that no longer matter go.</summary>
    private async Task PruneIfDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var due = Interlocked.Read(ref _nextPruneTicks);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextPruneTicks, (now + _options.ForgetAfter).UtcTicks, due) != due)
        {
            return;
        }

        await _store.PruneAsync(now, _options.ForgetAfter, cancellationToken);
    }

    private async Task<TimeSpan?> LockoutOfAsync(List<(string Key, int FreeFailures)> keys, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var counts = await _store.GetAsync(keys.Select(k => k.Key).ToArray(), cancellationToken);
        var until = DateTimeOffset.MinValue;
        foreach (var count in counts.Values)
        {
            if (count.LockedUntil > until)
            {
                until = count.LockedUntil;
            }
        }

        return until > now ? until - now : null;
    }

    private List<(string Key, int FreeFailures)> Keys(string? user, IPAddress? address, bool account)
    {
        var keys = new List<(string, int)>(3);
        if (PairKey(user, address) is { } pair)
        {
            keys.Add((pair, _options.UserFreeFailures));
        }

        if (address is not null)
        {
            keys.Add(("a:" + NetworkOf(address), _options.AddressFreeFailures));
        }

        if (account && AccountKey(user) is { } accountKey)
        {
            keys.Add((accountKey, _options.AccountFreeFailures));
        }

        return keys;
    }

    /// <summary>User names are compared trimmed and case-insensitively, so <c>Alice</c> and <c>alice </c> share a count.</summary>
    private static string? NormalizeUser(string? user) =>
        string.IsNullOrWhiteSpace(user) ? null : user.Trim().ToLowerInvariant();

    private static string? AccountKey(string? user) => NormalizeUser(user) is { } name ? Bounded("u:" + name) : null;

    /// <summary>The user's count from one address; without an address, from "the unknown address".</summary>
    private string? PairKey(string? user, IPAddress? address) =>
        NormalizeUser(user) is { } name ? Bounded("p:" + (address is null ? "-" : NetworkOf(address)) + "|" + name) : null;

    /// <summary>
    /// A key as the store takes it: one that is too long or holds a control character or a lone surrogate (a user name
    /// is whatever the client sent)
    /// becomes its kind and the SHA-256 of the whole, so distinct names keep distinct counts.
    /// </summary>
    private static string Bounded(string key) =>
        key.Length <= ILoginFailureStore.MaxKeyLength && key.All(c => c >= ' ' && !char.IsSurrogate(c))
            ? key
            : key[..2] + "#" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
