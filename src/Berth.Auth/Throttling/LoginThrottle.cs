using System.Net;
using System.Net.Sockets;
using Berth.Auth.Network;
using Microsoft.Extensions.Options;

namespace Berth.Auth.Throttling;

/// <summary>
/// Slows down password guessing, per user name and per client address, in memory on each node.
/// Each key counts failures; a failure that brings the count to the free limit or above locks the key for
/// <see cref="LoginThrottleOptions.BaseDelay"/> × 2^(count − limit), at most <see cref="LoginThrottleOptions.MaxDelay"/>.
/// Counts decay by one per <see cref="LoginThrottleOptions.ForgetAfter"/> without failures.
/// The throttle never knows whether a user exists, so unknown and real users are treated identically.
/// <para>
/// Use at a login: if <see cref="GetLockout"/> returns a delay, refuse without checking the password (429 with
/// <c>Retry-After</c>) and record nothing; otherwise verify, then call <see cref="RecordFailure"/> or
/// <see cref="RecordSuccess"/>. Thread-safe.
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
        if (_options.UserFreeFailures < 1 || _options.AddressFreeFailures < 1 || _options.BaseDelay <= TimeSpan.Zero
            || _options.MaxDelay < _options.BaseDelay || _options.ForgetAfter <= TimeSpan.Zero
            || _options.IPv6PrefixLength is < 1 or > 128 || _options.MaxEntries < 1)
        {
            throw new ArgumentException("Invalid login throttle settings.", nameof(options));
        }

        _clock = clock;
    }

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
    /// How long a login for <paramref name="user"/> from <paramref name="address"/> must still wait; null when it may
    /// proceed. The longer of the user's and the address's lockouts. Either argument may be null (then only the other counts).
    /// </summary>
    public TimeSpan? GetLockout(string? user, IPAddress? address)
    {
        var now = _clock.GetUtcNow();
        var until = DateTimeOffset.MinValue;
        lock (_gate)
        {
            foreach (var key in KeysOf(user, address))
            {
                if (_entries.TryGetValue(key.Key, out var entry) && entry.LockedUntil > until)
                {
                    until = entry.LockedUntil;
                }
            }
        }

        return until > now ? until - now : null;
    }

    /// <summary>Counts a failed login against the user name and the address, and locks either when over its limit.</summary>
    public void RecordFailure(string? user, IPAddress? address)
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            foreach (var (key, freeFailures) in KeysOf(user, address))
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
    /// Clears the user name's count after a correct password. The address's count is left to decay: otherwise an
    /// attacker could reset it by logging into an account of their own between guesses at others.
    /// </summary>
    public void RecordSuccess(string? user, IPAddress? address)
    {
        var key = UserKey(user);
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

    private IEnumerable<(string Key, int FreeFailures)> KeysOf(string? user, IPAddress? address)
    {
        var keys = new List<(string, int)>(2);
        if (UserKey(user) is { } userKey)
        {
            keys.Add((userKey, _options.UserFreeFailures));
        }

        if (address is not null)
        {
            keys.Add((AddressKey(address), _options.AddressFreeFailures));
        }

        return keys;
    }

    /// <summary>User names are compared trimmed and case-insensitively, so <c>Alice</c> and <c>alice </c> share a count.</summary>
    private static string? UserKey(string? user) =>
        string.IsNullOrWhiteSpace(user) ? null : "u:" + user.Trim().ToLowerInvariant();

    private string AddressKey(IPAddress address)
    {
        address = IPNetworkList.Normalize(address);
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return $"a:{IPNetworkList.Mask(address, _options.IPv6PrefixLength)}/{_options.IPv6PrefixLength}";
        }

        return "a:" + address;
    }

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
