using Berth.Core.Metadata;
using Berth.Oci;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IRepositoryBrowser"/> on PostgreSQL, the same queries as <c>SqliteRepositoryBrowser</c>: each page is one
/// query, the page of names first (a keyset range on the unique index), then the sizes of that page only, as the distinct
/// (digest, size) pairs of a UNION summed per row. Names compare under COLLATE "C" (code points), as in SQLite.
/// </summary>
public sealed class PostgresRepositoryBrowser(PostgresDatabase db) : IRepositoryBrowser
{
    private const string RepositoriesSql =
        """
        WITH page AS (
            SELECT id, name FROM repositories
            WHERE (name = @project OR (name > @low AND name < @high)) AND name > @last
            ORDER BY name LIMIT @limit),
        parts AS (
            SELECT m.repository_id AS rid, m.digest AS digest, m.size AS size FROM page p JOIN manifests m ON m.repository_id = p.id
            UNION
            SELECT mr.repository_id, mr.digest, b.size FROM page p
            JOIN manifest_references mr ON mr.repository_id = p.id AND NOT mr.is_manifest
            JOIN blobs b ON b.digest = mr.digest),
        sizes AS (SELECT rid, SUM(size) AS size FROM parts GROUP BY rid)
        SELECT p.name,
            (SELECT COUNT(*) FROM tags t WHERE t.repository_id = p.id),
            (SELECT COUNT(*) FROM manifests m WHERE m.repository_id = p.id),
            COALESCE(s.size, 0)::bigint,
            (SELECT MAX(pushed_at) FROM manifests m WHERE m.repository_id = p.id),
            (SELECT MAX(last_pulled_at) FROM manifests m WHERE m.repository_id = p.id)
        FROM page p LEFT JOIN sizes s ON s.rid = p.id
        ORDER BY p.name
        """;

    private const string TagsSql =
        """
        WITH page AS (
            SELECT name, manifest_digest, updated_at, last_pulled_at FROM tags
            WHERE repository_id = @repo AND name > @last COLLATE "C" ORDER BY name LIMIT @limit),
        roots AS (SELECT DISTINCT manifest_digest AS root FROM page),
        parts AS (
            SELECT r.root AS root, m.digest AS digest, m.size AS size FROM roots r
            JOIN manifests m ON m.repository_id = @repo AND m.digest = r.root
            UNION
            SELECT r.root, mr.digest, COALESCE(cm.size, b.size, 0) FROM roots r
            JOIN manifest_references mr ON mr.repository_id = @repo AND mr.manifest_digest = r.root
            LEFT JOIN manifests cm ON mr.is_manifest AND cm.repository_id = @repo AND cm.digest = mr.digest
            LEFT JOIN blobs b ON NOT mr.is_manifest AND b.digest = mr.digest
            UNION
            SELECT r.root, gc.digest, COALESCE(b.size, 0) FROM roots r
            JOIN manifest_references mr ON mr.repository_id = @repo AND mr.manifest_digest = r.root AND mr.is_manifest
            JOIN manifest_references gc ON gc.repository_id = @repo AND gc.manifest_digest = mr.digest AND NOT gc.is_manifest
            LEFT JOIN blobs b ON b.digest = gc.digest),
        sizes AS (SELECT root, SUM(size) AS size FROM parts GROUP BY root)
        SELECT p.name, p.manifest_digest, m.media_type, COALESCE(s.size, 0)::bigint, p.updated_at, p.last_pulled_at
        FROM page p
        JOIN manifests m ON m.repository_id = @repo AND m.digest = p.manifest_digest
        LEFT JOIN sizes s ON s.root = p.manifest_digest
        ORDER BY p.name
        """;

    public Task<RepositorySummaryPage> ListRepositoriesAsync(string project, string? last, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        return db.ReadAsync(async (c, ct) =>
        {
            // '0' is the character after '/': "project/…" is the range (project/, project0), not a LIKE with wildcards.
            var rows = await ListAsync(c, RepositoriesSql, r => (Name: r.GetString(0), Tags: r.GetInt64(1), Manifests: r.GetInt64(2),
                Size: r.GetInt64(3), Pushed: Time(r, 4), Pulled: Time(r, 5)), ct,
                ("project", project), ("low", project + "/"), ("high", project + "0"), ("last", last ?? string.Empty), ("limit", limit + 1L));
            var list = new List<RepositorySummary>();
            foreach (var row in rows)
            {
                if (RepositoryName.TryParse(row.Name, out var name))
                {
                    list.Add(new RepositorySummary(name, row.Tags, row.Manifests, row.Size, row.Pushed, row.Pulled));
                }
            }

            var more = rows.Count > limit;
            if (more && list.Count > limit)
            {
                list.RemoveAt(list.Count - 1);
            }

            return new RepositorySummaryPage(list, more);
        }, cancellationToken);
    }

    public Task<TagDetailPage?> ListTagDetailsAsync(RepositoryName repository, string? last, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync<TagDetailPage?>(async (c, ct) =>
        {
            if (await ScalarAsync<long>(c, "SELECT id FROM repositories WHERE name = @name", ct, ("name", repository.Value)) is not { } id)
            {
                return null;
            }

            var list = await ListAsync(c, TagsSql, r => new TagDetail(Tag.Parse(r.GetString(0)), Digest.Parse(r.GetString(1)), r.GetString(2),
                r.GetInt64(3), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)), Time(r, 5)), ct,
                ("repo", id), ("last", last ?? string.Empty), ("limit", limit + 1L));
            var more = list.Count > limit;
            if (more)
            {
                list.RemoveAt(list.Count - 1);
            }

            return new TagDetailPage(list, more);
        }, cancellationToken);

    public Task<ArtifactPage?> ListArtifactsAsync(RepositoryName repository, Digest? last, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync<ArtifactPage?>(async (c, ct) =>
        {
            if (await ScalarAsync<long>(c, "SELECT id FROM repositories WHERE name = @name", ct, ("name", repository.Value)) is not { } id)
            {
                return null;
            }

            // The page of manifests, then the tags and children of that digest range (two range reads, not one per row).
            var rows = await ListAsync(c,
                "SELECT digest, media_type, size, pushed_at, last_pulled_at, subject FROM manifests WHERE repository_id = @repo AND digest > @last ORDER BY digest LIMIT @limit",
                r => (Digest: r.GetString(0), MediaType: r.GetString(1), Size: r.GetInt64(2), PushedAt: r.GetInt64(3), PulledAt: Time(r, 4), Subject: r.IsDBNull(5) ? null : r.GetString(5)),
                ct, ("repo", id), ("last", last?.ToString() ?? string.Empty), ("limit", limit + 1L));
            var more = rows.Count > limit;
            if (more)
            {
                rows.RemoveAt(rows.Count - 1);
            }

            if (rows.Count == 0)
            {
                return new ArtifactPage([], false);
            }

            (string, object?)[] range = [("repo", id), ("first", rows[0].Digest), ("end", rows[^1].Digest)];
            var tags = (await ListAsync(c, "SELECT manifest_digest, name FROM tags WHERE repository_id = @repo AND manifest_digest >= @first AND manifest_digest <= @end ORDER BY name",
                r => (Manifest: r.GetString(0), Tag: Tag.Parse(r.GetString(1))), ct, range)).ToLookup(t => t.Manifest, t => t.Tag, StringComparer.Ordinal);
            var children = (await ListAsync(c, "SELECT manifest_digest, digest FROM manifest_references WHERE repository_id = @repo AND is_manifest AND manifest_digest >= @first AND manifest_digest <= @end ORDER BY digest",
                r => (Manifest: r.GetString(0), Child: Digest.Parse(r.GetString(1))), ct, range)).ToLookup(t => t.Manifest, t => t.Child, StringComparer.Ordinal);
            return new ArtifactPage(rows.Select(r => new ArtifactRecord(Digest.Parse(r.Digest), r.MediaType, r.Size, DateTimeOffset.FromUnixTimeMilliseconds(r.PushedAt), r.PulledAt,
                r.Subject is null ? null : Digest.Parse(r.Subject), tags[r.Digest].ToList(), children[r.Digest].ToList())).ToList(), more);
        }, cancellationToken);

    public Task<RepositoryDeleteResult> DeleteRepositoryAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        db.WriteAsync(async (c, _, ct) =>
        {
            // As a project delete does (PostgresProjectStore): wait for the registry writes in flight and hold new ones back
            // until this commits, so pushes racing the delete cannot abort it on every retry; reads go on.
            await NonQueryAsync(c, LockRegistryTables, ct);
            if (await ScalarAsync<long>(c, "SELECT id FROM repositories WHERE name = @name", ct, ("name", repository.Value)) is not { } id)
            {
                return (new RepositoryDeleteResult(DeleteResult.NotFound), false);
            }

            // Registry content first (these tables reference repositories without cascades); blobs stay for collection.
            var tags = await NonQueryAsync(c, "DELETE FROM tags WHERE repository_id = @id", ct, ("id", id));
            await NonQueryAsync(c, "DELETE FROM manifest_references WHERE repository_id = @id", ct, ("id", id));
            var manifests = await NonQueryAsync(c, "DELETE FROM manifests WHERE repository_id = @id", ct, ("id", id));
            await NonQueryAsync(c, "DELETE FROM repository_blobs WHERE repository_id = @id", ct, ("id", id));
            await NonQueryAsync(c, "DELETE FROM repositories WHERE id = @id", ct, ("id", id));
            var uploads = await ListAsync(c, "DELETE FROM uploads WHERE repository = @name RETURNING id", r => r.GetString(0), ct, ("name", repository.Value));
            return (new RepositoryDeleteResult(DeleteResult.Deleted, manifests, tags, uploads), true);
        }, cancellationToken);

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));
}
