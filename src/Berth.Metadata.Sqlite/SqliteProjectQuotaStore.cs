using System.Text.Json;
using Berth.Core.Quotas;
using Microsoft.Data.Sqlite;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// <see cref="IProjectQuotaStore"/> on SQLite: <c>projects.quota_bytes</c> (migration 7) and the usage query. A project's
/// repositories are <c>name</c> and <c>name/…</c>: a range on the unique index of <c>repositories.name</c> ('0' is the
/// character after '/'); uploads name their repository as text, so the same range on <c>ix_uploads_repository</c>.
/// The registry store runs <see cref="Check"/> inside its manifest PUT transaction (one writer: puts are serialised).
/// </summary>
public sealed class SqliteProjectQuotaStore(SqliteDatabase db) : IProjectQuotaStore
{
    // The distinct (digest, size) pairs of the project's manifests and of the blobs they reference, summed; then the
    // acknowledged bytes of its uploads in progress. Measured on 10,000 manifests: see BENCHMARKS.md / the quota tests.
    private const string Repositories = "SELECT id FROM repositories WHERE name = $project OR (name > $low AND name < $high)";

    private const string UsageSql =
        "WITH repos AS (" + Repositories + "),\n" +
        """
        parts AS (
            SELECT m.digest AS digest, m.size AS size FROM repos r JOIN manifests m ON m.repository_id = r.id
            UNION
            SELECT mr.digest, b.size FROM repos r
            JOIN manifest_references mr ON mr.repository_id = r.id AND mr.is_manifest = 0
            JOIN blobs b ON b.digest = mr.digest)
        SELECT COALESCE((SELECT SUM(size) FROM parts), 0)
            + COALESCE((SELECT SUM(acknowledged) FROM uploads WHERE repository = $project OR (repository > $low AND repository < $high)), 0)
        """;

    // What a manifest adds: its body unless a manifest of that digest is in the project, plus each distinct blob it
    // references ($refs, a JSON array) that no manifest of the project references yet.
    private const string NeededSql =
        "WITH repos AS (" + Repositories + ")\n" +
        """
        SELECT (CASE WHEN EXISTS (SELECT 1 FROM repos r JOIN manifests m ON m.repository_id = r.id AND m.digest = $digest) THEN 0 ELSE $size END)
            + COALESCE((SELECT SUM(b.size) FROM (SELECT DISTINCT value AS digest FROM json_each($refs)) n
                JOIN blobs b ON b.digest = n.digest
                WHERE NOT EXISTS (SELECT 1 FROM manifest_references mr JOIN repos r ON r.id = mr.repository_id
                    WHERE mr.digest = n.digest AND mr.is_manifest = 0)), 0)
        """;

    private static (string, object?)[] Range(string project) => [("$project", project), ("$low", project + "/"), ("$high", project + "0")];

    /// <summary>The project's quota as the connection (and its transaction) sees it; null: none, or no such project.</summary>
    internal static long? Quota(SqliteDatabase.Connection c, string project) =>
        c.Command("SELECT quota_bytes FROM projects WHERE name = $project", ("$project", project)).ExecuteScalar() is long quota ? quota : null;

    internal static long Usage(SqliteDatabase.Connection c, string project) =>
        (long)c.Command(UsageSql, Range(project)).ExecuteScalar()!;

    /// <summary>
    /// Inside the caller's transaction: null when the manifest fits in <paramref name="quota"/> (or adds nothing), else
    /// the refusal. The usage query runs only when the push adds bytes.
    /// </summary>
    internal static QuotaExceeded? Check(SqliteDatabase.Connection c, string project, long quota, string digest, long size, IEnumerable<string> blobDigests)
    {
        var refs = JsonSerializer.Serialize(blobDigests.ToArray(), SqliteQuotaJson.Default.StringArray);
        (string, object?)[] args = [.. Range(project), ("$digest", digest), ("$size", size), ("$refs", refs)];
        var needed = (long)c.Command(NeededSql, args).ExecuteScalar()!;
        if (needed <= 0)
        {
            return null;
        }

        var used = Usage(c, project);
        return used + needed > quota ? new QuotaExceeded(used, quota, needed) : null;
    }

    public Task<ProjectUsage?> GetUsageAsync(string project, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        return Task.FromResult(db.Read(c =>
        {
            using var reader = c.Command("SELECT quota_bytes FROM projects WHERE name = $project", ("$project", project)).ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            var quota = reader.IsDBNull(0) ? (long?)null : reader.GetInt64(0);
            return new ProjectUsage(quota, Usage(c, project));
        }));
    }

    public Task<long?> GetQuotaAsync(string project, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        return Task.FromResult(db.Read(c => Quota(c, project)));
    }

    public Task<bool> ReferencesBlobAsync(string project, string digest, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        ArgumentException.ThrowIfNullOrEmpty(digest);
        return Task.FromResult(db.Read(c => c.Command(
            "SELECT 1 FROM manifest_references mr WHERE mr.digest = $digest AND mr.is_manifest = 0 AND mr.repository_id IN (" + Repositories + ") LIMIT 1",
            [.. Range(project), ("$digest", digest)]).ExecuteScalar() is not null));
    }

    public Task<QuotaSetResult> SetQuotaAsync(string project, long? bytes, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        if (bytes is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "a quota is not negative");
        }

        return db.WriteAsync((c, _) =>
        {
            var updated = c.Command("UPDATE projects SET quota_bytes = $bytes WHERE name = $project", ("$project", project), ("$bytes", bytes)).ExecuteNonQuery();
            return (updated > 0 ? QuotaSetResult.Set : QuotaSetResult.ProjectNotFound, updated > 0);
        }, cancellationToken);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class SqliteQuotaJson : System.Text.Json.Serialization.JsonSerializerContext;
