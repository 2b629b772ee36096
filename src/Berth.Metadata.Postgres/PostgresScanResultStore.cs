using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Scanning;
using Berth.Oci;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IScanResultStore"/> on PostgreSQL: <c>scan_results</c> (migration 7), as <c>SqliteScanResultStore</c>.
/// Every write is one statement at READ COMMITTED; a claim is a conditional UPDATE (the row lock makes the second
/// claimer re-check the condition and find it false), and the next claim skips rows another node is locking
/// (<c>FOR UPDATE SKIP LOCKED</c>), so nodes claiming at once take different digests.
/// </summary>
public sealed class PostgresScanResultStore(PostgresDatabase db) : IScanResultStore
{
    private const string Columns =
        "SELECT digest, status, error, db_version, scanned_at, inventory, findings, count_unknown, count_low, count_medium, count_high, count_critical, worst_ids, updated_at, queued_at, claimed_at, claimed_by FROM scan_results ";

    private static ScanResult Read(NpgsqlDataReader r) =>
        new(Digest.Parse(r.GetString(0)), ScanWords.Status(r.GetString(1)), Text(r, 2), r.IsDBNull(3) ? null : r.GetInt64(3), Time(r, 4), Text(r, 5), Text(r, 6),
            new SeverityCounts(r.GetInt32(7), r.GetInt32(8), r.GetInt32(9), r.GetInt32(10), r.GetInt32(11)), Text(r, 12), Time(r.GetInt64(13)))
        {
            QueuedAt = Time(r, 14),
            ClaimedAt = Time(r, 15),
            ClaimedBy = Text(r, 16),
        };

    public Task<ScanResult?> GetAsync(Digest digest, CancellationToken cancellationToken) =>
        db.ReadAsync((c, ct) => SingleAsync(c, Columns + "WHERE digest = @digest", Read, ct, ("digest", digest.ToString())), cancellationToken);

    public Task<IReadOnlyList<ScanResult>> GetManyAsync(IReadOnlyCollection<Digest> digests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(digests);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(digests.Count, ScanLimits.MaxDigestsPerQuery, nameof(digests));
        if (digests.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<ScanResult>>([]);
        }

        var array = digests.Select(d => d.ToString()).Distinct(StringComparer.Ordinal).ToArray();
        return db.ReadAsync<IReadOnlyList<ScanResult>>(async (c, ct) => await ListAsync(c, Columns + "WHERE digest = ANY(@digests)", Read, ct, ("digests", array)), cancellationToken);
    }

    public async Task UpsertAsync(ScanResult result, CancellationToken cancellationToken)
    {
        ScanResultChecks.Require(result);
        RequireStorable(result.Inventory, nameof(result));
        RequireStorable(result.Findings, nameof(result));
        RequireStorable(result.Error, nameof(result));
        RequireStorable(result.WorstIds, nameof(result));
        RequireStorable(result.ClaimedBy, nameof(result));
        await using var connection = await db.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO scan_results (digest, status, error, db_version, scanned_at, inventory, findings, count_unknown, count_low, count_medium, count_high,
                count_critical, worst_ids, updated_at, queued_at, claimed_at, claimed_by)
            VALUES (@digest, @status, @error, @version, @scanned, @inventory, @findings, @unknown, @low, @medium, @high, @critical, @worst, @updated, @queued, @claimedAt, @claimedBy)
            ON CONFLICT (digest) DO UPDATE SET status = excluded.status, error = excluded.error, db_version = excluded.db_version, scanned_at = excluded.scanned_at,
                inventory = excluded.inventory, findings = excluded.findings, count_unknown = excluded.count_unknown, count_low = excluded.count_low,
                count_medium = excluded.count_medium, count_high = excluded.count_high, count_critical = excluded.count_critical, worst_ids = excluded.worst_ids,
                updated_at = excluded.updated_at, queued_at = COALESCE(excluded.queued_at, scan_results.queued_at),
                claimed_at = excluded.claimed_at, claimed_by = excluded.claimed_by
            """, connection);
        var scanning = result.Status == ScanStatus.Scanning;
        command.Parameters.AddWithValue("digest", result.Digest.ToString());
        command.Parameters.AddWithValue("status", ScanWords.Of(result.Status));
        Add(command, "error", NpgsqlTypes.NpgsqlDbType.Text, result.Error);
        Add(command, "version", NpgsqlTypes.NpgsqlDbType.Bigint, result.DatabaseVersion);
        Add(command, "scanned", NpgsqlTypes.NpgsqlDbType.Bigint, result.ScannedAt?.ToUnixTimeMilliseconds());
        Add(command, "inventory", NpgsqlTypes.NpgsqlDbType.Text, result.Inventory);
        Add(command, "findings", NpgsqlTypes.NpgsqlDbType.Text, result.Findings);
        command.Parameters.AddWithValue("unknown", result.Counts.Unknown);
        command.Parameters.AddWithValue("low", result.Counts.Low);
        command.Parameters.AddWithValue("medium", result.Counts.Medium);
        command.Parameters.AddWithValue("high", result.Counts.High);
        command.Parameters.AddWithValue("critical", result.Counts.Critical);
        Add(command, "worst", NpgsqlTypes.NpgsqlDbType.Text, result.WorstIds);
        command.Parameters.AddWithValue("updated", result.UpdatedAt.ToUnixTimeMilliseconds());
        Add(command, "queued", NpgsqlTypes.NpgsqlDbType.Bigint, result.QueuedAt?.ToUnixTimeMilliseconds());
        Add(command, "claimedAt", NpgsqlTypes.NpgsqlDbType.Bigint, scanning ? result.ClaimedAt?.ToUnixTimeMilliseconds() : null);
        Add(command, "claimedBy", NpgsqlTypes.NpgsqlDbType.Text, scanning ? result.ClaimedBy : null);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add(NpgsqlCommand command, string name, NpgsqlTypes.NpgsqlDbType type, object? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });

    public async Task<DeleteResult> DeleteAsync(Digest digest, CancellationToken cancellationToken) =>
        await ExecuteAsync(db, "DELETE FROM scan_results WHERE digest = @digest", cancellationToken, ("digest", digest.ToString())) > 0
            ? DeleteResult.Deleted
            : DeleteResult.NotFound;

    public Task<Page<StoredInventory>> ListInventoriesAsync(Digest? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return db.ReadAsync((c, ct) => PageAsync(c,
            "SELECT digest, inventory, db_version FROM scan_results WHERE digest > @after AND inventory IS NOT NULL AND status <> 'failed' ORDER BY digest LIMIT @limit",
            limit, r => new StoredInventory(Digest.Parse(r.GetString(0)), r.GetString(1), r.IsDBNull(2) ? null : r.GetInt64(2)), ct,
            ("after", after?.ToString() ?? string.Empty), ("limit", limit + 1)), cancellationToken);
    }

    public async Task<ScanEnqueueResult> EnqueueAsync(Digest digest, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        var n = await ExecuteAsync(db,
            """
            INSERT INTO scan_results (digest, status, updated_at, queued_at) VALUES (@digest, 'queued', @at, @at)
            ON CONFLICT (digest) DO UPDATE SET status = 'queued', queued_at = excluded.queued_at, updated_at = excluded.updated_at, claimed_at = NULL, claimed_by = NULL
            WHERE scan_results.status NOT IN ('queued', 'scanning') OR (scan_results.status = 'scanning' AND scan_results.claimed_at <= @stale)
            """, cancellationToken, ("digest", digest.ToString()), ("at", now.ToUnixTimeMilliseconds()), ("stale", (now - lease).ToUnixTimeMilliseconds()));
        return n > 0 ? ScanEnqueueResult.Queued : ScanEnqueueResult.AlreadyQueued;
    }

    private const string Claimable = "(status = 'queued' OR (status = 'scanning' AND claimed_at <= @stale))";

    public Task<IReadOnlyList<QueuedScan>> ListQueueAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return db.ReadAsync<IReadOnlyList<QueuedScan>>(async (c, ct) => await ListAsync(c,
            "SELECT digest, status, queued_at, claimed_by, claimed_at FROM scan_results WHERE status IN ('queued', 'scanning') AND " + Claimable +
            " ORDER BY queued_at, digest LIMIT @limit",
            r => new QueuedScan(Digest.Parse(r.GetString(0)), ScanWords.Status(r.GetString(1)), Time(r.GetInt64(2)), Text(r, 3), Time(r, 4)), ct,
            ("stale", (now - lease).ToUnixTimeMilliseconds()), ("limit", limit)), cancellationToken);
    }

    public async Task<bool> TryClaimAsync(Digest digest, string node, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        RequireStorable(node, nameof(node));
        return await ExecuteAsync(db,
            "UPDATE scan_results SET status = 'scanning', claimed_at = @at, claimed_by = @node, updated_at = @at WHERE digest = @digest AND " + Claimable,
            cancellationToken, ("at", now.ToUnixTimeMilliseconds()), ("node", node), ("digest", digest.ToString()), ("stale", (now - lease).ToUnixTimeMilliseconds())) > 0;
    }

    public async Task<Digest?> ClaimNextAsync(string node, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        RequireStorable(node, nameof(node));
        await using var connection = await db.DataSource.OpenConnectionAsync(cancellationToken);
        var claimed = await SingleAsync(connection,
            "UPDATE scan_results SET status = 'scanning', claimed_at = @at, claimed_by = @node, updated_at = @at WHERE digest = " +
            "(SELECT digest FROM scan_results WHERE status IN ('queued', 'scanning') AND " + Claimable + " ORDER BY queued_at, digest LIMIT 1 FOR UPDATE SKIP LOCKED) AND " +
            Claimable + " RETURNING digest",
            r => r.GetString(0), cancellationToken, ("at", now.ToUnixTimeMilliseconds()), ("node", node), ("stale", (now - lease).ToUnixTimeMilliseconds()));
        return claimed is null ? null : Digest.Parse(claimed);
    }

    public async Task<bool> RenewClaimAsync(Digest digest, string node, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        RequireStorable(node, nameof(node));
        return await ExecuteAsync(db, "UPDATE scan_results SET claimed_at = @at, updated_at = @at WHERE digest = @digest AND status = 'scanning' AND claimed_by = @node",
            cancellationToken, ("at", now.ToUnixTimeMilliseconds()), ("digest", digest.ToString()), ("node", node)) > 0;
    }

    public async Task<bool> CompleteAsync(ScanResult result, string node, CancellationToken cancellationToken)
    {
        ScanResultChecks.Require(result);
        ArgumentException.ThrowIfNullOrEmpty(node);
        RequireStorable(node, nameof(node));
        RequireStorable(result.Inventory, nameof(result));
        RequireStorable(result.Findings, nameof(result));
        RequireStorable(result.Error, nameof(result));
        RequireStorable(result.WorstIds, nameof(result));
        await using var connection = await db.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            UPDATE scan_results SET status = @status, error = @error, db_version = @version, scanned_at = @scanned, inventory = @inventory, findings = @findings,
                count_unknown = @unknown, count_low = @low, count_medium = @medium, count_high = @high, count_critical = @critical, worst_ids = @worst,
                updated_at = @updated, claimed_at = NULL, claimed_by = NULL
            WHERE digest = @digest AND status = 'scanning' AND claimed_by = @node
            """, connection);
        command.Parameters.AddWithValue("digest", result.Digest.ToString());
        command.Parameters.AddWithValue("status", ScanWords.Of(result.Status));
        Add(command, "error", NpgsqlTypes.NpgsqlDbType.Text, result.Error);
        Add(command, "version", NpgsqlTypes.NpgsqlDbType.Bigint, result.DatabaseVersion);
        Add(command, "scanned", NpgsqlTypes.NpgsqlDbType.Bigint, result.ScannedAt?.ToUnixTimeMilliseconds());
        Add(command, "inventory", NpgsqlTypes.NpgsqlDbType.Text, result.Inventory);
        Add(command, "findings", NpgsqlTypes.NpgsqlDbType.Text, result.Findings);
        command.Parameters.AddWithValue("unknown", result.Counts.Unknown);
        command.Parameters.AddWithValue("low", result.Counts.Low);
        command.Parameters.AddWithValue("medium", result.Counts.Medium);
        command.Parameters.AddWithValue("high", result.Counts.High);
        command.Parameters.AddWithValue("critical", result.Counts.Critical);
        Add(command, "worst", NpgsqlTypes.NpgsqlDbType.Text, result.WorstIds);
        command.Parameters.AddWithValue("updated", result.UpdatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("node", node);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }
}
