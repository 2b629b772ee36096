using System.Text.Json;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Scanning;
using Berth.Oci;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// <see cref="IScanResultStore"/> on SQLite: <c>scan_results</c> (migration 10), one row per manifest digest, which is
/// also the queue (status queued or scanning, by <c>queued_at</c>). Claims are one conditional UPDATE on the one writer.
/// </summary>
public sealed class SqliteScanResultStore(SqliteDatabase db) : IScanResultStore
{
    private const string Columns =
        "SELECT digest, status, error, db_version, scanned_at, inventory, findings, count_unknown, count_low, count_medium, count_high, count_critical, worst_ids, updated_at, queued_at, claimed_at, claimed_by FROM scan_results ";

    private static ScanResult Read(SqliteDataReader r) =>
        new(Digest.Parse(r.GetString(0)), ScanWords.Status(r.GetString(1)), Text(r, 2), r.IsDBNull(3) ? null : r.GetInt64(3), Time(r, 4), Text(r, 5), Text(r, 6),
            new SeverityCounts(r.GetInt32(7), r.GetInt32(8), r.GetInt32(9), r.GetInt32(10), r.GetInt32(11)), Text(r, 12), Time(r.GetInt64(13)))
        {
            QueuedAt = Time(r, 14),
            ClaimedAt = Time(r, 15),
            ClaimedBy = Text(r, 16),
        };

    public Task<ScanResult?> GetAsync(Digest digest, CancellationToken cancellationToken) =>
        Task.FromResult(db.Read(c => Single(c.Command(Columns + "WHERE digest = $digest", ("$digest", digest.ToString())), Read)));

    public Task<IReadOnlyList<ScanResult>> GetManyAsync(IReadOnlyCollection<Digest> digests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(digests);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(digests.Count, ScanLimits.MaxDigestsPerQuery, nameof(digests));
        if (digests.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<ScanResult>>([]);
        }

        var json = JsonSerializer.Serialize(digests.Select(d => d.ToString()).Distinct(StringComparer.Ordinal).ToArray(), SqliteQuotaJson.Default.StringArray);
        return Task.FromResult<IReadOnlyList<ScanResult>>(db.Read(c => List(c.Command(Columns + "WHERE digest IN (SELECT value FROM json_each($digests))", ("$digests", json)), Read)));
    }

    public Task UpsertAsync(ScanResult result, CancellationToken cancellationToken)
    {
        ScanResultChecks.Require(result);
        return db.WriteAsync((c, _) =>
        {
            c.Command(
                """
                INSERT INTO scan_results (digest, status, error, db_version, scanned_at, inventory, findings, count_unknown, count_low, count_medium, count_high,
                    count_critical, worst_ids, updated_at, queued_at, claimed_at, claimed_by)
                VALUES ($digest, $status, $error, $version, $scanned, $inventory, $findings, $unknown, $low, $medium, $high, $critical, $worst, $updated, $queued, $claimedAt, $claimedBy)
                ON CONFLICT (digest) DO UPDATE SET status = excluded.status, error = excluded.error, db_version = excluded.db_version, scanned_at = excluded.scanned_at,
                    inventory = excluded.inventory, findings = excluded.findings, count_unknown = excluded.count_unknown, count_low = excluded.count_low,
                    count_medium = excluded.count_medium, count_high = excluded.count_high, count_critical = excluded.count_critical, worst_ids = excluded.worst_ids,
                    updated_at = excluded.updated_at, queued_at = COALESCE(excluded.queued_at, scan_results.queued_at),
                    claimed_at = excluded.claimed_at, claimed_by = excluded.claimed_by
                """,
                ("$digest", result.Digest.ToString()), ("$status", ScanWords.Of(result.Status)), ("$error", result.Error), ("$version", result.DatabaseVersion),
                ("$scanned", result.ScannedAt?.ToUnixTimeMilliseconds()), ("$inventory", result.Inventory), ("$findings", result.Findings),
                ("$unknown", result.Counts.Unknown), ("$low", result.Counts.Low), ("$medium", result.Counts.Medium), ("$high", result.Counts.High),
                ("$critical", result.Counts.Critical), ("$worst", result.WorstIds), ("$updated", result.UpdatedAt.ToUnixTimeMilliseconds()),
                ("$queued", result.QueuedAt?.ToUnixTimeMilliseconds()),
                ("$claimedAt", result.Status == ScanStatus.Scanning ? result.ClaimedAt?.ToUnixTimeMilliseconds() : null),
                ("$claimedBy", result.Status == ScanStatus.Scanning ? result.ClaimedBy : null)).ExecuteNonQuery();
            return (0, true);
        }, cancellationToken);
    }

    public Task<DeleteResult> DeleteAsync(Digest digest, CancellationToken cancellationToken) =>
        db.WriteAsync((c, _) =>
        {
            var n = c.Command("DELETE FROM scan_results WHERE digest = $digest", ("$digest", digest.ToString())).ExecuteNonQuery();
            return (n > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, n > 0);
        }, cancellationToken);

    public Task<Page<StoredInventory>> ListInventoriesAsync(Digest? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return Task.FromResult(db.Read(c => Page(c.Command(
            "SELECT digest, inventory, db_version FROM scan_results WHERE digest > $after AND inventory IS NOT NULL AND status <> 'failed' ORDER BY digest LIMIT $limit",
            ("$after", after?.ToString() ?? string.Empty), ("$limit", limit + 1)), limit,
            r => new StoredInventory(Digest.Parse(r.GetString(0)), r.GetString(1), r.IsDBNull(2) ? null : r.GetInt64(2)))));
    }

    public Task<ScanEnqueueResult> EnqueueAsync(Digest digest, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        var staleBefore = (now - lease).ToUnixTimeMilliseconds();
        return db.WriteAsync((c, _) =>
        {
            var n = c.Command(
                """
                INSERT INTO scan_results (digest, status, updated_at, queued_at) VALUES ($digest, 'queued', $at, $at)
                ON CONFLICT (digest) DO UPDATE SET status = 'queued', queued_at = excluded.queued_at, updated_at = excluded.updated_at, claimed_at = NULL, claimed_by = NULL
                WHERE scan_results.status NOT IN ('queued', 'scanning') OR (scan_results.status = 'scanning' AND scan_results.claimed_at <= $stale)
                """, ("$digest", digest.ToString()), ("$at", at), ("$stale", staleBefore)).ExecuteNonQuery();
            return (n > 0 ? ScanEnqueueResult.Queued : ScanEnqueueResult.AlreadyQueued, n > 0);
        }, cancellationToken);
    }

    private const string Claimable = "(status = 'queued' OR (status = 'scanning' AND claimed_at <= $stale))";

    public Task<IReadOnlyList<QueuedScan>> ListQueueAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return Task.FromResult<IReadOnlyList<QueuedScan>>(db.Read(c => List(c.Command(
            "SELECT digest, status, queued_at, claimed_by, claimed_at FROM scan_results WHERE status IN ('queued', 'scanning') AND " + Claimable +
            " ORDER BY queued_at, digest LIMIT $limit",
            ("$stale", (now - lease).ToUnixTimeMilliseconds()), ("$limit", limit)),
            r => new QueuedScan(Digest.Parse(r.GetString(0)), ScanWords.Status(r.GetString(1)), Time(r.GetInt64(2)), Text(r, 3), Time(r, 4)))));
    }

    public Task<bool> TryClaimAsync(Digest digest, string node, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        return db.WriteAsync((c, _) =>
        {
            var n = c.Command(
                "UPDATE scan_results SET status = 'scanning', claimed_at = $at, claimed_by = $node, updated_at = $at WHERE digest = $digest AND " + Claimable,
                ("$at", now.ToUnixTimeMilliseconds()), ("$node", node), ("$digest", digest.ToString()), ("$stale", (now - lease).ToUnixTimeMilliseconds())).ExecuteNonQuery();
            return (n > 0, n > 0);
        }, cancellationToken);
    }

    public Task<Digest?> ClaimNextAsync(string node, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        return db.WriteAsync((c, _) =>
        {
            var claimed = Single(c.Command(
                "UPDATE scan_results SET status = 'scanning', claimed_at = $at, claimed_by = $node, updated_at = $at WHERE digest = " +
                "(SELECT digest FROM scan_results WHERE status IN ('queued', 'scanning') AND " + Claimable + " ORDER BY queued_at, digest LIMIT 1) RETURNING digest",
                ("$at", now.ToUnixTimeMilliseconds()), ("$node", node), ("$stale", (now - lease).ToUnixTimeMilliseconds())), r => r.GetString(0));
            return (claimed is null ? (Digest?)null : Digest.Parse(claimed), claimed is not null);
        }, cancellationToken);
    }

    public Task<bool> RenewClaimAsync(Digest digest, string node, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        return db.WriteAsync((c, _) =>
        {
            var n = c.Command("UPDATE scan_results SET claimed_at = $at, updated_at = $at WHERE digest = $digest AND status = 'scanning' AND claimed_by = $node",
                ("$at", now.ToUnixTimeMilliseconds()), ("$digest", digest.ToString()), ("$node", node)).ExecuteNonQuery();
            return (n > 0, n > 0);
        }, cancellationToken);
    }

    public Task<bool> CompleteAsync(ScanResult result, string node, CancellationToken cancellationToken)
    {
        ScanResultChecks.Require(result);
        ArgumentException.ThrowIfNullOrEmpty(node);
        return db.WriteAsync((c, _) =>
        {
            var n = c.Command(
                """
                UPDATE scan_results SET status = $status, error = $error, db_version = $version, scanned_at = $scanned, inventory = $inventory, findings = $findings,
                    count_unknown = $unknown, count_low = $low, count_medium = $medium, count_high = $high, count_critical = $critical, worst_ids = $worst,
                    updated_at = $updated, claimed_at = NULL, claimed_by = NULL
                WHERE digest = $digest AND status = 'scanning' AND claimed_by = $node
                """,
                ("$digest", result.Digest.ToString()), ("$status", ScanWords.Of(result.Status)), ("$error", result.Error), ("$version", result.DatabaseVersion),
                ("$scanned", result.ScannedAt?.ToUnixTimeMilliseconds()), ("$inventory", result.Inventory), ("$findings", result.Findings),
                ("$unknown", result.Counts.Unknown), ("$low", result.Counts.Low), ("$medium", result.Counts.Medium), ("$high", result.Counts.High),
                ("$critical", result.Counts.Critical), ("$worst", result.WorstIds), ("$updated", result.UpdatedAt.ToUnixTimeMilliseconds()), ("$node", node)).ExecuteNonQuery();
            return (n > 0, n > 0);
        }, cancellationToken);
    }
}
