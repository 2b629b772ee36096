using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Oci;

namespace Berth.Core.Retention;

/// <summary>
/// A project's retention settings as stored: either a named <see cref="Preset"/> (<c>lab</c>, whose rules are built at
/// run time from the server's settings, so a changed grace window applies to stored presets) or explicit
/// <see cref="Rules"/>; the cron <see cref="Schedule"/> (UTC) and whether scheduled runs happen (<see cref="Enabled"/>).
/// <see cref="LastScheduledAt"/> is the last time the scheduler started (or skipped) a run for it; null when never, in
/// which case the next occurrence after <see cref="UpdatedAt"/> is the first one due.
/// </summary>
public sealed record RetentionSettings(string? Preset, IReadOnlyList<RetentionRule> Rules, string Schedule, bool Enabled,
    DateTimeOffset UpdatedAt, DateTimeOffset? LastScheduledAt = null);

/// <summary>A project that has retention settings, as the scheduler sees it.</summary>
public sealed record ScheduledRetention(ProjectName Project, RetentionSettings Settings);

/// <summary>What started a run.</summary>
public enum RetentionTrigger
{
    Schedule,
    Manual,
}

/// <summary>A run's state: <see cref="Running"/> until it ends; <see cref="Failed"/> with an error when it stopped early.</summary>
public enum RetentionRunStatus
{
    Running,
    Succeeded,
    Failed,
}

/// <summary>What happened to one artifact a run selected for deletion.</summary>
public enum RetentionItemOutcome
{
    /// <summary>A dry run: it would have been deleted.</summary>
    WouldDelete,
    Deleted,

    /// <summary>The delete was refused (a tag made immutable during the run) or the manifest was already gone.</summary>
    Skipped,
}

/// <summary>
/// One run: <see cref="ArtifactsDeleted"/> counts the artifacts deleted (a dry run: that would be), <see cref="BytesFreed"/>
/// the bytes that deletes (see docs: manifest bodies plus the blobs only they reference), <see cref="Skipped"/> the
/// artifacts whose delete was refused; <see cref="Actor"/> who started it (<c>retention</c> for the scheduler).
/// </summary>
public sealed record RetentionRun(long Id, ProjectName Project, RetentionTrigger Trigger, bool DryRun, string Actor, DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt, RetentionRunStatus Status, long ArtifactsDeleted, long Skipped, long BytesFreed, string? Error);

/// <summary>An artifact a run deleted, would delete, or skipped, with its tags (signature tags included), its manifest's size and why.</summary>
public sealed record RetentionRunItem(long Id, RepositoryName Repository, Digest Digest, IReadOnlyList<Tag> Tags, long Size, RetentionItemOutcome Outcome, string Reason);

/// <summary>A page of runs, newest first; <see cref="HasMore"/> tells whether older ones exist.</summary>
public sealed record RetentionRunPage(IReadOnlyList<RetentionRun> Runs, bool HasMore);

/// <summary>A page of a run's items, in the order they were recorded; <see cref="HasMore"/> tells whether more follow.</summary>
public sealed record RetentionRunItemPage(IReadOnlyList<RetentionRunItem> Items, bool HasMore);

/// <summary>The end of a run: its status, totals and error (null unless it failed).</summary>
public sealed record RetentionRunEnd(RetentionRunStatus Status, long ArtifactsDeleted, long Skipped, long BytesFreed, string? Error);

/// <summary>
/// A project's retention settings and its run history. Both live with the project: deleting the project deletes them
/// in the same transaction (a later project of the same name starts without a policy or history). The history is
/// capped: starting a run removes the project's oldest runs beyond <c>keepRuns</c>, with their items.
/// </summary>
public interface IRetentionStore
{
    /// <summary>The project's settings; null when it has none or does not exist.</summary>
    Task<RetentionSettings?> GetAsync(ProjectName project, CancellationToken cancellationToken);

    /// <summary>Creates or replaces the project's settings (<see cref="RetentionSettings.LastScheduledAt"/> is reset); false when the project does not exist.</summary>
    Task<bool> SetAsync(ProjectName project, RetentionSettings settings, CancellationToken cancellationToken);

    /// <summary>Removes the project's settings (the history stays); <see cref="DeleteResult.NotFound"/> when it had none.</summary>
    Task<DeleteResult> DeleteAsync(ProjectName project, CancellationToken cancellationToken);

    /// <summary>The projects with enabled settings after <paramref name="last"/> (by name), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<ScheduledRetention>> ListEnabledAsync(string? last, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Claims a due occurrence for the scheduler: sets <see cref="RetentionSettings.LastScheduledAt"/> to
    /// <paramref name="at"/> only if the stored settings are still those <paramref name="seen"/> (same
    /// <see cref="RetentionSettings.UpdatedAt"/> and <see cref="RetentionSettings.LastScheduledAt"/>), so of two schedulers
    /// that saw the same occurrence one claims it. False when another claimed it first, the policy changed or is gone.
    /// </summary>
    Task<bool> TryClaimScheduledAsync(ProjectName project, RetentionSettings seen, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Records a new run (status <see cref="RetentionRunStatus.Running"/>) and trims the project's history to its newest
    /// <paramref name="keepRuns"/> runs, the new one included; null when the project does not exist.
    /// </summary>
    Task<RetentionRun?> StartRunAsync(ProjectName project, RetentionTrigger trigger, bool dryRun, string actor, DateTimeOffset startedAt, int keepRuns, CancellationToken cancellationToken);

    /// <summary>Appends items to a run (ids ignored; given in order). Nothing happens when the run no longer exists (trimmed or its project deleted).</summary>
    Task AddItemsAsync(long runId, IReadOnlyList<RetentionRunItem> items, CancellationToken cancellationToken);

    /// <summary>Ends a run with its totals at <paramref name="finishedAt"/>; nothing happens when it no longer exists.</summary>
    Task FinishRunAsync(long runId, RetentionRunEnd end, DateTimeOffset finishedAt, CancellationToken cancellationToken);

    /// <summary>The project's runs with ids below <paramref name="before"/> (null: from the newest), newest first, at most <paramref name="limit"/>.</summary>
    Task<RetentionRunPage> ListRunsAsync(ProjectName project, long? before, int limit, CancellationToken cancellationToken);

    /// <summary>The project's run <paramref name="id"/>; null for an unknown id or one of another project.</summary>
    Task<RetentionRun?> GetRunAsync(ProjectName project, long id, CancellationToken cancellationToken);

    /// <summary>The items of the project's run after item <paramref name="after"/> (null: from the first), at most <paramref name="limit"/>; an empty page for an unknown run.</summary>
    Task<RetentionRunItemPage> ListItemsAsync(ProjectName project, long runId, long? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The bytes deleting <paramref name="manifests"/> from <paramref name="repository"/> gives back once garbage
    /// collection runs: the sizes of those manifests (that exist) plus the sizes of the distinct blobs they reference that
    /// no other manifest (of any repository, other than these) references. Read as the store is now, before the delete.
    /// </summary>
    Task<long> MeasureFreedAsync(RepositoryName repository, IReadOnlyList<Digest> manifests, CancellationToken cancellationToken);
}
