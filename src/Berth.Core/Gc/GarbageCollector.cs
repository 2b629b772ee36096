using Berth.Core.Jobs;
using Berth.Core.Metadata;
using Berth.Core.Storage;
using Berth.Oci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Core.Gc;

/// <summary>A blob a run collected, or would collect (dry run).</summary>
public sealed record CollectedBlob(Digest Digest, long Size);

/// <summary>Where a run is.</summary>
public enum GcRunState
{
    Running,
    Succeeded,
    Failed,
}

/// <summary>
/// A snapshot of one run: <paramref name="BlobsExamined"/> blobs of the store listed so far, <paramref name="BlobsCollected"/>
/// of them deleted (in a dry run: that would be deleted) with <paramref name="BytesFreed"/> bytes. <paramref name="Blobs"/>
/// names the first <see cref="GarbageCollector.MaxListedBlobs"/> of them (<paramref name="BlobsTruncated"/> when there are more).
/// </summary>
public sealed record GcRunReport(
    string Id, bool DryRun, string Trigger, GcRunState State, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, TimeSpan Grace,
    long BlobsExamined, long BlobsCollected, long BytesFreed, IReadOnlyList<CollectedBlob> Blobs, bool BlobsTruncated, string? Error);

/// <summary>A run in progress; its counters move as it goes (<see cref="Report"/> takes a snapshot).</summary>
public sealed class GcRun
{
    private readonly Lock _lock = new();
    private readonly List<CollectedBlob> _blobs = [];
    private long _examined;
    private long _collected;
    private long _bytes;
    private bool _truncated;
    private GcRunState _state = GcRunState.Running;
    private DateTimeOffset? _finishedAt;
    private string? _error;

    internal GcRun(string id, bool dryRun, string trigger, DateTimeOffset startedAt, TimeSpan grace)
    {
        Id = id;
        DryRun = dryRun;
        Trigger = trigger;
        StartedAt = startedAt;
        Grace = grace;
    }

    public string Id { get; }

    public bool DryRun { get; }

    /// <summary>Who asked: <c>schedule</c>, or the user that started it on demand.</summary>
    public string Trigger { get; }

    public DateTimeOffset StartedAt { get; }

    public TimeSpan Grace { get; }

    internal void Examined() => Interlocked.Increment(ref _examined);

    internal void Collected(Digest digest, long size)
    {
        Interlocked.Increment(ref _collected);
        Interlocked.Add(ref _bytes, size);
        lock (_lock)
        {
            if (_blobs.Count < GarbageCollector.MaxListedBlobs)
            {
                _blobs.Add(new CollectedBlob(digest, size));
            }
            else
            {
                _truncated = true;
            }
        }
    }

    internal void Finish(DateTimeOffset at, string? error)
    {
        lock (_lock)
        {
            _finishedAt = at;
            _error = error;
            _state = error is null ? GcRunState.Succeeded : GcRunState.Failed;
        }
    }

    /// <summary>The run as it stands; <paramref name="withBlobs"/> false leaves the list out (status listings).</summary>
    public GcRunReport Report(bool withBlobs = true)
    {
        lock (_lock)
        {
            return new GcRunReport(Id, DryRun, Trigger, _state, StartedAt, _finishedAt, Grace, Interlocked.Read(ref _examined),
                Interlocked.Read(ref _collected), Interlocked.Read(ref _bytes), withBlobs ? _blobs.ToList() : [], _truncated, _error);
        }
    }
}

/// <summary>
/// Online garbage collection: deletes the bytes of blobs that no manifest references, once the blob, each of its links
/// and its bytes are older than the grace window (<see cref="RegistryOptions.GcGrace"/>), while pushes and pulls go on.
/// One run at a time across nodes (the lease <see cref="LeaseName"/>, renewed as the run goes). A run walks the store's
/// listing (never the upload store: uploads in progress are not blobs yet), skips bytes newer than the cut-off, asks the
/// metadata store which of each batch of <see cref="BatchSize"/> are garbage, and collects them metadata first:
/// <see cref="IBlobCollectionIndex.BeginCollectionAsync"/> re-checks, deletes the rows and writes markers in one
/// transaction, then the bytes are deleted through <see cref="IBlobStore.DeleteAsync"/> (a caching store forgets them),
/// then the markers are finished. Memory stays at one batch and the capped report list, whatever the store holds.
/// </summary>
public sealed partial class GarbageCollector
{
    /// <summary>Digests per metadata query and per collection transaction.</summary>
    public const int BatchSize = 500;

    /// <summary>Blobs a report names at most; the totals count them all.</summary>
    public const int MaxListedBlobs = 1000;

    /// <summary>Runs kept in <see cref="History"/>.</summary>
    public const int HistorySize = 20;

    /// <summary>The lease that makes the collector one at a time across nodes.</summary>
    public const string LeaseName = "garbage-collection";

    /// <summary>How long finished markers stay: a link of a digest collected within this time checks the bytes exist.</summary>
    public static readonly TimeSpan MarkerRetention = TimeSpan.FromDays(1);

    private static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(5);

    private readonly IBlobStore _blobs;
    private readonly IBlobCollectionIndex _index;
    private readonly ILeaseStore _leases;
    private readonly TimeProvider _clock;
    private readonly IOptions<RegistryOptions> _options;
    private readonly ILogger<GarbageCollector> _logger;
    private readonly Lock _lock = new();
    private readonly LinkedList<GcRun> _history = new();
    private readonly string _holder = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private GcRun? _current;

    public GarbageCollector(IBlobStore blobs, IBlobCollectionIndex index, ILeaseStore leases, TimeProvider clock, IOptions<RegistryOptions> options,
        ILogger<GarbageCollector> logger)
    {
        _blobs = blobs;
        _index = index;
        _leases = leases;
        _clock = clock;
        _options = options;
        _logger = logger;
    }

    /// <summary>The grace window runs use (the setting, at least <see cref="RegistryOptions.MinGcGrace"/>); no run can shorten it.</summary>
    public TimeSpan Grace => _options.Value.EffectiveGcGrace;

    /// <summary>The run in progress on this node, if any.</summary>
    public GcRun? Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>Runs of this node, newest first (the one in progress included).</summary>
    public IReadOnlyList<GcRun> History
    {
        get
        {
            lock (_lock)
            {
                return _history.ToList();
            }
        }
    }

    /// <summary>The run <paramref name="id"/> of this node's history; null when unknown.</summary>
    public GcRun? Find(string id)
    {
        lock (_lock)
        {
            return _history.FirstOrDefault(r => r.Id == id);
        }
    }

    /// <summary>
    /// Starts a run when none is in progress here or on another node (it takes the lease): the run, which the caller
    /// then passes to <see cref="RunAsync"/>; null when another run holds the lease.
    /// </summary>
    public async Task<GcRun?> TryStartAsync(bool dryRun, string trigger, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_current is not null)
            {
                return null;
            }
        }

        if (!await _leases.TryAcquireAsync(LeaseName, _holder, LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var run = new GcRun(Guid.NewGuid().ToString("N")[..12], dryRun, trigger, _clock.GetUtcNow(), Grace);
        lock (_lock)
        {
            if (_current is not null)
            {
                return null; // another caller of this node won the race; it holds the lease too (same holder)
            }

            _current = run;
            _history.AddFirst(run);
            while (_history.Count > HistorySize)
            {
                _history.RemoveLast();
            }
        }

        return run;
    }

    /// <summary>Runs <paramref name="run"/> (from <see cref="TryStartAsync"/>) to its end and gives the lease up; the report says how it went.</summary>
    public async Task<GcRunReport> RunAsync(GcRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        string? error = null;
        try
        {
            LogStarted(_logger, run.Id, run.DryRun, run.Grace);
            await CollectAsync(run, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Reported in the run; the caller (job or endpoint) has nothing more to do with it.
            error = ex is OperationCanceledException ? "stopped: the server is shutting down" : $"{ex.GetType().Name}: {ex.Message}";
            LogFailed(_logger, ex, run.Id);
        }
        finally
        {
            run.Finish(_clock.GetUtcNow(), error);
            lock (_lock)
            {
                _current = null;
            }

            try
            {
                await _leases.ReleaseAsync(LeaseName, _holder, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogLeaseLost(_logger, ex, run.Id); // it ends by itself
            }
        }

        var report = run.Report();
        LogFinished(_logger, run.Id, report.State, report.BlobsExamined, report.BlobsCollected, report.BytesFreed, (report.FinishedAt - report.StartedAt) ?? TimeSpan.Zero);
        return report;
    }

    private async Task CollectAsync(GcRun run, CancellationToken cancellationToken)
    {
        // One cut-off for the whole run: whatever is used while it runs is stamped after its start, so newer than it.
        var cutoff = run.StartedAt - run.Grace;
        if (!run.DryRun)
        {
            await FinishAbandonedAsync(cancellationToken).ConfigureAwait(false);
            await _index.PurgeCollectionsAsync(_clock.GetUtcNow() - MarkerRetention, cancellationToken).ConfigureAwait(false);
        }

        var batch = new List<StoredBlob>(BatchSize);
        await foreach (var blob in _blobs.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            run.Examined();
            if (blob.LastModified >= cutoff)
            {
                continue; // bytes committed within the window: an upload may be about to link them
            }

            batch.Add(blob);
            if (batch.Count == BatchSize)
            {
                await CollectBatchAsync(run, batch, cutoff, cancellationToken).ConfigureAwait(false);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            await CollectBatchAsync(run, batch, cutoff, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CollectBatchAsync(GcRun run, List<StoredBlob> batch, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await RenewLeaseAsync(cancellationToken).ConfigureAwait(false);
        var sizes = new Dictionary<Digest, long>(batch.Count);
        foreach (var blob in batch)
        {
            sizes[blob.Digest] = blob.Size;
        }

        var garbage = await _index.FindGarbageAsync(sizes.Keys.ToList(), cutoff, cancellationToken).ConfigureAwait(false);
        if (garbage.Count == 0)
        {
            return;
        }

        if (run.DryRun)
        {
            foreach (var digest in garbage)
            {
                run.Collected(digest, sizes.GetValueOrDefault(digest));
            }

            return;
        }

        var marked = await _index.BeginCollectionAsync(garbage, cutoff, cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var digest in marked)
            {
                if (await _blobs.DeleteAsync(digest, cancellationToken).ConfigureAwait(false) == BlobDeleteResult.Deleted)
                {
                    run.Collected(digest, sizes.GetValueOrDefault(digest));
                }
            }
        }
        finally
        {
            // Also when a delete failed or the server stops: bytes left behind are an orphan, collected by a later run;
            // an unfinished marker would refuse uploads of the digest until then.
            await _index.FinishCollectionAsync(marked, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Finishes what a collector that stopped midway left: its marked digests' bytes are deleted, then the markers finished.</summary>
    private async Task FinishAbandonedAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var unfinished = await _index.ListUnfinishedCollectionsAsync(BatchSize, cancellationToken).ConfigureAwait(false);
            if (unfinished.Count == 0)
            {
                return;
            }

            foreach (var digest in unfinished)
            {
                await _blobs.DeleteAsync(digest, cancellationToken).ConfigureAwait(false);
            }

            await _index.FinishCollectionAsync(unfinished, CancellationToken.None).ConfigureAwait(false);
            LogAbandoned(_logger, unfinished.Count);
            if (unfinished.Count < BatchSize)
            {
                return;
            }
        }
    }

    private async Task RenewLeaseAsync(CancellationToken cancellationToken)
    {
        if (!await _leases.TryAcquireAsync(LeaseName, _holder, LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            // Another node took over (this one stalled past the lease): stop rather than collect side by side.
            throw new InvalidOperationException("the garbage collection lease went to another node; this run stopped");
        }
    }

    [LoggerMessage(EventId = 1901, Level = LogLevel.Information, Message = "Garbage collection {Run} started (dry run: {DryRun}, grace {Grace})")]
    private static partial void LogStarted(ILogger logger, string run, bool dryRun, TimeSpan grace);

    [LoggerMessage(EventId = 1902, Level = LogLevel.Information,
        Message = "Garbage collection {Run} {State}: {Examined} blobs examined, {Collected} collected, {Bytes} bytes, in {Elapsed}")]
    private static partial void LogFinished(ILogger logger, string run, GcRunState state, long examined, long collected, long bytes, TimeSpan elapsed);

    [LoggerMessage(EventId = 1903, Level = LogLevel.Error, Message = "Garbage collection {Run} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string run);

    [LoggerMessage(EventId = 1904, Level = LogLevel.Warning, Message = "Finished {Count} collections a stopped collector left")]
    private static partial void LogAbandoned(ILogger logger, int count);

    [LoggerMessage(EventId = 1905, Level = LogLevel.Warning, Message = "Could not give up the garbage collection lease after run {Run}")]
    private static partial void LogLeaseLost(ILogger logger, Exception exception, string run);
}
