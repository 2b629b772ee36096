using Berth.Core.Quotas;
using Npgsql;
using NpgsqlTypes;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IProjectQuotaStore"/> on PostgreSQL, as SQLite's: <c>projects.quota_bytes</c> (migration 4) and one usage
/// query over the project's repositories (<c>name</c> and <c>name/…</c>, a range on the unique "C"-collated name index)
/// and its uploads (<c>ix_uploads_repository</c> on <c>repository COLLATE "C"</c>). The manifest PUT runs
/// <see cref="LockSql"/> and <see cref="CheckSql"/> in its own batch (no extra round trip): only a project with a quota
/// takes the lock and pays for the usage.
/// </summary>
public sealed class PostgresProjectQuotaStore(PostgresDatabase database) : IProjectQuotaStore
{
    // $1 the project, $2 "project/", $3 "project0" ('0' follows '/').
    private const string Repositories = "SELECT id FROM repositories WHERE name = $1 OR (name > $2 AND name < $3)";

    /// <summary>The project's usage as one scalar expression over $1–$3 (see <see cref="IProjectQuotaStore"/>).</summary>
    internal const string UsageExpression =
        "((WITH repos AS (" + Repositories + "),\n" +
        """
        parts AS (
            SELECT m.digest, m.size FROM repos r JOIN manifests m ON m.repository_id = r.id
            UNION
            SELECT mr.digest, b.size FROM repos r
            JOIN manifest_references mr ON mr.repository_id = r.id AND NOT mr.is_manifest
            JOIN blobs b ON b.digest = mr.digest)
        SELECT COALESCE(SUM(size), 0) FROM parts)
        + (SELECT COALESCE(SUM(acknowledged), 0) FROM uploads
            WHERE repository COLLATE "C" = $1 OR (repository COLLATE "C" > $2 AND repository COLLATE "C" < $3)))::bigint
        """;

    /// <summary>
    /// What a manifest adds, over $1–$3 and $4 its digest, $5 its size, $6 the blobs it references: its body unless the
    /// project holds that manifest, plus each distinct blob no manifest of the project references yet.
    /// </summary>
    private const string NeededExpression =
        "((CASE WHEN EXISTS (SELECT 1 FROM manifests m WHERE m.digest = $4 AND m.repository_id IN (" + Repositories + ")) THEN 0 ELSE $5 END)\n" +
        "+ COALESCE((SELECT SUM(b.size) FROM (SELECT DISTINCT unnest($6::text[]) AS digest) n JOIN blobs b ON b.digest = n.digest\n" +
        "    WHERE NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.digest = n.digest AND NOT mr.is_manifest AND mr.repository_id IN (" + Repositories + "))), 0))::bigint";

    /// <summary>
    /// Serialises manifest puts into a project that has a quota (a transaction advisory lock); a project without one takes
    /// no lock. Its own statement, before the checks: at READ COMMITTED each later statement then sees every put that held
    /// the lock before.
    /// </summary>
    internal const string LockSql = "SELECT pg_advisory_xact_lock(hashtextextended('quota:' || name, 7283)) FROM projects WHERE name = $1 AND quota_bytes IS NOT NULL";

    /// <summary>No row without a quota; else the quota, what the push needs, and the usage (computed only when it needs bytes).</summary>
    internal const string CheckSql =
        "SELECT q.quota_bytes, x.needed, CASE WHEN x.needed > 0 THEN " + UsageExpression + " ELSE 0 END\n" +
        "FROM (SELECT quota_bytes FROM projects WHERE name = $1 AND quota_bytes IS NOT NULL) q\n" +
        "CROSS JOIN LATERAL (SELECT " + NeededExpression + " AS needed) x";

    /// <summary>The parameters of <see cref="CheckSql"/> (the first three are those of <see cref="LockSql"/> and <see cref="UsageExpression"/>).</summary>
    internal static NpgsqlParameter[] CheckParameters(string project, string digest, long size, string[] blobDigests) =>
    [
        .. RangeParameters(project),
        new() { NpgsqlDbType = NpgsqlDbType.Text, Value = digest },
        new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = size },
        new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = blobDigests },
    ];

    internal static NpgsqlParameter[] RangeParameters(string project) =>
    [
        new() { NpgsqlDbType = NpgsqlDbType.Text, Value = project },
        new() { NpgsqlDbType = NpgsqlDbType.Text, Value = project + "/" },
        new() { NpgsqlDbType = NpgsqlDbType.Text, Value = project + "0" },
    ];

    public Task<ProjectUsage?> GetUsageAsync(string project, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        return database.ReadAsync(async (c, ct) =>
        {
            await using var command = new NpgsqlCommand("SELECT quota_bytes, " + UsageExpression + " FROM projects WHERE name = $1", c);
            command.Parameters.AddRange(RangeParameters(project));
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct)
                ? new ProjectUsage(reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.GetInt64(1))
                : null;
        }, cancellationToken);
    }

    public Task<long?> GetQuotaAsync(string project, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        return database.ReadAsync(async (c, ct) =>
        {
            await using var command = new NpgsqlCommand("SELECT quota_bytes FROM projects WHERE name = $1", c);
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = project });
            return await command.ExecuteScalarAsync(ct) is long quota ? (long?)quota : null;
        }, cancellationToken);
    }

    public Task<bool> ReferencesBlobAsync(string project, string digest, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        ArgumentException.ThrowIfNullOrEmpty(digest);
        return database.ReadAsync(async (c, ct) =>
        {
            await using var command = new NpgsqlCommand(
                "SELECT 1 FROM manifest_references mr WHERE mr.digest = $4 AND NOT mr.is_manifest AND mr.repository_id IN (" + Repositories + ") LIMIT 1", c);
            command.Parameters.AddRange(RangeParameters(project));
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = digest });
            return await command.ExecuteScalarAsync(ct) is not null;
        }, cancellationToken);
    }

    public Task<QuotaSetResult> SetQuotaAsync(string project, long? bytes, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        if (bytes is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "a quota is not negative");
        }

        return database.ReadAsync(async (c, ct) =>
        {
            // One statement (autocommit): the WHERE clause is the whole decision.
            await using var command = new NpgsqlCommand("UPDATE projects SET quota_bytes = $2 WHERE name = $1", c);
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = project });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = bytes is { } b ? b : DBNull.Value });
            return await command.ExecuteNonQueryAsync(ct) > 0 ? QuotaSetResult.Set : QuotaSetResult.ProjectNotFound;
        }, cancellationToken);
    }
}
