namespace Berth.Core.Access;

/// <summary>
/// One failed-sign-in count of the login throttle: how many failures (before decay), the last one, and until when
/// sign-ins under its key are refused.
/// </summary>
public readonly record struct LoginFailureCount(int Failures, DateTimeOffset LastFailure, DateTimeOffset LockedUntil);

/// <summary>
/// Where the login throttle (Berth.Auth's <c>LoginThrottle</c>) keeps its counts, by opaque key (a user and network, a
/// network, an account). The throttle decides what a failure does to a count; the store keeps the counts and applies
/// the throttle's update to each key atomically, so that failures on every node that shares the store add up: in
/// memory for one node (the embedded default), in the metadata database when several nodes share it (PostgreSQL).
/// </summary>
public interface ILoginFailureStore
{
    /// <summary>Longest key accepted; longer keys are cut by the caller (keys are built from normalized names and networks).</summary>
    public const int MaxKeyLength = 200;

    /// <summary>True when every node that shares the metadata shares the counts.</summary>
    bool Shared { get; }

    /// <summary>The stored counts among <paramref name="keys"/> (keys without a count are absent).</summary>
    Task<IReadOnlyDictionary<string, LoginFailureCount>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the count of each key by <paramref name="update"/>(key, current count or null), atomically per key against
    /// concurrent updates on any node (the function may be called more than once for a key when a write is retried).
    /// </summary>
    Task UpdateAsync(IReadOnlyCollection<string> keys, Func<string, LoginFailureCount?, LoginFailureCount> update, CancellationToken cancellationToken);

    /// <summary>Removes the count of <paramref name="key"/> (nothing when there is none).</summary>
    Task RemoveAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Removes counts that no longer matter at <paramref name="now"/>: unlocked, and with every failure forgotten at one
    /// per <paramref name="forgetAfter"/> since the last one. Returns how many went.
    /// </summary>
    Task<int> PruneAsync(DateTimeOffset now, TimeSpan forgetAfter, CancellationToken cancellationToken);
}
