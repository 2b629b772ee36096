namespace Berth.Core.Jobs;

/// <summary>
/// Named leases that let one holder at a time do something (run a job) across nodes sharing a store. A lease not
/// released ends by itself after the duration it was taken for, so a node that died does not block the others.
/// </summary>
public interface ILeaseStore
{
    /// <summary>
    /// Takes the lease <paramref name="name"/> for <paramref name="holder"/> until <paramref name="duration"/> from now;
    /// true when it was free, expired or already held by <paramref name="holder"/> (then it is extended), false when
    /// another holder has it.
    /// </summary>
    ValueTask<bool> TryAcquireAsync(string name, string holder, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Gives the lease up if <paramref name="holder"/> has it; otherwise does nothing.</summary>
    ValueTask ReleaseAsync(string name, string holder, CancellationToken cancellationToken);
}

/// <summary>The embedded default (one node): leases live in this process, one holder at a time, expiring on the injected clock.</summary>
public sealed class InProcessLeaseStore(TimeProvider clock) : ILeaseStore
{
    private readonly Dictionary<string, (string Holder, DateTimeOffset Until)> _leases = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public ValueTask<bool> TryAcquireAsync(string name, string holder, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        lock (_lock)
        {
            if (_leases.TryGetValue(name, out var lease) && lease.Holder != holder && lease.Until > now)
            {
                return ValueTask.FromResult(false);
            }

            _leases[name] = (holder, now + duration);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask ReleaseAsync(string name, string holder, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_leases.TryGetValue(name, out var lease) && lease.Holder == holder)
            {
                _leases.Remove(name);
            }
        }

        return ValueTask.CompletedTask;
    }
}
