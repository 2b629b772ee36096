using Berth.Core.Access;
using Microsoft.Extensions.Options;

namespace Berth.Auth.Throttling;

/// <summary>
/// The login throttle's counts in this process's memory: right for one node (the embedded default). At most
/// <see cref="LoginThrottleOptions.MaxEntries"/> keys: beyond it forgotten counts go first, then the oldest. Thread-safe.
/// </summary>
public sealed class MemoryLoginFailureStore : ILoginFailureStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LoginFailureCount> _entries = new(StringComparer.Ordinal);
    private readonly LoginThrottleOptions _options;
    private readonly TimeProvider _clock;

    public MemoryLoginFailureStore(IOptions<LoginThrottleOptions> options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        _options = options.Value;
        _clock = clock;
    }

    public bool Shared => false;

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

    public Task<IReadOnlyDictionary<string, LoginFailureCount>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var found = new Dictionary<string, LoginFailureCount>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var key in keys)
            {
                if (_entries.TryGetValue(key, out var count))
                {
                    found[key] = count;
                }
            }
        }

        return Task.FromResult<IReadOnlyDictionary<string, LoginFailureCount>>(found);
    }

    public Task UpdateAsync(IReadOnlyCollection<string> keys, Func<string, LoginFailureCount?, LoginFailureCount> update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(update);
        lock (_gate)
        {
            foreach (var key in keys)
            {
                if (_entries.TryGetValue(key, out var current))
                {
                    _entries[key] = update(key, current);
                }
                else
                {
                    MakeRoom(_clock.GetUtcNow());
                    _entries[key] = update(key, null);
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task RemoveAsync(string key, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _entries.Remove(key);
        }

        return Task.CompletedTask;
    }

    public Task<int> PruneAsync(DateTimeOffset now, TimeSpan forgetAfter, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(RemoveForgotten(now, forgetAfter));
        }
    }

    private int RemoveForgotten(DateTimeOffset now, TimeSpan forgetAfter)
    {
        var removed = 0;
        foreach (var (key, entry) in _entries)
        {
            if (LoginThrottle.IsForgotten(entry, now, forgetAfter))
            {
                _entries.Remove(key);
                removed++;
            }
        }

        return removed;
    }

    /// <summary>At the limit: drop counts that are forgotten and unlocked; if still full, the oldest ones.</summary>
    private void MakeRoom(DateTimeOffset now)
    {
        if (_entries.Count < _options.MaxEntries)
        {
            return;
        }

        RemoveForgotten(now, _options.ForgetAfter);
        var excess = _entries.Count - _options.MaxEntries + 1;
        if (excess > 0)
        {
            foreach (var key in _entries.OrderBy(e => e.Value.LastFailure).Take(excess).Select(e => e.Key).ToArray())
            {
                _entries.Remove(key);
            }
        }
    }
}
