using Berth.Core.Jobs;
using Berth.Core.Scanning;
using Berth.Oci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Application.Scanning;

/// <summary>
/// Runs the scan queue on every node (claims are compare-and-set in <see cref="IScanResultStore"/>, so nodes share the
/// queue without a job lease). Each run drains it: up to <see cref="ScanningOptions.Concurrency"/> workers claim the
/// oldest claimable digest with a lease of <see cref="ScanningOptions.Lease"/>, scan it with <see cref="ScanRunner"/>
/// while renewing the claim every third of the lease, and store the result with
/// <see cref="IScanResultStore.CompleteAsync"/> (refused, and logged, when the claim was taken over meanwhile). A scan
/// that throws is stored as <see cref="ScanStatus.Failed"/> with the exception's message and the queue goes on; a claim
/// found lost while scanning stops that scan. When the server stops, scans in flight are abandoned: their claims lapse
/// and another node (or this one, after a restart) takes the digests over when the lease has passed.
/// </summary>
public sealed partial class ScanQueueJob(IScanResultStore results, ScanRunner runner, TimeProvider clock, IOptions<ScanningOptions> options, ILogger<ScanQueueJob> logger)
    : IPeriodicJob
{
    /// <summary>Who this node is in claims (<see cref="ScanResult.ClaimedBy"/>): host, process and a random part.</summary>
    public string Node { get; init; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    public string Name => "scan-queue";

    public bool EveryNode => true;

    /// <summary>Every poll interval, the first one interval after start.</summary>
    public JobSchedule Schedule => new(options.Value.PollInterval, options.Value.PollInterval);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        var workers = Enumerable.Range(0, Math.Clamp(settings.Concurrency, 1, ScanningOptions.MaxConcurrency))
            .Select(_ => WorkAsync(settings.Lease, cancellationToken))
            .ToList();
        var scanned = await Task.WhenAll(workers).ConfigureAwait(false);
        if (scanned.Sum() > 0)
        {
            LogDrained(logger, scanned.Sum());
        }
    }

    /// <summary>Claims and scans until the queue is empty; answers how many digests it finished.</summary>
    private async Task<int> WorkAsync(TimeSpan lease, CancellationToken cancellationToken)
    {
        var count = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var digest = await results.ClaimNextAsync(Node, clock.GetUtcNow(), lease, cancellationToken).ConfigureAwait(false);
            if (digest is not { } claimed)
            {
                return count;
            }

            if (await ScanClaimedAsync(claimed, lease, cancellationToken).ConfigureAwait(false))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Scans a digest this node claimed, renewing the claim meanwhile; true when the result was stored.</summary>
    private async Task<bool> ScanClaimedAsync(Digest digest, TimeSpan lease, CancellationToken cancellationToken)
    {
        using var scan = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var renewing = new CancellationTokenSource();
        var lost = false;
        var renewal = RenewAsync(digest, lease / 3, () =>
        {
            lost = true;
            scan.Cancel();
        }, renewing.Token);

        ScanResult result;
        try
        {
            result = await runner.ScanAsync(digest, scan.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // the server is stopping: the claim lapses and the scan is taken over later
        }
        catch (OperationCanceledException) when (lost)
        {
            LogClaimLost(logger, digest);
            return false;
        }
        catch (Exception ex)
        {
            LogScanCrashed(logger, ex, digest);
            result = runner.Failed(digest, $"the scan stopped with an error: {ex.Message}");
        }
        finally
        {
            await renewing.CancelAsync().ConfigureAwait(false);
            await renewal.ConfigureAwait(false);
        }

        if (lost)
        {
            LogClaimLost(logger, digest);
            return false;
        }

        if (!await results.CompleteAsync(result, Node, cancellationToken).ConfigureAwait(false))
        {
            LogClaimLost(logger, digest);
            return false;
        }

        return true;
    }

    private async Task RenewAsync(Digest digest, TimeSpan every, Action onLost, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(every, clock, cancellationToken).ConfigureAwait(false);
                bool renewed;
                try
                {
                    renewed = await results.RenewClaimAsync(digest, Node, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRenewFailed(logger, ex, digest);
                    continue; // the store may be back before the lease ends
                }

                if (!renewed)
                {
                    onLost();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the scan ended
        }
    }

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "Scan queue: {Count} scans finished")]
    private static partial void LogDrained(ILogger logger, int count);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Warning, Message = "Scan of {Digest} dropped: its claim was taken over by another node (its lease had passed)")]
    private static partial void LogClaimLost(ILogger logger, Digest digest);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Error, Message = "Scan of {Digest} failed with an unexpected error; stored as failed")]
    private static partial void LogScanCrashed(ILogger logger, Exception exception, Digest digest);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Warning, Message = "Renewing the claim on {Digest} failed; retrying at the next renewal")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, Digest digest);
}
