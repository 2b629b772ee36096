using Berth.Core.Scanning;

namespace Berth.Api.Management;

/// <summary>
/// The advisory database's version for the scan-result answers, which show it on every read (a CLI waiting for a scan
/// reads every 2 seconds). <see cref="IAdvisoryStore.GetStatusAsync"/> also counts records per source and ecosystem, a
/// walk of the whole database, so a version above 0 is reused for <see cref="Fresh"/>: versions only grow, and a
/// reused one is at most that old. Version 0 (nothing imported) is asked again every time (cheap on empty tables), so
/// the first import shows at once.
/// </summary>
internal sealed class AdvisoryVersionCache(IAdvisoryStore store, TimeProvider clock)
{
    public static readonly TimeSpan Fresh = TimeSpan.FromSeconds(30);

    private Known? _last;

    public async ValueTask<long> GetAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (_last is { Version: > 0 } last && now - last.At < Fresh && now >= last.At)
        {
            return last.Version;
        }

        var version = (await store.GetStatusAsync(cancellationToken)).Version;
        _last = new Known(version, now);
        return version;
    }

    private sealed record Known(long Version, DateTimeOffset At);
}
