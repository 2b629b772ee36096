using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Retention;
using Berth.Oci;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// <see cref="IRetentionStore"/> on SQLite: <c>retention_policies</c>, <c>retention_runs</c> and
/// <c>retention_run_items</c> (migration 7), deleted with their project by <c>ON DELETE CASCADE</c>.
/// </summary>
public sealed class SqliteRetentionStore(SqliteDatabase db) : IRetentionStore
{
    private const string PolicyColumns = "SELECT r.preset, r.rules, r.schedule, r.enabled, r.updated_at, r.last_scheduled_at";

    private const string RunColumns =
        "SELECT r.id, p.name, r.trigger, r.dry_run, r.actor, r.started_at, r.finished_at, r.status, r.artifacts_deleted, r.skipped, r.bytes_freed, r.error FROM retention_runs r JOIN projects p ON p.id = r.project_id ";

    private static RetentionSettings ReadPolicy(SqliteDataReader r) =>
        new(Text(r, 0), RetentionRulesText.Read(r.GetString(1)), r.GetString(2), r.GetInt64(3) == 1, Time(r.GetInt64(4)), Time(r, 5));

    private static RetentionRun ReadRun(SqliteDataReader r) =>
        new(r.GetInt64(0), ProjectName.Parse(r.GetString(1)), RetentionWords.Trigger(r.GetString(2)), r.GetInt64(3) == 1, r.GetString(4), Time(r.GetInt64(5)),
            Time(r, 6), RetentionWords.Status(r.GetString(7)), r.GetInt64(8), r.GetInt64(9), r.GetInt64(10), Text(r, 11));

    public Task<RetentionSettings?> GetAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return Task.FromResult(db.Read(c => Single(c.Command(
            PolicyColumns + " FROM retention_policies r JOIN projects p ON p.id = r.project_id WHERE p.name = $project", ("$project", name)), ReadPolicy)));
    }

    public Task<bool> SetAsync(ProjectName project, RetentionSettings settings, CancellationToken cancellationToken)
    {
        Require(project);
        ArgumentNullException.ThrowIfNull(settings);
        var rules = RetentionRulesText.Write(settings.Rules);
        return db.WriteAsync((c, _) =>
        {
            if (ProjectId(c, project) is not { } id)
            {
                return (false, false);
            }

            c.Command(
                """
                INSERT INTO retention_policies (project_id, preset, rules, schedule, enabled, updated_at, last_scheduled_at)
                VALUES ($id, $preset, $rules, $schedule, $enabled, $at, NULL)
                ON CONFLICT (project_id) DO UPDATE SET preset = excluded.preset, rules = excluded.rules, schedule = excluded.schedule,
                    enabled = excluded.enabled, updated_at = excluded.updated_at, last_scheduled_at = NULL
                """,
                ("$id", id), ("$preset", settings.Preset), ("$rules", rules), ("$schedule", settings.Schedule), ("$enabled", settings.Enabled ? 1 : 0),
                ("$at", settings.UpdatedAt.ToUnixTimeMilliseconds())).ExecuteNonQuery();
            return (true, true);
        }, cancellationToken);
    }

    public Task<DeleteResult> DeleteAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return db.WriteAsync((c, _) =>
        {
            var deleted = c.Command("DELETE FROM retention_policies WHERE project_id = (SELECT id FROM projects WHERE name = $project)", ("$project", name)).ExecuteNonQuery();
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, deleted > 0);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ScheduledRetention>> ListEnabledAsync(string? last, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ScheduledRetention>>(db.Read(c => List(c.Command(
            PolicyColumns + ", p.name FROM retention_policies r JOIN projects p ON p.id = r.project_id WHERE r.enabled = 1 AND p.name > $last ORDER BY p.name LIMIT $limit",
            ("$last", last ?? string.Empty), ("$limit", limit)), r => new ScheduledRetention(ProjectName.Parse(r.GetString(6)), ReadPolicy(r)))));

    public Task<bool> TryClaimScheduledAsync(ProjectName project, RetentionSettings seen, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var name = Require(project);
        ArgumentNullException.ThrowIfNull(seen);
        return db.WriteAsync((c, _) =>
        {
            var n = c.Command(
                """
                UPDATE retention_policies SET last_scheduled_at = $at
                WHERE project_id = (SELECT id FROM projects WHERE name = $project) AND updated_at = $updated AND last_scheduled_at IS $previous
                """,
                ("$at", at.ToUnixTimeMilliseconds()), ("$project", name), ("$updated", seen.UpdatedAt.ToUnixTimeMilliseconds()),
                ("$previous", seen.LastScheduledAt?.ToUnixTimeMilliseconds())).ExecuteNonQuery();
            return (n > 0, n > 0);
        }, cancellationToken);
    }

    public Task<RetentionRun?> StartRunAsync(ProjectName project, RetentionTrigger trigger, bool dryRun, string actor, DateTimeOffset startedAt, int keepRuns, CancellationToken cancellationToken)
    {
        Require(project);
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentOutOfRangeException.ThrowIfLessThan(keepRuns, 1);
        return db.WriteAsync((c, _) =>
        {
            if (ProjectId(c, project) is not { } projectId)
            {
                return ((RetentionRun?)null, false);
            }

            var at = startedAt.ToUnixTimeMilliseconds();
            var id = Scalar<long>(c.Command(
                """
                INSERT INTO retention_runs (project_id, trigger, dry_run, actor, started_at, status)
                VALUES ($project, $trigger, $dry, $actor, $at, 'running') RETURNING id
                """,
                ("$project", projectId), ("$trigger", RetentionWords.Of(trigger)), ("$dry", dryRun ? 1 : 0), ("$actor", actor), ("$at", at)))!.Value;
            c.Command(
                "DELETE FROM retention_runs WHERE project_id = $project AND id NOT IN (SELECT id FROM retention_runs WHERE project_id = $project ORDER BY id DESC LIMIT $keep)",
                ("$project", projectId), ("$keep", keepRuns)).ExecuteNonQuery();
            return ((RetentionRun?)new RetentionRun(id, project, trigger, dryRun, actor, Time(at), null, RetentionRunStatus.Running, 0, 0, 0, null), true);
        }, cancellationToken);
    }

    public Task AddItemsAsync(long runId, IReadOnlyList<RetentionRunItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return Task.CompletedTask;
        }

        return db.WriteAsync((c, _) =>
        {
            if (Scalar<long>(c.Command("SELECT id FROM retention_runs WHERE id = $id", ("$id", runId))) is null)
            {
                return (0, false);
            }

            foreach (var item in items)
            {
                c.Command(
                    """
                    INSERT INTO retention_run_items (run_id, repository, digest, tags, size, outcome, reason)
                    VALUES ($run, $repository, $digest, $tags, $size, $outcome, $reason)
                    """,
                    ("$run", runId), ("$repository", item.Repository.Value), ("$digest", item.Digest.ToString()), ("$tags", RetentionWords.JoinTags(item.Tags)),
                    ("$size", item.Size), ("$outcome", RetentionWords.Of(item.Outcome)), ("$reason", item.Reason)).ExecuteNonQuery();
            }

            return (items.Count, true);
        }, cancellationToken);
    }

    public Task FinishRunAsync(long runId, RetentionRunEnd end, DateTimeOffset finishedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(end);
        return db.WriteAsync((c, _) =>
        {
            var n = c.Command(
                """
                UPDATE retention_runs SET status = $status, artifacts_deleted = $deleted, skipped = $skipped, bytes_freed = $bytes, error = $error, finished_at = $at
                WHERE id = $id
                """,
                ("$status", RetentionWords.Of(end.Status)), ("$deleted", end.ArtifactsDeleted), ("$skipped", end.Skipped), ("$bytes", end.BytesFreed),
                ("$error", end.Error), ("$at", finishedAt.ToUnixTimeMilliseconds()), ("$id", runId)).ExecuteNonQuery();
            return (n, n > 0);
        }, cancellationToken);
    }

    public Task<RetentionRunPage> ListRunsAsync(ProjectName project, long? before, int limit, CancellationToken cancellationToken)
    {
        var name = Require(project);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return Task.FromResult(db.Read(c =>
        {
            var page = Page(c.Command(RunColumns + "WHERE p.name = $project AND r.id < $before ORDER BY r.id DESC LIMIT $limit",
                ("$project", name), ("$before", before ?? long.MaxValue), ("$limit", limit + 1)), limit, ReadRun);
            return new RetentionRunPage(page.Items, page.HasMore);
        }));
    }

    public Task<RetentionRun?> GetRunAsync(ProjectName project, long id, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return Task.FromResult(db.Read(c => Single(c.Command(RunColumns + "WHERE p.name = $project AND r.id = $id", ("$project", name), ("$id", id)), ReadRun)));
    }

    public Task<RetentionRunItemPage> ListItemsAsync(ProjectName project, long runId, long? after, int limit, CancellationToken cancellationToken)
    {
        var name = Require(project);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return Task.FromResult(db.Read(c =>
        {
            var page = Page(c.Command(
                """
                SELECT i.id, i.repository, i.digest, i.tags, i.size, i.outcome, i.reason FROM retention_run_items i
                JOIN retention_runs r ON r.id = i.run_id JOIN projects p ON p.id = r.project_id
                WHERE r.id = $run AND p.name = $project AND i.id > $after ORDER BY i.id LIMIT $limit
                """,
                ("$run", runId), ("$project", name), ("$after", after ?? 0), ("$limit", limit + 1)), limit,
                r => new RetentionRunItem(r.GetInt64(0), RepositoryName.Parse(r.GetString(1)), Digest.Parse(r.GetString(2)), RetentionWords.SplitTags(r.GetString(3)),
                    r.GetInt64(4), RetentionWords.Outcome(r.GetString(5)), r.GetString(6)));
            return new RetentionRunItemPage(page.Items, page.HasMore);
        }));
    }

    public Task<long> MeasureFreedAsync(RepositoryName repository, IReadOnlyList<Digest> manifests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        if (manifests.Count == 0)
        {
            return Task.FromResult(0L);
        }

        return Task.FromResult(db.Read(c =>
        {
            // The set as a JSON array, so one statement takes any number of digests.
            var set = RetentionWords.JsonArray(manifests);
            (string, object?)[] args = [("$repo", repository.Value), ("$set", set)];
            var bodies = Scalar<long>(c.Command(
                """
                SELECT COALESCE(SUM(m.size), 0) FROM manifests m JOIN repositories r ON r.id = m.repository_id
                WHERE r.name = $repo AND m.digest IN (SELECT value FROM json_each($set))
                """, args)) ?? 0;
            var blobs = Scalar<long>(c.Command(
                """
                WITH repo AS (SELECT id FROM repositories WHERE name = $repo),
                     gone AS (SELECT value AS digest FROM json_each($set)),
                     candidates AS (
                        SELECT DISTINCT mr.digest FROM manifest_references mr
                        WHERE mr.repository_id = (SELECT id FROM repo) AND mr.is_manifest = 0 AND mr.manifest_digest IN (SELECT digest FROM gone))
                SELECT COALESCE(SUM(b.size), 0) FROM candidates x JOIN blobs b ON b.digest = x.digest
                WHERE NOT EXISTS (
                    SELECT 1 FROM manifest_references o WHERE o.digest = x.digest
                    AND NOT (o.repository_id = (SELECT id FROM repo) AND o.manifest_digest IN (SELECT digest FROM gone)))
                """, args)) ?? 0;
            return bodies + blobs;
        }));
    }
}
