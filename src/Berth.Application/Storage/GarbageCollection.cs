using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Gc;
using Berth.Core.Jobs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Application.Storage;

/// <summary>
/// Garbage collection as the server runs it: on its schedule (<see cref="RegistryOptions.GcInterval"/>; zero: only on
/// demand) and on demand (<see cref="StartAsync"/>, <c>POST /api/v1/system/gc</c>), each run through the one
/// <see cref="GarbageCollector"/> (one at a time across nodes) and audited when it ends (<see cref="AuditActions.GcRun"/>).
/// The job runs on every node (<see cref="EveryNode"/>): the collector's own lease, renewed during the run, is what lets
/// one of them collect, and an on-demand run takes the same lease.
/// </summary>
public sealed partial class GarbageCollection : IPeriodicJob
{
    /// <summary>How scheduled runs appear in the audit log.</summary>
    public static readonly Caller Scheduler = new(null, AuditActorKind.System, "garbage-collection", null);

    private readonly GarbageCollector _collector;
    private readonly AuditRecorder _audit;
    private readonly IOptions<RegistryOptions> _options;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<GarbageCollection> _logger;

    public GarbageCollection(GarbageCollector collector, AuditRecorder audit, IOptions<RegistryOptions> options, IHostApplicationLifetime lifetime,
        ILogger<GarbageCollection> logger)
    {
        _collector = collector;
        _audit = audit;
        _options = options;
        _lifetime = lifetime;
        _logger = logger;
    }

    public string Name => "garbage-collection";

    /// <summary>Every <see cref="RegistryOptions.GcInterval"/>, the first one interval after start (a restart loop does not collect each time).</summary>
    public JobSchedule Schedule =>
        _options.Value.GcInterval > TimeSpan.Zero
            ? new JobSchedule(_options.Value.GcInterval, _options.Value.GcInterval)
            : new JobSchedule(TimeSpan.FromHours(1), TimeSpan.FromHours(1));

    public bool EveryNode => true;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_options.Value.GcInterval <= TimeSpan.Zero)
        {
            return;
        }

        var run = await _collector.TryStartAsync(dryRun: false, Scheduler.Name, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            LogBusy(_logger);
            return;
        }

        var report = await _collector.RunAsync(run, cancellationToken).ConfigureAwait(false);
        await RecordAsync(Scheduler, report).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a run for <paramref name="caller"/> and returns at once (the run goes on in the background until it ends or
    /// the server stops): the run, or null when one is already in progress here or on another node.
    /// </summary>
    public async Task<GcRun?> StartAsync(bool dryRun, Caller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var run = await _collector.TryStartAsync(dryRun, caller.Name, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            return null;
        }

        _ = Task.Run(async () =>
        {
            var report = await _collector.RunAsync(run, _lifetime.ApplicationStopping).ConfigureAwait(false);
            await RecordAsync(caller, report).ConfigureAwait(false);
        }, CancellationToken.None);
        return run;
    }

    private ValueTask RecordAsync(Caller caller, GcRunReport report) =>
        _audit.RecordAsync(caller, AuditActions.GcRun, detail: new
        {
            run = report.Id,
            dryRun = report.DryRun,
            state = report.State.ToString().ToLowerInvariant(),
            blobsExamined = report.BlobsExamined,
            blobsCollected = report.BlobsCollected,
            bytesFreed = report.BytesFreed,
            seconds = Math.Round(((report.FinishedAt ?? report.StartedAt) - report.StartedAt).TotalSeconds, 3),
            error = report.Error,
        });

    [LoggerMessage(EventId = 1911, Level = LogLevel.Debug, Message = "Scheduled garbage collection skipped: a run is in progress here or on another node")]
    private static partial void LogBusy(ILogger logger);
}
