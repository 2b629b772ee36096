using System.Net;
using Berth.Application.Access;
using Berth.Core.Access;
using Berth.Core.Jobs;
using Berth.Core.Retention;
using Microsoft.Extensions.Logging;

namespace Berth.Application.Retention;

/// <summary>
/// Every minute (one node at a time: the job's lease), starts the runs whose cron schedule has come due: a project's
/// occurrence is due when the first occurrence after the last one handled (or, never handled, after the policy was
/// set) is not in the future. The occurrence is claimed (<see cref="IRetentionStore.TryClaimScheduledAsync"/>, a
/// compare-and-set, so two schedulers never both run it) before the run starts, so a failing run is not retried
/// every minute and a run that is missed while the server is down happens once when it is back (not once per missed
/// occurrence). Runs go one after the other; a project whose previous run still holds its lease is skipped until its
/// next occurrence.
/// </summary>
public sealed partial class RetentionScheduler(IRetentionStore store, RetentionRunner runner, TimeProvider clock, ILogger<RetentionScheduler> logger) : IPeriodicJob
{
    private const int Page = 100;

    /// <summary>Who scheduled runs are, in the history and the audit log.</summary>
    public static Caller Actor { get; } = new(null, AuditActorKind.System, RetentionRunner.SystemActor, (IPAddress?)null);

    public string Name => "retention-scheduler";

    public JobSchedule Schedule { get; } = new(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(30));

    public Task RunAsync(CancellationToken cancellationToken) => RunDueAsync(cancellationToken);

    /// <summary>Starts every due run now; answers how many were started.</summary>
    public async Task<int> RunDueAsync(CancellationToken cancellationToken)
    {
        var started = 0;
        string? last = null;
        while (true)
        {
            var page = await store.ListEnabledAsync(last, Page, cancellationToken);
            foreach (var (project, settings) in page)
            {
                var now = clock.GetUtcNow();
                if (!RetentionSchedule.TryParse(settings.Schedule, out var cron, out _)
                    || RetentionSchedule.Next(cron, settings.LastScheduledAt ?? settings.UpdatedAt) is not { } next || next > now)
                {
                    continue;
                }

                if (!await store.TryClaimScheduledAsync(project, settings, now, cancellationToken))
                {
                    continue; // another scheduler took this occurrence, or the policy changed meanwhile
                }

                try
                {
                    var outcome = await runner.RunAsync(project, RetentionTrigger.Schedule, dryRun: false, Actor, cancellationToken);
                    if (outcome.Run is not null)
                    {
                        started++;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFailed(logger, ex, project.Value);
                }
            }

            if (page.Count < Page)
            {
                return started;
            }

            last = page[^1].Project.Value;
        }
    }

    [LoggerMessage(EventId = 1603, Level = LogLevel.Error, Message = "The scheduled retention run of project {Project} could not be started")]
    private static partial void LogFailed(ILogger logger, Exception exception, string project);
}
