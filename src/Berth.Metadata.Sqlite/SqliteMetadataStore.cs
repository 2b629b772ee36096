using Berth.Core.Immutability;
using Berth.Core.Metadata;
using Berth.Oci;
using Microsoft.Data.Sqlite;

namespace Berth.Metadata.Sqlite;

/// <summary>The metadata contracts on SQLite. Times are stored as Unix milliseconds.</summary>
public sealed class SqliteMetadataStore : IRepositoryIndex, IBlobIndex, IManifestIndex, IUploadSessionStore, IBlobCollectionIndex
{
    private readonly SqliteDatabase _db;
    private readonly TimeProvider _clock;

    public SqliteMetadataStore(SqliteDatabase db, TimeProvider clock)
    {
        _db = db;
        _clock = clock;
    }

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    // ---------------------------------------------------------------- repositories

    public Task<bool> ExistsAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c => RepositoryId(c, repository) is not null));

    public Task<NamePage> ListAsync(string? last, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c => Page(c.Command(
            "SELECT name FROM repositories WHERE name > $last ORDER BY name LIMIT $limit",
            ("$last", last ?? string.Empty), ("$limit", limit + 1)), limit)));

    // ---------------------------------------------------------------- blobs

    public Task<long?> GetLinkedSizeAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c => Scalar<long>(c.Command(
            "SELECT rb.size FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE r.name = $repo AND rb.digest = $digest",
            ("$repo", repository.Value), ("$digest", digest.ToString())))));

    public Task<BlobLink?> GetLinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read<BlobLink?>(c =>
        {
            using var reader = c.Command(
                "SELECT rb.size, rb.linked_at FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE r.name = $repo AND rb.digest = $digest",
                ("$repo", repository.Value), ("$digest", digest.ToString())).ExecuteReader();
            return reader.Read() ? new BlobLink(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))) : null;
        }));

    public Task<bool> RefreshLinkAsync(RepositoryName repository, Digest digest, DateTimeOffset staleBefore, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var repositoryId = RepositoryId(c, repository);
            if (repositoryId is null)
            {
                return (false, false);
            }

            c.Command("UPDATE repository_blobs SET linked_at = $now WHERE repository_id = $repo AND digest = $digest AND linked_at < $stale",
                ("$now", Now), ("$repo", repositoryId), ("$digest", digest.ToString()), ("$stale", staleBefore.ToUnixTimeMilliseconds())).ExecuteNonQuery();
            var exists = Scalar<long>(c.Command("SELECT 1 FROM repository_blobs WHERE repository_id = $repo AND digest = $digest",
                ("$repo", repositoryId), ("$digest", digest.ToString()))) is not null;
            return (exists, true);
        }, cancellationToken);

    public Task<BlobLinkResult> LinkAsync(RepositoryName repository, Digest digest, long size, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var linked = Link(c, repository, digest, size);
            return (linked, linked is BlobLinkResult.Linked or BlobLinkResult.LinkedAfterCollection);
        }, cancellationToken);

    /// <summary>
    /// Links the blob (a link that exists gets the time now); nothing written when the repository is missing and cannot
    /// be created, or when garbage collection is deleting the digest (an unfinished marker). Every write is serialised
    /// by the one writer, so the marker read here and a collection's transaction cannot interleave.
    /// </summary>
    private BlobLinkResult Link(SqliteDatabase.Connection c, RepositoryName repository, Digest digest, long size)
    {
        var collecting = Scalar<long>(c.Command("SELECT finished_at IS NULL FROM blob_collections WHERE digest = $digest", ("$digest", digest.ToString())));
        if (collecting == 1)
        {
            return BlobLinkResult.BeingCollected;
        }

        if (EnsureRepository(c, repository) is not { } repositoryId)
        {
            return BlobLinkResult.ProjectNotFound;
        }

        var now = Now;
        c.Command("INSERT INTO blobs (digest, size, created_at) VALUES ($digest, $size, $now) ON CONFLICT DO NOTHING",
            ("$digest", digest.ToString()), ("$size", size), ("$now", now)).ExecuteNonQuery();
        c.Command(
            """
            INSERT INTO repository_blobs (repository_id, digest, size, linked_at) VALUES ($repo, $digest, $size, $now)
            ON CONFLICT (repository_id, digest) DO UPDATE SET linked_at = excluded.linked_at
            """,
            ("$repo", repositoryId), ("$digest", digest.ToString()), ("$size", size), ("$now", now)).ExecuteNonQuery();
        return collecting is null ? BlobLinkResult.Linked : BlobLinkResult.LinkedAfterCollection;
    }

    public Task<DeleteResult> UnlinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var deleted = c.Command(
                "DELETE FROM repository_blobs WHERE digest = $digest AND repository_id = (SELECT id FROM repositories WHERE name = $repo)",
                ("$repo", repository.Value), ("$digest", digest.ToString())).ExecuteNonQuery();
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, true);
        }, cancellationToken);

    // ---------------------------------------------------------------- manifests and tags

    public Task<ManifestPutResult> PutAsync(RepositoryName repository, ManifestRecord manifest, IReadOnlyList<ManifestReference> references, Tag? tag, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            if (EnsureRepository(c, repository) is not { } repositoryId)
            {
                return (new ManifestPutResult(ManifestPutStatus.ProjectNotFound), false);
            }

            foreach (var reference in references)
            {
                var size = Scalar<long>(c.Command(
                    reference.IsManifest
                        ? "SELECT size FROM manifests WHERE repository_id = $repo AND digest = $digest"
                        : "SELECT size FROM repository_blobs WHERE repository_id = $repo AND digest = $digest",
                    ("$repo", repositoryId), ("$digest", reference.Digest.ToString())));
                if (size is null)
                {
                    return (new ManifestPutResult(ManifestPutStatus.ReferenceUnknown, reference), false);
                }

                if (size.Value != reference.Size)
                {
                    return (new ManifestPutResult(ManifestPutStatus.ReferenceSizeMismatch, reference, size.Value), false);
                }
            }

            var digest = manifest.Digest.ToString();

            // The quota (one indexed read; the writer is single, so two puts cannot both pass the check).
            if (SqliteProjectQuotaStore.Quota(c, repository.Project) is { } quota
                && SqliteProjectQuotaStore.Check(c, repository.Project, quota, digest, manifest.Body.LongLength,
                    references.Where(r => !r.IsManifest).Select(r => r.Digest.ToString())) is { } exceeded)
            {
                return (new ManifestPutResult(ManifestPutStatus.QuotaExceeded) { Quota = exceeded }, false);
            }

            var now = manifest.PushedAt.ToUnixTimeMilliseconds();
            c.Command(
                """
                INSERT INTO manifests (repository_id, digest, media_type, size, body, artifact_type, subject, annotations, pushed_at)
                VALUES ($repo, $digest, $mediaType, $size, $body, $artifactType, $subject, $annotations, $now)
                ON CONFLICT (repository_id, digest) DO UPDATE SET pushed_at = excluded.pushed_at
                """,
                ("$repo", repositoryId), ("$digest", digest), ("$mediaType", manifest.MediaType), ("$size", manifest.Body.LongLength),
                ("$body", manifest.Body), ("$artifactType", manifest.ArtifactType), ("$subject", manifest.Subject?.ToString()),
                ("$annotations", manifest.AnnotationsJson), ("$now", now)).ExecuteNonQuery();
            foreach (var reference in references)
            {
                c.Command(
                    "INSERT INTO manifest_references (repository_id, manifest_digest, digest, is_manifest) VALUES ($repo, $manifest, $digest, $isManifest) ON CONFLICT DO NOTHING",
                    ("$repo", repositoryId), ("$manifest", digest), ("$digest", reference.Digest.ToString()), ("$isManifest", reference.IsManifest ? 1 : 0)).ExecuteNonQuery();
            }

            Digest? previous = null;
            if (tag is { } t)
            {
                var before = c.Command(
                    "SELECT manifest_digest FROM tags WHERE repository_id = $repo AND name = $name",
                    ("$repo", repositoryId), ("$name", t.Value)).ExecuteScalar();
                previous = before is string text ? Digest.Parse(text) : null;
                if (previous is { } target && target != manifest.Digest
                    && ImmutabilityPolicy.Check(SqliteImmutabilityRuleStore.Load(c, repository.Project), repository, t) is { } refusal)
                {
                    return (new ManifestPutResult(ManifestPutStatus.TagImmutable) { Refusal = refusal }, false);
                }

                c.Command(
                    """
                    INSERT INTO tags (repository_id, name, manifest_digest, updated_at) VALUES ($repo, $name, $digest, $now)
                    ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = excluded.manifest_digest, updated_at = excluded.updated_at
                    """,
                    ("$repo", repositoryId), ("$name", t.Value), ("$digest", digest), ("$now", now)).ExecuteNonQuery();
            }

            return (new ManifestPutResult(ManifestPutStatus.Stored) { PreviousTagTarget = previous }, true);
        }, cancellationToken);

    public Task<ManifestRecord?> GetAsync(RepositoryName repository, Reference reference, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c =>
        {
            var command = reference.Digest is { } digest
                ? c.Command(
                    "SELECT m.digest, m.media_type, m.body, m.artifact_type, m.subject, m.annotations, m.pushed_at FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = $repo AND m.digest = $digest",
                    ("$repo", repository.Value), ("$digest", digest.ToString()))
                : c.Command(
                    "SELECT m.digest, m.media_type, m.body, m.artifact_type, m.subject, m.annotations, m.pushed_at FROM tags t JOIN repositories r ON r.id = t.repository_id JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest WHERE r.name = $repo AND t.name = $tag",
                    ("$repo", repository.Value), ("$tag", reference.Tag!.Value.Value));
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            return new ManifestRecord(
                Digest.Parse(reader.GetString(0)),
                reader.GetString(1),
                (byte[])reader.GetValue(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : Digest.Parse(reader.GetString(4)),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)));
        }));

    public Task<RepositoryName?> FindRepositoryOfManifestAsync(Digest digest, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c =>
        {
            var name = c.Command(
                "SELECT r.name FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE m.digest = $digest ORDER BY m.repository_id LIMIT 1",
                ("$digest", digest.ToString())).ExecuteScalar() as string;
            return name is null ? (RepositoryName?)null : RepositoryName.Parse(name);
        }));

    public Task<IReadOnlyList<Digest>> ListParentManifestsAsync(RepositoryName repository, Digest digest, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return Task.FromResult(_db.Read<IReadOnlyList<Digest>>(c =>
        {
            var repositoryId = RepositoryId(c, repository);
            if (repositoryId is null)
            {
                return [];
            }

            var command = c.Command(
                "SELECT manifest_digest FROM manifest_references WHERE digest = $digest AND repository_id = $repo AND is_manifest = 1 ORDER BY manifest_digest LIMIT $limit",
                ("$digest", digest.ToString()), ("$repo", repositoryId.Value), ("$limit", limit));
            var list = new List<Digest>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                list.Add(Digest.Parse(reader.GetString(0)));
            }

            return list;
        }));
    }

    public Task<ManifestDeleteResult> DeleteManifestAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var repositoryId = RepositoryId(c, repository);
            if (repositoryId is null)
            {
                return (ManifestDeleteResult.NotFound, false);
            }

            var args = new (string, object?)[] { ("$repo", repositoryId.Value), ("$digest", digest.ToString()) };
            var tags = new List<string>();
            using (var reader = c.Command("SELECT name FROM tags WHERE repository_id = $repo AND manifest_digest = $digest ORDER BY name", args).ExecuteReader())
            {
                while (reader.Read())
                {
                    tags.Add(reader.GetString(0));
                }
            }

            if (tags.Count > 0 && FirstImmutable(c, repository, tags) is { } refusal)
            {
                return (new ManifestDeleteResult(ManifestDeleteStatus.Immutable, refusal), false);
            }

            var deleted = c.Command("DELETE FROM manifests WHERE repository_id = $repo AND digest = $digest", args).ExecuteNonQuery();
            if (deleted == 0)
            {
                return (ManifestDeleteResult.NotFound, false);
            }

            c.Command("DELETE FROM tags WHERE repository_id = $repo AND manifest_digest = $digest", args).ExecuteNonQuery();
            c.Command("DELETE FROM manifest_references WHERE repository_id = $repo AND manifest_digest = $digest", args).ExecuteNonQuery();
            return (ManifestDeleteResult.Deleted, true);
        }, cancellationToken);

    public Task<ManifestDeleteResult> DeleteTagAsync(RepositoryName repository, Tag tag, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var exists = c.Command(
                "SELECT 1 FROM tags WHERE name = $tag AND repository_id = (SELECT id FROM repositories WHERE name = $repo)",
                ("$repo", repository.Value), ("$tag", tag.Value)).ExecuteScalar() is not null;
            if (!exists)
            {
                return (ManifestDeleteResult.NotFound, false);
            }

            if (FirstImmutable(c, repository, [tag.Value]) is { } refusal)
            {
                return (new ManifestDeleteResult(ManifestDeleteStatus.Immutable, refusal), false);
            }

            c.Command(
                "DELETE FROM tags WHERE name = $tag AND repository_id = (SELECT id FROM repositories WHERE name = $repo)",
                ("$repo", repository.Value), ("$tag", tag.Value)).ExecuteNonQuery();
            return (ManifestDeleteResult.Deleted, true);
        }, cancellationToken);

    /// <summary>The refusal for the first of <paramref name="tags"/> the project's rules (read in this transaction) make immutable.</summary>
    private static ImmutableTagRefusal? FirstImmutable(SqliteDatabase.Connection c, RepositoryName repository, IEnumerable<string> tags)
    {
        var rules = SqliteImmutabilityRuleStore.Load(c, repository.Project);
        if (rules.Count == 0)
        {
            return null;
        }

        foreach (var name in tags)
        {
            if (Tag.TryParse(name, out var tag) && ImmutabilityPolicy.Check(rules, repository, tag) is { } refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    public Task<NamePage?> ListTagsAsync(RepositoryName repository, string? last, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c =>
        {
            var repositoryId = RepositoryId(c, repository);
            if (repositoryId is null)
            {
                return null;
            }

            return Page(c.Command(
                "SELECT name FROM tags WHERE repository_id = $repo AND name > $last ORDER BY name LIMIT $limit",
                ("$repo", repositoryId.Value), ("$last", last ?? string.Empty), ("$limit", limit + 1)), limit);
        }));

    public Task<IReadOnlyList<ReferrerRecord>> ListReferrersAsync(RepositoryName repository, Digest subject, string? artifactType, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read<IReadOnlyList<ReferrerRecord>>(c =>
        {
            var repositoryId = RepositoryId(c, repository);
            if (repositoryId is null)
            {
                return [];
            }

            var command = c.Command(
                """
                SELECT digest, media_type, size, artifact_type, annotations FROM manifests
                WHERE repository_id = $repo AND subject = $subject AND ($type IS NULL OR artifact_type = $type)
                ORDER BY digest
                """,
                ("$repo", repositoryId.Value), ("$subject", subject.ToString()), ("$type", artifactType));
            var list = new List<ReferrerRecord>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                list.Add(new ReferrerRecord(
                    Digest.Parse(reader.GetString(0)), reader.GetString(1), reader.GetInt64(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
            }

            return list;
        }));

    public Task RecordPullsAsync(IReadOnlyCollection<PullRecord> pulls, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            foreach (var pull in pulls)
            {
                var at = pull.At.ToUnixTimeMilliseconds();
                var repositoryId = RepositoryId(c, pull.Repository);
                if (repositoryId is null)
                {
                    continue;
                }

                var digest = pull.Manifest.ToString();
                c.Command("UPDATE manifests SET last_pulled_at = MAX(COALESCE(last_pulled_at, 0), $at) WHERE repository_id = $repo AND digest = $digest",
                    ("$repo", repositoryId.Value), ("$digest", digest), ("$at", at)).ExecuteNonQuery();

                // A pull by digest counts as a pull of every tag that points at it.
                c.Command(
                    "UPDATE tags SET last_pulled_at = MAX(COALESCE(last_pulled_at, 0), $at) WHERE repository_id = $repo AND manifest_digest = $digest AND ($tag IS NULL OR name = $tag)",
                    ("$repo", repositoryId.Value), ("$digest", digest), ("$tag", pull.Tag?.Value), ("$at", at)).ExecuteNonQuery();
            }

            return (true, true);
        }, cancellationToken);

    // ---------------------------------------------------------------- upload sessions

    public Task CreateAsync(UploadSession session, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            c.Command("INSERT INTO uploads (id, repository, started_at, updated_at, acknowledged, hash_state, store_state) VALUES ($id, $repo, $started, $updated, $offset, $hash, $store)",
                ("$id", session.Id), ("$repo", session.Repository.Value),
                ("$started", session.StartedAt.ToUnixTimeMilliseconds()), ("$updated", session.UpdatedAt.ToUnixTimeMilliseconds()),
                ("$offset", session.Offset), ("$hash", session.HashState), ("$store", session.StoreState)).ExecuteNonQuery();
            return (true, true);
        }, cancellationToken);

    public Task<UploadSession?> GetAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c =>
        {
            using var reader = c.Command("SELECT id, repository, started_at, updated_at, acknowledged, hash_state, store_state FROM uploads WHERE id = $id", ("$id", id)).ExecuteReader();
            return reader.Read() ? ReadSession(reader) : null;
        }));

    public Task TouchAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            c.Command("UPDATE uploads SET updated_at = $at WHERE id = $id", ("$id", id), ("$at", at.ToUnixTimeMilliseconds())).ExecuteNonQuery();
            return (true, true);
        }, cancellationToken);

    public Task<UploadAdvanceResult> AdvanceAsync(string id, long? expectedOffset, long newOffset, byte[]? hashState, string? storeState, DateTimeOffset at, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            // The compare-and-set is the WHERE clause: one statement, so no other writer (thread or node) can slip in
            // between the check and the update. IS compares NULL (a session from before schema 4) as a value.
            var updated = c.Command(
                "UPDATE uploads SET acknowledged = $new, hash_state = $hash, store_state = $store, updated_at = MAX(updated_at, $at) WHERE id = $id AND acknowledged IS $expected",
                ("$id", id), ("$expected", expectedOffset), ("$new", newOffset), ("$hash", hashState), ("$store", storeState), ("$at", at.ToUnixTimeMilliseconds())).ExecuteNonQuery();
            if (updated > 0)
            {
                return (UploadAdvanceResult.Advanced, true);
            }

            var exists = c.Command("SELECT 1 FROM uploads WHERE id = $id", ("$id", id)).ExecuteScalar() is not null;
            return (exists ? UploadAdvanceResult.OffsetMismatch : UploadAdvanceResult.SessionNotFound, false);
        }, cancellationToken);

    Task<DeleteResult> IUploadSessionStore.DeleteAsync(string id, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var deleted = c.Command("DELETE FROM uploads WHERE id = $id", ("$id", id)).ExecuteNonQuery();
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, true);
        }, cancellationToken);

    public Task<UploadCompleteResult> CompleteAsync(string id, RepositoryName repository, Digest digest, long size, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            // The session first: one that a cancel, the sweeper or the delete of its project ended links nothing.
            if (c.Command("DELETE FROM uploads WHERE id = $id", ("$id", id)).ExecuteNonQuery() == 0)
            {
                return (UploadCompleteResult.SessionNotFound, false);
            }

            // Without its repository and project the session still ends (it could never complete); so it does when
            // garbage collection refuses the digest (the client uploads it again, in a new session).
            return Link(c, repository, digest, size) switch
            {
                BlobLinkResult.Linked => (UploadCompleteResult.Completed, true),
                BlobLinkResult.LinkedAfterCollection => (UploadCompleteResult.CompletedAfterCollection, true),
                BlobLinkResult.BeingCollected => (UploadCompleteResult.BeingCollected, true),
                _ => (UploadCompleteResult.ProjectNotFound, true),
            };
        }, cancellationToken);

    public Task<IReadOnlyList<UploadSession>> ListInactiveAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read<IReadOnlyList<UploadSession>>(c =>
        {
            using var reader = c.Command("SELECT id, repository, started_at, updated_at, acknowledged, hash_state, store_state FROM uploads WHERE updated_at < $before ORDER BY updated_at LIMIT $limit",
                ("$before", before.ToUnixTimeMilliseconds()), ("$limit", limit)).ExecuteReader();
            var list = new List<UploadSession>();
            while (reader.Read())
            {
                var session = ReadSession(reader);
                if (session is not null)
                {
                    list.Add(session);
                }
            }

            return list;
        }));

    // ---------------------------------------------------------------- garbage collection

    /// <summary>The garbage condition of <see cref="IBlobCollectionIndex"/> over the digests of the JSON array <c>$digests</c>.</summary>
    private const string GarbageSql =
        """
        SELECT d.value FROM json_each($digests) d
        WHERE NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.digest = d.value)
          AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = d.value AND b.created_at >= $cutoff)
          AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = d.value AND rb.linked_at >= $cutoff)
        """;

    public Task<IReadOnlyList<Digest>> FindGarbageAsync(IReadOnlyList<Digest> candidates, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        Task.FromResult(candidates.Count == 0 ? [] : _db.Read(c => Garbage(c, candidates, cutoff)));

    private static IReadOnlyList<Digest> Garbage(SqliteDatabase.Connection c, IReadOnlyList<Digest> candidates, DateTimeOffset cutoff)
    {
        using var reader = c.Command(GarbageSql, ("$digests", DigestArray(candidates)), ("$cutoff", cutoff.ToUnixTimeMilliseconds())).ExecuteReader();
        var garbage = new List<Digest>();
        while (reader.Read())
        {
            if (Digest.TryParse(reader.GetString(0), out var digest))
            {
                garbage.Add(digest);
            }
        }

        return garbage;
    }

    public Task<IReadOnlyList<Digest>> BeginCollectionAsync(IReadOnlyList<Digest> candidates, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        candidates.Count == 0
            ? Task.FromResult<IReadOnlyList<Digest>>([])
            : _db.WriteAsync((c, _) =>
            {
                // The writer runs one write at a time: the re-check and the deletes see every link and manifest put before.
                var garbage = Garbage(c, candidates, cutoff);
                var now = Now;
                foreach (var digest in garbage)
                {
                    var text = digest.ToString();
                    c.Command("DELETE FROM repository_blobs WHERE digest = $digest", ("$digest", text)).ExecuteNonQuery();
                    c.Command("DELETE FROM blobs WHERE digest = $digest", ("$digest", text)).ExecuteNonQuery();
                    c.Command(
                        """
                        INSERT INTO blob_collections (digest, started_at, finished_at) VALUES ($digest, $now, NULL)
                        ON CONFLICT (digest) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL
                        """,
                        ("$digest", text), ("$now", now)).ExecuteNonQuery();
                }

                return (garbage, true);
            }, cancellationToken);

    public Task FinishCollectionAsync(IReadOnlyList<Digest> digests, CancellationToken cancellationToken) =>
        digests.Count == 0
            ? Task.CompletedTask
            : _db.WriteAsync((c, _) =>
            {
                c.Command("UPDATE blob_collections SET finished_at = $now WHERE finished_at IS NULL AND digest IN (SELECT value FROM json_each($digests))",
                    ("$now", Now), ("$digests", DigestArray(digests))).ExecuteNonQuery();
                return (true, true);
            }, cancellationToken);

    public Task<IReadOnlyList<Digest>> ListUnfinishedCollectionsAsync(int limit, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read<IReadOnlyList<Digest>>(c =>
        {
            using var reader = c.Command("SELECT digest FROM blob_collections WHERE finished_at IS NULL ORDER BY started_at LIMIT $limit", ("$limit", limit)).ExecuteReader();
            var list = new List<Digest>();
            while (reader.Read())
            {
                if (Digest.TryParse(reader.GetString(0), out var digest))
                {
                    list.Add(digest);
                }
            }

            return list;
        }));

    public Task<int> PurgeCollectionsAsync(DateTimeOffset finishedBefore, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) => (c.Command("DELETE FROM blob_collections WHERE finished_at IS NOT NULL AND finished_at < $before",
            ("$before", finishedBefore.ToUnixTimeMilliseconds())).ExecuteNonQuery(), true), cancellationToken);

    // A digest is letters, digits and ':', '+', '.', '_', '-' (Digest parsed it): quoting it is all JSON needs.
    private static string DigestArray(IReadOnlyList<Digest> digests) => "[\"" + string.Join("\",\"", digests) + "\"]";

    // ---------------------------------------------------------------- helpers

    private static UploadSession? ReadSession(SqliteDataReader reader) =>
        RepositoryName.TryParse(reader.GetString(1), out var repository)
            ? new UploadSession(reader.GetString(0), repository,
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.IsDBNull(5) ? null : (byte[])reader.GetValue(5),
                reader.IsDBNull(6) ? null : reader.GetString(6))
            : null;

    private static long? RepositoryId(SqliteDatabase.Connection c, RepositoryName repository) =>
        Scalar<long>(c.Command("SELECT id FROM repositories WHERE name = $name", ("$name", repository.Value)));

    /// <summary>
    /// The repository's id, creating it when its project exists (the projects table of migration 2 is in the same
    /// database, so the check and the insert are one transaction with the delete of a project); null otherwise.
    /// </summary>
    private long? EnsureRepository(SqliteDatabase.Connection c, RepositoryName repository)
    {
        var id = RepositoryId(c, repository);
        if (id is not null)
        {
            return id.Value;
        }

        return Scalar<long>(c.Command(
            "INSERT INTO repositories (name, created_at) SELECT $name, $now WHERE EXISTS (SELECT 1 FROM projects WHERE name = $project) RETURNING id",
            ("$name", repository.Value), ("$now", Now), ("$project", repository.Project)));
    }

    private static T? Scalar<T>(SqliteCommand command) where T : struct
    {
        var value = command.ExecuteScalar();
        return value is null or DBNull ? null : (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static NamePage Page(SqliteCommand command, int limit)
    {
        var names = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }
        }

        var hasMore = names.Count > limit;
        if (hasMore)
        {
            names.RemoveAt(names.Count - 1);
        }

        return new NamePage(names, hasMore);
    }
}

