using System.Net;
using System.Net.Sockets;
using Berth.Auth.Network;
using Microsoft.Extensions.Options;

namespace Berth.Auth.Throttling;

/// <summary>
/// Slows down password guessing, in memory on each node, with three counts: per user name and address (so failures
/// from one address never lock the account for its owner elsewhere), per address (one address trying many names),
/// and per account (guesses at one name spread over many addresses; the caller skips this one for addresses that
/// signed in to the account successfully not long ago, see <see cref="LoginThrottleOptions.KnownNetworkLifetime"/>).
/// Addresses are counted per IPv4 address or IPv6 prefix (<see cref="NetworkOf"/>).
/// Each count locks its key, once at or above its free limit, for <see cref="LoginThrottleOptions.BaseDelay"/> ×
/// 2^(count − limit), at most <see cref="LoginThrottleOptions.MaxDelay"/>; counts decay by one per
/// <see cref="LoginThrottleOptions.ForgetAfter"/> without failures. The throttle never knows whether a user exists,
/// so unknown and real users are treated identically.
/// <para>
/// Use at a password sign-in: if <see cref="GetLockout"/> (or, for an address not known to the account,
/// <see cref="GetAccountLockout"/>) returns a delay, refuse without checking the password (429 with
/// <c>Retry-After</c>) and record nothing; otherwise verify, then call <see cref="RecordFailure"/> or
/// <see cref="RecordSuccess"/>. Unguessable secrets (access tokens) are never throttled by these counts; a wrong
/// one counts against its address only. Thread-safe.
/// </para>
/// </summary>
public sealed class LoginThrottle
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly LoginThrottleOptions _options;
    private readonly TimeProvider _clock;

    public LoginThrottle(IOptions<LoginThrottleOptions> options, TimeProvider clock)
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
    }

    /// <summary>How long an address stays known to an account after a successful sign-in from it.</summary>
    public TimeSpan KnownNetworkLifetime => _options.KnownNetworkLifetime;

    /// <summary>Keys currently tracked (for tests and metrics).</summary>
    public int TrackedCount
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

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
    /// count is separate: <see cref="GetAccountLockout"/>.
    /// </summary>
    public TimeSpan? GetLockout(string? user, IPAddress? address) => LockoutOf(Keys(user, address, account: false));

    /// <summary>
    /// How long sign-ins as <paramref name="user"/> from addresses not known to the account must still wait because of
    /// failures from such addresses, however many; null when they may proceed or <paramref name="user"/> is empty.
    /// </summary>
    public TimeSpan? GetAccountLockout(string? user) =>
        AccountKey(user) is { } key ? LockoutOf([(key, _options.AccountFreeFailures)]) : null;

    /// <summary>
    /// Counts a failed sign-in against the user from that address and against the address, and, when
    /// <paramref name="countForAccount"/> (the address is not known to the account), against the account.
    /// </summary>
    public void RecordFailure(string? user, IPAddress? address, bool countForAccount = true)
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            foreach (var (key, freeFailures) in Keys(user, address, countForAccount))
            {
                if (!_entries.TryGetValue(key, out var entry))
                {
                    MakeRoom(now);
                    entry = new Entry();
                    _entries[key] = entry;
                }

                entry.Failures = Decayed(entry, now) + 1;
                entry.LastFailure = now;
                if (entry.Failures >= freeFailures)
                {
                    var delay = Math.Min(_options.MaxDelay.Ticks, _options.BaseDelay.Ticks * Math.Pow(2, Math.Min(entry.Failures - freeFailures, 62)));
                    var until = now + TimeSpan.FromTicks((long)delay);
                    if (until > entry.LockedUntil)
                    {
                        entry.LockedUntil = until;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Clears the count of the user from that address after a correct password. The address's and the account's counts
    /// are left to decay: otherwise an attacker could reset them by signing in to an account of their own between
    /// guesses at others, and the owner's sign-in would reset the count of guesses spread over other addresses.
    /// </summary>
    public void RecordSuccess(string? user, IPAddress? address)
    {
        var key = PairKey(user, address);
        if (key is null)
        {
            return;
        }

        lock (_gate)
        {
            _entries.Remove(key);
        }
    }

    private int Decayed(Entry entry, DateTimeOffset now)
    {
        var forgotten = (now - entry.LastFailure).Ticks / _options.ForgetAfter.Ticks;
        return (int)Math.Max(0, entry.Failures - forgotten);
    }

    private TimeSpan? LockoutOf(List<(string Key, int FreeFailures)> keys)
    {
        var now = _clock.GetUtcNow();
        var until = DateTimeOffset.MinValue;
        lock (_gate)
        {
            foreach (var key in keys)
            {
                if (_entries.TryGetValue(key.Key, out var entry) && entry.LockedUntil > until)
                {
                    until = entry.LockedUntil;
                }
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

    private static string? AccountKey(string? user) => NormalizeUser(user) is { } name ? "u:" + name : null;

    /// <summary>The user's count from one address; without an address, from "the unknown address".</summary>
    private string? PairKey(string? user, IPAddress? address) =>
        NormalizeUser(user) is { } name ? "p:" + (address is null ? "-" : NetworkOf(address)) + "|" + name : null;

    /// <summary>At the limit: drop entries that are forgotten and unlocked; if still full, the oldest ones.</summary>
    private void MakeRoom(DateTimeOffset now)
    {
        if (_entries.Count < _options.MaxEntries)
        {
            return;
        }

        foreach (var (key, entry) in _entries)
        {
            if (entry.LockedUntil <= now && Decayed(entry, now) == 0)
            {
                _entries.Remove(key);
            }
        }

        var excess = _entries.Count - _options.MaxEntries + 1;
        if (excess > 0)
        {
            foreach (var key in _entries.OrderBy(e => e.Value.LastFailure).Take(excess).Select(e => e.Key).ToArray())
            {
                _entries.Remove(key);
            }
        }
    }

    private sealed class Entry
    {
        public int Failures { get; set; }

        public DateTimeOffset LastFailure { get; set; }

        public DateTimeOffset LockedUntil { get; set; } = DateTimeOffset.MinValue;
    }
}
