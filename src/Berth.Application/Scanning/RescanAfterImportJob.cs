using Berth.Core.Jobs;
using Berth.Core.Scanning;
using Berth.Oci;
using Berth.Scanning.Results;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Application.Scanning;

/// <summary>
/// After an advisory import, brings stored findings up to the database's version without reading any layer: walks the
/// stored inventories (<see cref="IScanResultStore.ListInventoriesAsync"/>, keyset pages of <see cref="PageSize"/>), and
/// for each finished scan whose <see cref="ScanResult.DatabaseVersion"/> is null (scanned before any import) or older,
/// matches its inventory again and stores the new findings, counts, worst ids and version, keeping everything else. One
/// node at a time (the host's lease). Idempotent: a scan already at the version is skipped. Bounded: at most
/// <see cref="MaxPerRun"/> inventories per run; the walk goes on from there at the next run and starts over once it
/// reached the end. A scan queued or under a claim is left to its scanner; an unreadable inventory is logged and skipped.
/// </summary>
public sealed partial class RescanAfterImportJob(IScanResultStore results, IAdvisoryStore advisories, ScanRunner runner, TimeProvider clock,
    IOptions<ScanningOptions> options, ILogger<RescanAfterImportJob> logger) : IPeriodicJob
{
    public const int PageSize = 200;

    public const int MaxPerRun = 10 * PageSize;

    private readonly SemaphoreSlim _running = new(1, 1);
    private Digest? _cursor;

    public string Name => "scan-rematch";

    public JobSchedule Schedule => new(options.Value.RescanInterval, options.Value.RescanInterval);

    public Task RunAsync(CancellationToken cancellationToken) => options.Value.Enabled ? RematchAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>One bounded pass; answers how many scans it updated.</summary>
    public async Task<int> RematchAsync(CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var version = (await advisories.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Version;
            if (version <= 0)
            {
                return 0;
            }

            var (seen, updated) = (0, 0);
            var source = runner.CreateSource(); // one per run: each advisory parsed once for all the inventories it matches
            while (seen < MaxPerRun)
            {
                var page = await results.ListInventoriesAsync(_cursor, PageSize, cancellationToken).ConfigureAwait(false);
                foreach (var stored in page.Items)
                {
                    seen++;
                    _cursor = stored.Digest;
                    if (stored.DatabaseVersion is { } used && used >= version)
                    {
                        continue;
                    }

                    if (await RematchOneAsync(stored, version, source, cancellationToken).ConfigureAwait(false))
                    {
                        updated++;
                    }
                }

                if (!page.HasMore || page.Items.Count == 0)
                {
                    _cursor = null;
                    break;
                }
            }

            if (updated > 0)
            {
                LogRematched(logger, updated, version);
            }

            return updated;
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task<bool> RematchOneAsync(StoredInventory stored, long version, AdvisoryStoreSource source, CancellationToken cancellationToken)
    {
        InventoryDocument document;
        try
        {
            document = ScanDocuments.ReadInventory(stored.Inventory);
        }
        catch (FormatException ex)
        {
            LogUnreadable(logger, stored.Digest, ex.Message);
            return false;
        }

        // The row as it is now: only a finished scan is updated (a queued or claimed one gets fresh findings from its scanner).
        var current = await results.GetAsync(stored.Digest, cancellationToken).ConfigureAwait(false);
        if (current is not { Status: ScanStatus.Done } || current.Inventory is null || (current.DatabaseVersion is { } now && now >= version))
        {
            return false;
        }

        var match = await runner.MatchAsync(document.Inventory, source, cancellationToken).ConfigureAwait(false);
        await results.UpsertAsync(current with
        {
            Findings = match.FindingsJson,
            Counts = match.Counts,
            WorstIds = match.WorstIds,
            DatabaseVersion = version,
            UpdatedAt = clock.GetUtcNow(),
        }, cancellationToken).ConfigureAwait(false);
        return true;
    }

    [LoggerMessage(EventId = 2125, Level = LogLevel.Information, Message = "Matched {Count} stored inventories again against advisory database version {Version}")]
    private static partial void LogRematched(ILogger logger, int count, long version);

    [LoggerMessage(EventId = 2126, Level = LogLevel.Warning, Message = "The stored inventory of {Digest} cannot be read ({Reason}); it is not matched again")]
    private static partial void LogUnreadable(ILogger logger, Digest digest, string reason);
}
