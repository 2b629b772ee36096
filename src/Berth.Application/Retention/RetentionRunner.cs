using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Core.Access;
using Berth.Core.Events;
using Berth.Core.Immutability;
using Berth.Core.Jobs;
using Berth.Core.Lifecycle;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Retention;
using Berth.Oci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Application.Retention;

/// <summary>Settings of retention runs (section <c>Berth:Retention</c>).</summary>
public sealed class RetentionOptions
{
    /// <summary>
    /// How long the lab preset keeps an untagged artifact after its push: the GC grace window
    /// (<see cref="Berth.Core.RegistryOptions.EffectiveGcGrace"/>, <c>--gc-grace</c>, set in <c>AddBerthApplication</c>), since
    /// <c>docker manifest push</c> sends an index's children before the index. Default one hour.
    /// </summary>
    public TimeSpan UntaggedGrace { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Why <see cref="RetentionRunner.RunAsync"/> did not run.</summary>
public enum RetentionRunRefusal
{
    None,
    ProjectNotFound,
    NoPolicy,

    /// <summary>Another run of the project is in progress (on this node or another).</summary>
    Busy,
}

/// <summary>The run recorded (its final state), or why none was started.</summary>
public sealed record RetentionRunOutcome(RetentionRun? Run, RetentionRunRefusal Refusal);

/// <summary>
/// Runs a project's retention policy once. Repository by repository (pages of repositories, then the repository's
/// artifacts in pages: memory holds one repository's artifacts at a time, never the registry's), it evaluates the
/// policy (<see cref="RetentionPolicy.Evaluate"/>, immutable tags kept), measures what the deletes free
/// (<see cref="IRetentionStore.MeasureFreedAsync"/>) and, unless it is a dry run, deletes each artifact by digest
/// through <see cref="ManifestService.DeleteAsync"/>, the path a client's <c>DELETE</c> takes: the store's immutability
/// check applies (a refusal is recorded as skipped, not a failure), and the deletes raise the usual events (audited as
/// <c>delete</c> by <c>system:retention</c>). Each repository's items are written to the history as it is done.
/// One run per project at a time across nodes: the run holds the lease <c>retention:PROJECT</c>
/// (<see cref="ILeaseStore"/>), renewed after each repository. The run ends with one <c>retention.run</c> audit entry.
/// </summary>
public sealed partial class RetentionRunner(
    IRetentionStore store,
    IRepositoryBrowser browser,
    ManifestService manifests,
    ImmutableTags immutableTags,
    ILeaseStore leases,
    AuditRecorder audit,
    TimeProvider clock,
    IOptions<RetentionOptions> options,
    ILogger<RetentionRunner> logger)
{
    private const int RepositoryPage = 100;
    private const int ArtifactPage = 500;

    /// <summary>How long a run's lease lasts without renewal (a node that dies mid-run blocks the project at most this long).</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(10);

    /// <summary>The audit actor name of scheduled runs.</summary>
    public const string SystemActor = "retention";

    /// <summary>Runs the project's policy now and answers the finished run (its items through <see cref="IRetentionStore.ListItemsAsync"/>).</summary>
    public async Task<RetentionRunOutcome> RunAsync(ProjectName project, RetentionTrigger trigger, bool dryRun, Caller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var settings = await store.GetAsync(project, cancellationToken);
        if (settings is null)
        {
            return new RetentionRunOutcome(null, RetentionRunRefusal.NoPolicy);
        }

        var lease = $"retention:{project}";
        var holder = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
        if (!await leases.TryAcquireAsync(lease, holder, LeaseDuration, cancellationToken))
        {
            return new RetentionRunOutcome(null, RetentionRunRefusal.Busy);
        }

        try
        {
            var run = await store.StartRunAsync(project, trigger, dryRun, caller.Name, clock.GetUtcNow(), RetentionLimits.KeptRuns, cancellationToken);
            if (run is null)
            {
                return new RetentionRunOutcome(null, RetentionRunRefusal.ProjectNotFound);
            }

            RetentionRunEnd end;
            try
            {
                var policy = RetentionPresets.Resolve(settings, options.Value.UntaggedGrace);
                using var actor = EventActorContext.Begin(caller.ToEventActor());
                end = await ApplyAsync(project, run.Id, policy, dryRun, lease, holder, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The server is stopping: the run is recorded as stopped (what it deleted so far is in its items).
                end = new RetentionRunEnd(RetentionRunStatus.Failed, 0, 0, 0, "stopped: the server is shutting down");
            }
            catch (Exception ex)
            {
                LogFailed(logger, ex, project.Value, run.Id);
                end = new RetentionRunEnd(RetentionRunStatus.Failed, 0, 0, 0, ex is FormatException or InvalidOperationException ? ex.Message : "the run stopped on an internal error (see the server log)");
            }

            var finished = clock.GetUtcNow();
            await store.FinishRunAsync(run.Id, end, finished, CancellationToken.None);
            await audit.RecordAsync(caller, AuditActions.RetentionRun, project, detail: new
            {
                run = run.Id,
                trigger = RetentionWords.Of(trigger),
                dryRun,
                status = RetentionWords.Of(end.Status),
                artifactsDeleted = end.ArtifactsDeleted,
                skipped = end.Skipped,
                bytesFreed = end.BytesFreed,
                error = end.Error,
            });
            LogFinished(logger, project.Value, run.Id, dryRun, end.ArtifactsDeleted, end.BytesFreed);
            return new RetentionRunOutcome(run with { FinishedAt = finished, Status = end.Status, ArtifactsDeleted = end.ArtifactsDeleted, Skipped = end.Skipped, BytesFreed = end.BytesFreed, Error = end.Error },
                RetentionRunRefusal.None);
        }
        finally
        {
            await leases.ReleaseAsync(lease, holder, CancellationToken.None);
        }
    }

    private async Task<RetentionRunEnd> ApplyAsync(ProjectName project, long runId, RetentionPolicy policy, bool dryRun, string lease, string holder, CancellationToken cancellationToken)
    {
        var rules = await immutableTags.RulesAsync(project, cancellationToken);
        long deleted = 0, skipped = 0, bytes = 0;
        string? last = null;
        while (true)
        {
            var page = await browser.ListRepositoriesAsync(project.Value, last, RepositoryPage, cancellationToken);
            foreach (var repository in page.Repositories)
            {
                var (d, s, b) = await ApplyToRepositoryAsync(runId, repository.Name, policy, rules, dryRun, cancellationToken);
                deleted += d;
                skipped += s;
                bytes += b;
                await leases.TryAcquireAsync(lease, holder, LeaseDuration, cancellationToken);
            }

            if (!page.HasMore || page.Repositories.Count == 0)
            {
                break;
            }

            last = page.Repositories[^1].Name.Value;
        }

        return new RetentionRunEnd(RetentionRunStatus.Succeeded, deleted, skipped, bytes, null);
    }

    private async Task<(long Deleted, long Skipped, long Bytes)> ApplyToRepositoryAsync(long runId, RepositoryName repository, RetentionPolicy policy,
        IReadOnlyList<ImmutabilityRule> rules, bool dryRun, CancellationToken cancellationToken)
    {
        var artifacts = new List<ArtifactRecord>();
        Digest? after = null;
        while (true)
        {
            var page = await browser.ListArtifactsAsync(repository, after, ArtifactPage, cancellationToken);
            if (page is null)
            {
                return (0, 0, 0);
            }

            artifacts.AddRange(page.Artifacts);
            if (!page.HasMore || page.Artifacts.Count == 0)
            {
                break;
            }

            after = page.Artifacts[^1].Digest;
        }

        var now = clock.GetUtcNow();
        var verdicts = policy.Evaluate(ImmutabilityPolicy.RelativePath(repository),
            artifacts.Select(a => new RetentionArtifact(a.Digest, a.Tags, a.PushedAt, a.LastPulledAt, a.Subject, a.Children)).ToList(),
            now, tag => ImmutabilityPolicy.Find(rules, repository, tag) is not null);
        var byDigest = artifacts.ToDictionary(a => a.Digest);
        var going = verdicts.Where(v => !v.Keep).ToList();
        if (going.Count == 0)
        {
            return (0, 0, 0);
        }

        var bytes = await store.MeasureFreedAsync(repository, going.Select(v => v.Digest).ToList(), cancellationToken);
        var items = new List<RetentionRunItem>(going.Count);
        long deleted = 0, skipped = 0;

        // Referrers before their subjects and indexes before their children, so nothing is left pointing at a deleted manifest mid-run.
        foreach (var verdict in going.OrderBy(v => byDigest[v.Digest].Subject is null ? 1 : 0).ThenBy(v => byDigest[v.Digest].Children.Count > 0 ? 0 : 1))
        {
            var artifact = byDigest[verdict.Digest];
            var outcome = dryRun ? RetentionItemOutcome.WouldDelete : RetentionItemOutcome.Deleted;
            var reason = verdict.Reason;
            if (!dryRun)
            {
                var result = await manifests.DeleteAsync(repository, Reference.Of(verdict.Digest), cancellationToken);
                if (!result.IsSuccess)
                {
                    outcome = RetentionItemOutcome.Skipped;
                    reason = $"{reason}; not deleted: {result.Error!.Message}";
                    bytes -= artifact.Size;
                }
            }

            if (outcome == RetentionItemOutcome.Skipped)
            {
                skipped++;
            }
            else
            {
                deleted++;
            }

            items.Add(new RetentionRunItem(0, repository, verdict.Digest, artifact.Tags, artifact.Size, outcome, reason));
        }

        await store.AddItemsAsync(runId, items, CancellationToken.None);
        return (deleted, skipped, Math.Max(0, bytes));
    }

    [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Retention run {Run} of project {Project} (dry run: {DryRun}) ended: {Deleted} artifacts, {Bytes} bytes")]
    private static partial void LogFinished(ILogger logger, string project, long run, bool dryRun, long deleted, long bytes);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Error, Message = "Retention run {Run} of project {Project} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string project, long run);
}
