using Berth.Core.Metadata;
using Berth.Oci;
using Microsoft.Data.Sqlite;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// <see cref="IRepositoryBrowser"/> on SQLite. Each page is one query: the page of names first (a keyset range on the
/// unique index), then the sizes of that page only, as the distinct (digest, size) pairs of a UNION summed per row.
/// </summary>
public sealed class SqliteRepositoryBrowser(SqliteDatabase db) : IRepositoryBrowser
{
    // Shared with the PostgreSQL provider in spirit: the same CTEs, is_manifest being 0/1 here.
    private const string RepositoriesSql =
        """
        WITH page AS (
            SELECT id, name FROM repositories
            WHERE (name = $project OR (name > $low AND name < $high)) AND name > $last
            ORDER BY name LIMIT $limit),
        parts AS (
            SELECT m.repository_id AS rid, m.digest AS digest, m.size AS size FROM page p JOIN manifests m ON m.repository_id = p.id
            UNION
            SELECT mr.repository_id, mr.digest, b.size FROM page p
            JOIN manifest_references mr ON mr.repository_id = p.id AND mr.is_manifest = 0
            JOIN blobs b ON b.digest = mr.digest),
        sizes AS (SELECT rid, SUM(size) AS size FROM parts GROUP BY rid)
        SELECT p.name,
            (SELECT COUNT(*) FROM tags t WHERE t.repository_id = p.id),
            (SELECT COUNT(*) FROM manifests m WHERE m.repository_id = p.id),
            COALESCE(s.size, 0),
            (SELECT MAX(pushed_at) FROM manifests m WHERE m.repository_id = p.id),
            (SELECT MAX(last_pulled_at) FROM manifests m WHERE m.repository_id = p.id)
        FROM page p LEFT JOIN sizes s ON s.rid = p.id
        ORDER BY p.name
        """;

    private const string TagsSql =
        """
        WITH page AS (
            SELECT name, manifest_digest, updated_at, last_pulled_at FROM tags
            WHERE repository_id = $repo AND name > $last ORDER BY name LIMIT $limit),
        roots AS (SELECT DISTINCT manifest_digest AS root FROM page),
        parts AS (
            SELECT r.root AS root, m.digest AS digest, m.size AS size FROM roots r
            JOIN manifests m ON m.repository_id = $repo AND m.digest = r.root
            UNION
            SELECT r.root, mr.digest, COALESCE(cm.size, b.size, 0) FROM roots r
            JOIN manifest_references mr ON mr.repository_id = $repo AND mr.manifest_digest = r.root
            LEFT JOIN manifests cm ON mr.is_manifest = 1 AND cm.repository_id = $repo AND cm.digest = mr.digest
            LEFT JOIN blobs b ON mr.is_manifest = 0 AND b.digest = mr.digest
            UNION
            SELECT r.root, gc.digest, COALESCE(b.size, 0) FROM roots r
            JOIN manifest_references mr ON mr.repository_id = $repo AND mr.manifest_digest = r.root AND mr.is_manifest = 1
            JOIN manifest_references gc ON gc.repository_id = $repo AND gc.manifest_digest = mr.digest AND gc.is_manifest = 0
            LEFT JOIN blobs b ON b.digest = gc.digest),
        sizes AS (SELECT root, SUM(size) AS size FROM parts GROUP BY root)
        SELECT p.name, p.manifest_digest, m.media_type, COALESCE(s.size, 0), p.updated_at, p.last_pulled_at
        FROM page p
        JOIN manifests m ON m.repository_id = $repo AND m.digest = p.manifest_digest
        LEFT JOIN sizes s ON s.root = p.manifest_digest
        ORDER BY p.name
        """;

    public Task<RepositorySummaryPage> ListRepositoriesAsync(string project, string? last, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        return Task.FromResult(db.Read(c =>
        {
            // '0' is the character after '/': "project/…" is the range (project/, project0), not a LIKE with wildcards.
            using var reader = c.Command(RepositoriesSql,
                ("$project", project), ("$low", project + "/"), ("$high", project + "0"),
                ("$last", last ?? string.Empty), ("$limit", limit + 1)).ExecuteReader();
            var list = new List<RepositorySummary>();
            while (reader.Read())
            {
                if (!RepositoryName.TryParse(reader.GetString(0), out var name))
                {
                    continue;
                }

                list.Add(new RepositorySummary(name, reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                    Time(reader, 4), Time(reader, 5)));
            }

            return Trim(list, limit, (items, more) => new RepositorySummaryPage(items, more));
        }));
    }

    public Task<TagDetailPage?> ListTagDetailsAsync(RepositoryName repository, string? last, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(db.Read(c =>
        {
            if (c.Command("SELECT id FROM repositories WHERE name = $name", ("$name", repository.Value)).ExecuteScalar() is not long id)
            {
                return null;
            }

            using var reader = c.Command(TagsSql, ("$repo", id), ("$last", last ?? string.Empty), ("$limit", limit + 1)).ExecuteReader();
            var list = new List<TagDetail>();
            while (reader.Read())
            {
                list.Add(new TagDetail(Tag.Parse(reader.GetString(0)), Digest.Parse(reader.GetString(1)), reader.GetString(2),
                    reader.GetInt64(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)), Time(reader, 5)));
            }

            return (TagDetailPage?)Trim(list, limit, (items, more) => new TagDetailPage(items, more));
        }));

    public Task<ArtifactPage?> ListArtifactsAsync(RepositoryName repository, Digest? last, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(db.Read(c =>
        {
            if (c.Command("SELECT id FROM repositories WHERE name = $name", ("$name", repository.Value)).ExecuteScalar() is not long id)
            {
                return null;
            }

            // The page of manifests, then the tags and children of that digest range (two range reads, not one per row).
            var rows = new List<(string Digest, string MediaType, long Size, long PushedAt, DateTimeOffset? PulledAt, string? Subject)>();
            using (var reader = c.Command(
                "SELECT digest, media_type, size, pushed_at, last_pulled_at, subject FROM manifests WHERE repository_id = $repo AND digest > $last ORDER BY digest LIMIT $limit",
                ("$repo", id), ("$last", last?.ToString() ?? string.Empty), ("$limit", limit + 1)).ExecuteReader())
            {
                while (reader.Read())
                {
                    rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), Time(reader, 4), reader.IsDBNull(5) ? null : reader.GetString(5)));
                }
            }

            var more = rows.Count > limit;
            if (more)
            {
                rows.RemoveAt(rows.Count - 1);
            }

            if (rows.Count == 0)
            {
                return (ArtifactPage?)new ArtifactPage([], false);
            }

            (string, object?)[] range = [("$repo", id), ("$first", rows[0].Digest), ("$end", rows[^1].Digest)];
            var tags = new Dictionary<string, List<Tag>>(StringComparer.Ordinal);
            using (var reader = c.Command("SELECT manifest_digest, name FROM tags WHERE repository_id = $repo AND manifest_digest >= $first AND manifest_digest <= $end ORDER BY name", range).ExecuteReader())
            {
                while (reader.Read())
                {
                    Collect(tags, reader.GetString(0), Tag.Parse(reader.GetString(1)));
                }
            }

            var children = new Dictionary<string, List<Digest>>(StringComparer.Ordinal);
            using (var reader = c.Command("SELECT manifest_digest, digest FROM manifest_references WHERE repository_id = $repo AND is_manifest = 1 AND manifest_digest >= $first AND manifest_digest <= $end ORDER BY digest", range).ExecuteReader())
            {
                while (reader.Read())
                {
                    Collect(children, reader.GetString(0), Digest.Parse(reader.GetString(1)));
                }
            }

            return new ArtifactPage(rows.Select(r => new ArtifactRecord(Digest.Parse(r.Digest), r.MediaType, r.Size, DateTimeOffset.FromUnixTimeMilliseconds(r.PushedAt), r.PulledAt,
                r.Subject is null ? null : Digest.Parse(r.Subject), tags.GetValueOrDefault(r.Digest) ?? [], children.GetValueOrDefault(r.Digest) ?? [])).ToList(), more);
        }));

    private static void Collect<T>(Dictionary<string, List<T>> into, string key, T value)
    {
        if (!into.TryGetValue(key, out var list))
        {
            into[key] = list = [];
        }

        list.Add(value);
    }

    public Task<RepositoryDeleteResult> DeleteRepositoryAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        db.WriteAsync((c, _) =>
        {
            if (c.Command("SELECT id FROM repositories WHERE name = $name", ("$name", repository.Value)).ExecuteScalar() is not long id)
            {
                return (new RepositoryDeleteResult(DeleteResult.NotFound), false);
            }

            // Registry content first (these tables reference repositories without cascades); blobs stay for collection.
            (string, object?)[] args = [("$id", id)];
            var tags = c.Command("DELETE FROM tags WHERE repository_id = $id", args).ExecuteNonQuery();
            c.Command("DELETE FROM manifest_references WHERE repository_id = $id", args).ExecuteNonQuery();
            var manifests = c.Command("DELETE FROM manifests WHERE repository_id = $id", args).ExecuteNonQuery();
            c.Command("DELETE FROM repository_blobs WHERE repository_id = $id", args).ExecuteNonQuery();
            c.Command("DELETE FROM repositories WHERE id = $id", args).ExecuteNonQuery();
            var uploads = new List<string>();
            using (var reader = c.Command("DELETE FROM uploads WHERE repository = $name RETURNING id", ("$name", repository.Value)).ExecuteReader())
            {
                while (reader.Read())
                {
                    uploads.Add(reader.GetString(0));
                }
            }

            return (new RepositoryDeleteResult(DeleteResult.Deleted, manifests, tags, uploads), true);
        }, cancellationToken);

    private static DateTimeOffset? Time(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    private static TPage Trim<TItem, TPage>(List<TItem> items, int limit, Func<IReadOnlyList<TItem>, bool, TPage> page)
    {
        var more = items.Count > limit;
        if (more)
        {
            items.RemoveAt(items.Count - 1);
        }

        return page(items, more);
    }
}
