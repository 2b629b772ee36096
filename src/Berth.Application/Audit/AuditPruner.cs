using Berth.Application.Access;
using Berth.Core.Access;
using Berth.Core.Jobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Application.Audit;

/// <summary>
/// Deletes audit entries older than <see cref="AccessSettings.AuditRetention"/> (default one year) once an hour (first a
/// minute after start), in batches so no single transaction grows large. A retention of zero keeps everything.
/// </summary>
public sealed partial class AuditPruner(IAuditLog log, TimeProvider clock, IOptions<AccessSettings> settings, ILogger<AuditPruner> logger) : IPeriodicJob
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);
    public static readonly TimeSpan StartDelay = TimeSpan.FromMinutes(1);
    private const int BatchSize = 1000;

    /// <summary>Deletes what is older than the retention now; returns how many entries went.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var retention = settings.Value.AuditRetention;
        if (retention <= TimeSpan.Zero)
        {
            return 0;
        }

        var before = clock.GetUtcNow() - retention;
        var total = 0;
        int deleted;
        do
        {
            deleted = await log.DeleteBeforeAsync(before, BatchSize, cancellationToken);
            total += deleted;
        }
        while (deleted == BatchSize);

        if (total > 0)
        {
            LogPruned(logger, total, before);
        }

        return total;
    }

    public string Name => "audit-pruner";

    /// <summary>
    /// Not during start-up: a server starting is busy enough, and a first run a minute in still prunes on a server
    /// restarted more often than the interval.
    /// </summary>
    public JobSchedule Schedule { get; } = new(Interval, StartDelay);

    public Task RunAsync(CancellationToken cancellationToken) => PruneAsync(cancellationToken);

    [LoggerMessage(EventId = 31, Level = LogLevel.Information, Message = "Removed {Count} audit entries from before {Before:u}")]
    private static partial void LogPruned(ILogger logger, int count, DateTimeOffset before);
}
