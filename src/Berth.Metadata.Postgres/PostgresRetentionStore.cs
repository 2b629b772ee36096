using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Retention;
using Berth.Oci;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IRetentionStore"/> on PostgreSQL: the tables of migration 4, as <c>SqliteRetentionStore</c>. Starting a
/// run inserts it and trims the history in one SERIALIZABLE transaction (retried).
/// </summary>
public sealed class PostgresRetentionStore(PostgresDatabase db) : IRetentionStore
{
    private const string PolicyColumns = "SELECT r.preset, r.rules, r.schedule, r.enabled, r.updated_at, r.last_scheduled_at";

    private const string RunColumns =
        "SELECT r.id, p.name, r.trigger, r.dry_run, r.actor, r.started_at, r.finished_at, r.status, r.artifacts_deleted, r.skipped, r.bytes_freed, r.error FROM retention_runs r JOIN projects p ON p.id = r.project_id ";

    private static RetentionSettings ReadPolicy(NpgsqlDataReader r) =>
        new(Text(r, 0), RetentionRulesText.Read(r.GetString(1)), r.GetString(2), r.GetBoolean(3), Time(r.GetInt64(4)), Time(r, 5));

    private static RetentionRun ReadRun(NpgsqlDataReader r) =>
        new(r.GetInt64(0), ProjectName.Parse(r.GetString(1)), RetentionWords.Trigger(r.GetString(2)), r.GetBoolean(3), r.GetString(4), Time(r.GetInt64(5)),
            Time(r, 6), RetentionWords.Status(r.GetString(7)), r.GetInt64(8), r.GetInt64(9), r.GetInt64(10), Text(r, 11));

    public Task<RetentionSettings?> GetAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return db.ReadAsync((c, ct) => SingleAsync(c,
            PolicyColumns + " FROM retention_policies r JOIN projects p ON p.id = r.project_id WHERE p.name = @project", ReadPolicy, ct, ("project", name)), cancellationToken);
    }

    public Task<bool> SetAsync(ProjectName project, RetentionSettings settings, CancellationToken cancellationToken)
    {
        Require(project);
        ArgumentNullException.ThrowIfNull(settings);
        var rules = RetentionRulesText.Write(settings.Rules);
        return db.WriteAsync(async (c, _, ct) =>
        {
            if (await ProjectIdAsync(c, project, ct) is not { } id)
            {
                return (false, false);
            }

            await using var command = new NpgsqlCommand(
                """
                INSERT INTO retention_policies (project_id, preset, rules, schedule, enabled, updated_at, last_scheduled_at)
                VALUES (@id, @preset, @rules, @schedule, @enabled, @at, NULL)
                ON CONFLICT (project_id) DO UPDATE SET preset = excluded.preset, rules = excluded.rules, schedule = excluded.schedule,
                    enabled = excluded.enabled, updated_at = excluded.updated_at, last_scheduled_at = NULL
                """, c);
            command.Parameters.AddWithValue("id", id);
            command.Parameters.Add(new NpgsqlParameter("preset", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)settings.Preset ?? DBNull.Value });
            command.Parameters.AddWithValue("rules", rules);
            command.Parameters.AddWithValue("schedule", settings.Schedule);
            command.Parameters.AddWithValue("enabled", settings.Enabled);
            command.Parameters.AddWithValue("at", settings.UpdatedAt.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(ct);
            return (true, true);
        }, cancellationToken);
    }

    public async Task<DeleteResult> DeleteAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var name = Require(project);
        var deleted = await ExecuteAsync(db, "DELETE FROM retention_policies WHERE project_id = (SELECT id FROM projects WHERE name = @project)", cancellationToken, ("project", name));
        return deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound;
    }

    public Task<IReadOnlyList<ScheduledRetention>> ListEnabledAsync(string? last, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<ScheduledRetention>>(async (c, ct) => await ListAsync(c,
            PolicyColumns + ", p.name FROM retention_policies r JOIN projects p ON p.id = r.project_id WHERE r.enabled AND p.name > @last ORDER BY p.name LIMIT @limit",
            r => new ScheduledRetention(ProjectName.Parse(r.GetString(6)), ReadPolicy(r)), ct, ("last", last ?? string.Empty), ("limit", limit)), cancellationToken);

    public async Task<bool> TryClaimScheduledAsync(ProjectName project, RetentionSettings seen, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var name = Require(project);
        ArgumentNullException.ThrowIfNull(seen);
        await using var connection = await db.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            UPDATE retention_policies SET last_scheduled_at = @at
            WHERE project_id = (SELECT id FROM projects WHERE name = @project) AND updated_at = @updated AND last_scheduled_at IS NOT DISTINCT FROM @previous
            """, connection);
        command.Parameters.AddWithValue("at", at.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("project", name);
        command.Parameters.AddWithValue("updated", seen.UpdatedAt.ToUnixTimeMilliseconds());
        command.Parameters.Add(new NpgsqlParameter("previous", NpgsqlTypes.NpgsqlDbType.Bigint) { Value = (object?)seen.LastScheduledAt?.ToUnixTimeMilliseconds() ?? DBNull.Value });
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public Task<RetentionRun?> StartRunAsync(ProjectName project, RetentionTrigger trigger, bool dryRun, string actor, DateTimeOffset startedAt, int keepRuns, CancellationToken cancellationToken)
    {
        Require(project);
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentOutOfRangeException.ThrowIfLessThan(keepRuns, 1);
        return db.WriteAsync(async (c, _, ct) =>
        {
            if (await ProjectIdAsync(c, project, ct) is not { } projectId)
            {
                return ((RetentionRun?)null, false);
            }

            var at = startedAt.ToUnixTimeMilliseconds();
            var id = (await ScalarAsync<long>(c,
                """
                INSERT INTO retention_runs (project_id, trigger, dry_run, actor, started_at, status)
                VALUES (@project, @trigger, @dry, @actor, @at, 'running') RETURNING id
                """,
                ct, ("project", projectId), ("trigger", RetentionWords.Of(trigger)), ("dry", dryRun), ("actor", actor), ("at", at)))!.Value;
            await NonQueryAsync(c,
                "DELETE FROM retention_runs WHERE project_id = @project AND id NOT IN (SELECT id FROM retention_runs WHERE project_id = @project ORDER BY id DESC LIMIT @keep)",
                ct, ("project", projectId), ("keep", keepRuns));
            return ((RetentionRun?)new RetentionRun(id, project, trigger, dryRun, actor, Time(at), null, RetentionRunStatus.Running, 0, 0, 0, null), true);
        }, cancellationToken);
    }

    public async Task AddItemsAsync(long runId, IReadOnlyList<RetentionRunItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return;
        }

        // One statement over arrays: the rows go in together, or not at all when the run is gone.
        await ExecuteAsync(db,
            """
            INSERT INTO retention_run_items (run_id, repository, digest, tags, size, outcome, reason)
            SELECT r.id, x.repository, x.digest, x.tags, x.size, x.outcome, x.reason
            FROM retention_runs r, unnest(@repositories::text[], @digests::text[], @tags::text[], @sizes::bigint[], @outcomes::text[], @reasons::text[])
                WITH ORDINALITY AS x(repository, digest, tags, size, outcome, reason, n)
            WHERE r.id = @run ORDER BY x.n
            """,
            cancellationToken, ("run", runId),
            ("repositories", items.Select(i => i.Repository.Value).ToArray()), ("digests", items.Select(i => i.Digest.ToString()).ToArray()),
            ("tags", items.Select(i => RetentionWords.JoinTags(i.Tags)).ToArray()), ("sizes", items.Select(i => i.Size).ToArray()),
            ("outcomes", items.Select(i => RetentionWords.Of(i.Outcome)).ToArray()), ("reasons", items.Select(i => i.Reason).ToArray()));
    }

    public async Task FinishRunAsync(long runId, RetentionRunEnd end, DateTimeOffset finishedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(end);
        await using var connection = await db.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            UPDATE retention_runs SET status = @status, artifacts_deleted = @deleted, skipped = @skipped, bytes_freed = @bytes, error = @error, finished_at = @at
            WHERE id = @id
            """, connection);
        command.Parameters.AddWithValue("status", RetentionWords.Of(end.Status));
        command.Parameters.AddWithValue("deleted", end.ArtifactsDeleted);
        command.Parameters.AddWithValue("skipped", end.Skipped);
        command.Parameters.AddWithValue("bytes", end.BytesFreed);
        command.Parameters.Add(new NpgsqlParameter("error", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)end.Error ?? DBNull.Value });
        command.Parameters.AddWithValue("at", finishedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("id", runId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task<RetentionRunPage> ListRunsAsync(ProjectName project, long? before, int limit, CancellationToken cancellationToken)
    {
        var name = Require(project);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return db.ReadAsync(async (c, ct) =>
        {
            var page = await PageAsync(c, RunColumns + "WHERE p.name = @project AND r.id < @before ORDER BY r.id DESC LIMIT @limit", limit, ReadRun, ct,
                ("project", name), ("before", before ?? long.MaxValue), ("limit", limit + 1));
            return new RetentionRunPage(page.Items, page.HasMore);
        }, cancellationToken);
    }

    public Task<RetentionRun?> GetRunAsync(ProjectName project, long id, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return db.ReadAsync((c, ct) => SingleAsync(c, RunColumns + "WHERE p.name = @project AND r.id = @id", ReadRun, ct, ("project", name), ("id", id)), cancellationToken);
    }

    public Task<RetentionRunItemPage> ListItemsAsync(ProjectName project, long runId, long? after, int limit, CancellationToken cancellationToken)
    {
        var name = Require(project);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return db.ReadAsync(async (c, ct) =>
        {
            var page = await PageAsync(c,
                """
                SELECT i.id, i.repository, i.digest, i.tags, i.size, i.outcome, i.reason FROM retention_run_items i
                JOIN retention_runs r ON r.id = i.run_id JOIN projects p ON p.id = r.project_id
                WHERE r.id = @run AND p.name = @project AND i.id > @after ORDER BY i.id LIMIT @limit
                """, limit,
                r => new RetentionRunItem(r.GetInt64(0), RepositoryName.Parse(r.GetString(1)), Digest.Parse(r.GetString(2)), RetentionWords.SplitTags(r.GetString(3)),
                    r.GetInt64(4), RetentionWords.Outcome(r.GetString(5)), r.GetString(6)),
                ct, ("run", runId), ("project", name), ("after", after ?? 0L), ("limit", limit + 1));
            return new RetentionRunItemPage(page.Items, page.HasMore);
        }, cancellationToken);
    }

    public Task<long> MeasureFreedAsync(RepositoryName repository, IReadOnlyList<Digest> manifests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        if (manifests.Count == 0)
        {
            return Task.FromResult(0L);
        }

        var set = manifests.Select(d => d.ToString()).Distinct(StringComparer.Ordinal).ToArray();
        return db.ReadAsync(async (c, ct) => await ScalarAsync<long>(c,
            """
            WITH repo AS (SELECT id FROM repositories WHERE name = @repo),
                 bodies AS (SELECT COALESCE(SUM(m.size), 0) AS n FROM manifests m WHERE m.repository_id = (SELECT id FROM repo) AND m.digest = ANY(@set)),
                 candidates AS (
                    SELECT DISTINCT mr.digest FROM manifest_references mr
                    WHERE mr.repository_id = (SELECT id FROM repo) AND NOT mr.is_manifest AND mr.manifest_digest = ANY(@set)),
                 blobs_freed AS (
                    SELECT COALESCE(SUM(b.size), 0) AS n FROM candidates x JOIN blobs b ON b.digest = x.digest
                    WHERE NOT EXISTS (
                        SELECT 1 FROM manifest_references o WHERE o.digest = x.digest
                        AND NOT (o.repository_id = (SELECT id FROM repo) AND o.manifest_digest = ANY(@set))))
            SELECT (SELECT n FROM bodies) + (SELECT n FROM blobs_freed)
            """, ct, ("repo", repository.Value), ("set", set)) ?? 0, cancellationToken);
    }
}
