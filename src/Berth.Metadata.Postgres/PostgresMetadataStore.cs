using Berth.Core.Immutability;
using Berth.Core.Metadata;
using Berth.Oci;
using Npgsql;
using NpgsqlTypes;

namespace Berth.Metadata.Postgres;

/// <summary>
/// The metadata contracts on PostgreSQL, behaving as <c>SqliteMetadataStore</c> does, for several nodes on one database.
/// Times are Unix milliseconds. The hot writes that read before they write (links, manifest puts, upload completes) run
/// at READ COMMITTED and take the locks that make their checks hold at commit on every node: a repository is created
/// with <c>ON CONFLICT DO UPDATE</c> (so a racing creator's row is waited for and used), a manifest's references are
/// locked <c>FOR SHARE</c> before they are checked, a tag's put holds a transaction advisory lock on the tag (so where
/// it pointed is read after the previous put of the tag committed), and a project delete locks the registry tables
/// (PostgresProjectStore). SERIALIZABLE, which these once used, aborted pushes into neighbouring repositories on one
/// another's index pages until the retries ran out. The other writes that read first (deletes of manifests, pull
/// times) run in <see cref="PostgresDatabase.WriteAsync{T}"/>'s SERIALIZABLE transaction, and a conflicting writer
/// elsewhere makes one of them retry. Writes that are one statement whose WHERE clause is
/// the whole decision (the upload offset compare-and-set, touch, unlink, delete of a tag) run alone at READ COMMITTED:
/// PostgreSQL re-checks the WHERE clause of an UPDATE or DELETE on the newest row version after waiting for a concurrent
/// writer, so of two nodes that advance the same offset exactly one matches. Commands use positional parameters
/// (<c>$1</c>, no SQL rewriting by Npgsql) and several statements go in one <see cref="NpgsqlBatch"/> (one round trip).
/// </summary>
public sealed class PostgresMetadataStore(PostgresDatabase database, TimeProvider clock)
    : IRepositoryIndex, IBlobIndex, IManifestIndex, IUploadSessionStore, IBlobCollectionIndex
{
    private long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();

    // ---------------------------------------------------------------- repositories

    public Task<bool> ExistsAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        database.ReadAsync(async (c, ct) =>
        {
            await using var command = Command(c, "SELECT 1 FROM repositories WHERE name = $1", Text(repository.Value));
            return await command.ExecuteScalarAsync(ct) is not null;
        }, cancellationToken);

    public Task<NamePage> ListAsync(string? last, int limit, CancellationToken cancellationToken) =>
        database.ReadAsync((c, ct) => PageAsync(Command(c,
            "SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2",
            Text(last ?? string.Empty), Int(limit + 1L)), limit, ct), cancellationToken);

    // ---------------------------------------------------------------- blobs

    public Task<long?> GetLinkedSizeAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
        database.ReadAsync(async (c, ct) =>
        {
            await using var command = Command(c,
                "SELECT rb.size FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE r.name = $1 AND rb.digest = $2",
                Text(repository.Value), Text(digest.ToString()));
            return await command.ExecuteScalarAsync(ct) is long size ? size : (long?)null;
        }, cancellationToken);

    public Task<BlobLink?> GetLinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
        database.ReadAsync<BlobLink?>(async (c, ct) =>
        {
            await using var command = Command(c,
                "SELECT rb.size, rb.linked_at FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE r.name = $1 AND rb.digest = $2",
                Text(repository.Value), Text(digest.ToString()));
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? new BlobLink(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))) : null;
        }, cancellationToken);

    public Task<bool> RefreshLinkAsync(RepositoryName repository, Digest digest, DateTimeOffset staleBefore, CancellationToken cancellationToken) =>
        database.ReadAsync(async (c, ct) =>
        {
            // Two statements at READ COMMITTED, autocommit: the update waits for a collection holding the row and then
            // finds it gone; the read after it takes a new snapshot, so it sees that collection too.
            await using (var update = Command(c,
                "UPDATE repository_blobs SET linked_at = $3 WHERE repository_id = (SELECT id FROM repositories WHERE name = $1) AND digest = $2 AND linked_at < $4",
                Text(repository.Value), Text(digest.ToString()), Int(Now), Int(staleBefore.ToUnixTimeMilliseconds())))
            {
                if (await update.ExecuteNonQueryAsync(ct) > 0)
                {
                    return true;
                }
            }

            await using var read = Command(c,
                "SELECT 1 FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE r.name = $1 AND rb.digest = $2",
                Text(repository.Value), Text(digest.ToString()));
            return await read.ExecuteScalarAsync(ct) is not null;
        }, cancellationToken);

    public Task<BlobLinkResult> LinkAsync(RepositoryName repository, Digest digest, long size, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, _, ct) =>
        {
            var linked = await LinkAsync(c, repository, digest, size, ct);
            return (linked, linked is BlobLinkResult.Linked or BlobLinkResult.LinkedAfterCollection);
        }, System.Data.IsolationLevel.ReadCommitted, cancellationToken);

    /// <summary>
    /// Links the blob inside the caller's transaction: one round trip (the digest's shared lock, its collection marker,
    /// the repository made when its project exists, the blob row, the link). Nothing to keep (the caller rolls back)
    /// unless the answer is <see cref="BlobLinkResult.Linked"/> or <see cref="BlobLinkResult.LinkedAfterCollection"/>.
    /// </summary>
    private async Task<BlobLinkResult> LinkAsync(NpgsqlConnection c, RepositoryName repository, Digest digest, long size, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(c);
        AddLink(batch, repository, digest, size);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        return await ReadLinkAsync(reader, ct);
    }

    /// <summary>
    /// The statements of a link. First the digest's advisory lock, shared: links of a digest run side by side, and a
    /// garbage collection (which takes it exclusively, <see cref="BeginCollectionAsync"/>) runs alone, so the marker read
    /// next is the one the collection committed, and a collection's re-check sees this link once committed. Then the
    /// marker, then the repository's id (no row when it cannot exist), then the writes, guarded by both.
    /// </summary>
    private void AddLink(NpgsqlBatch batch, RepositoryName repository, Digest digest, long size)
    {
        var now = Now;
        batch.BatchCommands.Add(BatchCommand("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, " + DigestLockSeed + "))", Text(digest.ToString())));
        batch.BatchCommands.Add(BatchCommand("SELECT finished_at IS NULL FROM blob_collections WHERE digest = $1", Text(digest.ToString())));
        batch.BatchCommands.Add(EnsureRepository(repository, now));
        // The blob row and the link only when the repository exists now (the statement above made it, or could not)
        // and the digest is not being collected.
        const string NotCollecting = "NOT EXISTS (SELECT 1 FROM blob_collections WHERE digest = $2 AND finished_at IS NULL)";
        batch.BatchCommands.Add(BatchCommand(
            "INSERT INTO blobs (digest, size, created_at) SELECT $2, $3, $4 WHERE EXISTS (SELECT 1 FROM repositories WHERE name = $1) AND " + NotCollecting
            + " ON CONFLICT DO NOTHING",
            Text(repository.Value), Text(digest.ToString()), Int(size), Int(now)));
        batch.BatchCommands.Add(BatchCommand(
            "INSERT INTO repository_blobs (repository_id, digest, size, linked_at) SELECT id, $2, $3, $4 FROM repositories WHERE name = $1 AND " + NotCollecting
            + " ON CONFLICT (repository_id, digest) DO UPDATE SET linked_at = excluded.linked_at",
            Text(repository.Value), Text(digest.ToString()), Int(size), Int(now)));
    }

    /// <summary>Reads the answers of <see cref="AddLink"/>'s statements, the reader on the first of them.</summary>
    private static async Task<BlobLinkResult> ReadLinkAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        await reader.NextResultAsync(ct); // past the lock
        bool? collecting = await reader.ReadAsync(ct) ? reader.GetBoolean(0) : null;
        await reader.NextResultAsync(ct);
        var repositoryExists = await reader.ReadAsync(ct);
        return collecting == true ? BlobLinkResult.BeingCollected
            : !repositoryExists ? BlobLinkResult.ProjectNotFound
            : collecting is null ? BlobLinkResult.Linked
            : BlobLinkResult.LinkedAfterCollection;
    }

    /// <summary>The seed of the digests' advisory locks (tags' locks use another), so the two key spaces do not meet.</summary>
    private const string DigestLockSeed = "4253";

    public Task<DeleteResult> UnlinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
        ChangeAsync(
            "DELETE FROM repository_blobs WHERE digest = $2 AND repository_id = (SELECT id FROM repositories WHERE name = $1)",
            cancellationToken, Text(repository.Value), Text(digest.ToString()));

    // ---------------------------------------------------------------- manifests and tags

    public Task<ManifestPutResult> PutAsync(RepositoryName repository, ManifestRecord manifest, IReadOnlyList<ManifestReference> references, Tag? tag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(references);
        var digest = manifest.Digest.ToString();
        var referenceDigests = new string[references.Count];
        var referenceFlags = new bool[references.Count];
        var referenceSizes = new long[references.Count];
        for (var i = 0; i < references.Count; i++)
        {
            referenceDigests[i] = references[i].Digest.ToString();
            referenceFlags[i] = references[i].IsManifest;
            referenceSizes[i] = references[i].Size;
        }

        var pushedAt = manifest.PushedAt.ToUnixTimeMilliseconds();
        return database.WriteAsync(async (c, _, ct) =>
        {
            // One round trip (then the commit): the checks and, speculatively, the writes, in order. The repository is
            // made when its project exists; the first reference missing or of another size is found (in the order
            // given, as SQLite checks them); where the tag points is read; then the manifest (an existing one keeps its
            // body, its push time is refreshed), its references and the tag are written. The writes name the
            // repository by name, so without one they write nothing; when a check failed the transaction is rolled
            // back, so nothing of a refused push is stored, as the contract wants.
            // At READ COMMITTED each statement sees what committed before it started, so the locks come first: the
            // tag's advisory lock (puts of one tag queue, and each reads where the previous one left it), then the
            // repository (made or waited for), then the references FOR SHARE (a concurrent unlink or manifest delete
            // waits for this commit), then the checks.
            await using var batch = new NpgsqlBatch(c);
            if (tag is { } locked)
            {
                batch.BatchCommands.Add(BatchCommand(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 7283))", Text(repository.Value), Text(locked.Value)));
            }

            // A project with a quota: puts into it queue here (after the tag's lock, always in that order), so each
            // one's quota check below sees the puts before it. Without a quota no lock is taken.
            batch.BatchCommands.Add(BatchCommand(PostgresProjectQuotaStore.LockSql, Text(repository.Project)));
            batch.BatchCommands.Add(EnsureRepository(repository, Now));
            if (references.Count > 0)
            {
                batch.BatchCommands.Add(BatchCommand(
                    """
                    SELECT 1 FROM repository_blobs b JOIN repositories r ON r.id = b.repository_id
                    WHERE r.name = $1 AND b.digest = ANY($2::text[]) ORDER BY b.digest FOR SHARE OF b
                    """,
                    Text(repository.Value), TextArray(referenceDigests)));
                batch.BatchCommands.Add(BatchCommand(
                    """
                    SELECT 1 FROM manifests m JOIN repositories r ON r.id = m.repository_id
                    WHERE r.name = $1 AND m.digest = ANY($2::text[]) ORDER BY m.digest FOR SHARE OF m
                    """,
                    Text(repository.Value), TextArray(referenceDigests)));
                batch.BatchCommands.Add(BatchCommand(
                    """
                    SELECT x.ord, x.actual FROM (
                        SELECT r.ord, r.size, CASE WHEN r.is_manifest
                            THEN (SELECT m.size FROM manifests m WHERE m.repository_id = repo.id AND m.digest = r.digest)
                            ELSE (SELECT b.size FROM repository_blobs b WHERE b.repository_id = repo.id AND b.digest = r.digest) END AS actual
                        FROM unnest($2::text[], $3::boolean[], $4::bigint[]) WITH ORDINALITY AS r(digest, is_manifest, size, ord)
                        CROSS JOIN (SELECT id FROM repositories WHERE name = $1) AS repo
                    ) x
                    WHERE x.actual IS DISTINCT FROM x.size ORDER BY x.ord LIMIT 1
                    """,
                    Text(repository.Value), TextArray(referenceDigests), BoolArray(referenceFlags), IntArray(referenceSizes)));
            }

            if (tag is { } t)
            {
                batch.BatchCommands.Add(BatchCommand(
                    "SELECT t.manifest_digest FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = $1 AND t.name = $2",
                    Text(repository.Value), Text(t.Value)));

                // The project's immutability rules, read after the tag's lock like where the tag points: a move of an
                // immutable tag is refused below (and the speculative writes rolled back).
                batch.BatchCommands.Add(BatchCommand(PostgresImmutabilityRuleStore.RulesSql, Text(repository.Project)));
            }

            // The quota check, before the writes (no row when the project has none).
            batch.BatchCommands.Add(BatchCommand(PostgresProjectQuotaStore.CheckSql, PostgresProjectQuotaStore.CheckParameters(
                repository.Project, digest, manifest.Body.LongLength, [.. references.Where(r => !r.IsManifest).Select(r => r.Digest.ToString())])));
            batch.BatchCommands.Add(BatchCommand(
                """
                INSERT INTO manifests (repository_id, digest, media_type, size, body, artifact_type, subject, annotations, pushed_at)
                SELECT id, $2, $3, $4, $5, $6, $7, $8, $9 FROM repositories WHERE name = $1
                ON CONFLICT (repository_id, digest) DO UPDATE SET pushed_at = excluded.pushed_at
                """,
                Text(repository.Value), Text(digest), Text(manifest.MediaType), Int(manifest.Body.LongLength), Bytes(manifest.Body),
                Text(manifest.ArtifactType), Text(manifest.Subject?.ToString()), Text(manifest.AnnotationsJson), Int(pushedAt)));
            if (references.Count > 0)
            {
                batch.BatchCommands.Add(BatchCommand(
                    """
                    INSERT INTO manifest_references (repository_id, manifest_digest, digest, is_manifest)
                    SELECT repo.id, $2, r.digest, r.is_manifest
                    FROM repositories repo CROSS JOIN unnest($3::text[], $4::boolean[]) AS r(digest, is_manifest)
                    WHERE repo.name = $1
                    ON CONFLICT DO NOTHING
                    """,
                    Text(repository.Value), Text(digest), TextArray(referenceDigests), BoolArray(referenceFlags)));
            }

            if (tag is { } moved)
            {
                batch.BatchCommands.Add(BatchCommand(
                    """
                    INSERT INTO tags (repository_id, name, manifest_digest, updated_at)
                    SELECT id, $2, $3, $4 FROM repositories WHERE name = $1
                    ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = excluded.manifest_digest, updated_at = excluded.updated_at
                    """,
                    Text(repository.Value), Text(moved.Value), Text(digest), Int(pushedAt)));
            }

            bool exists;
            int? failed = null;
            long actualSize = 0;
            Digest? previous = null;
            List<ImmutabilityRule>? rules = null;
            Core.Quotas.QuotaExceeded? exceeded = null;
            await using (var reader = await batch.ExecuteReaderAsync(ct))
            {
                if (tag is not null)
                {
                    await reader.NextResultAsync(ct); // past the advisory lock
                }

                await reader.NextResultAsync(ct); // past the quota's lock
                exists = await reader.ReadAsync(ct);
                if (references.Count > 0)
                {
                    await reader.NextResultAsync(ct); // past the locked blob links
                    await reader.NextResultAsync(ct); // past the locked manifests
                    await reader.NextResultAsync(ct);
                    if (await reader.ReadAsync(ct))
                    {
                        failed = (int)reader.GetInt64(0) - 1;
                        actualSize = reader.IsDBNull(1) ? -1 : reader.GetInt64(1);
                    }
                }

                if (tag is not null)
                {
                    await reader.NextResultAsync(ct);
                    previous = await reader.ReadAsync(ct) ? Digest.Parse(reader.GetString(0)) : null;
                    await reader.NextResultAsync(ct);
                    rules = await PostgresImmutabilityRuleStore.ReadAllAsync(reader, ct);
                }

                await reader.NextResultAsync(ct);
                if (await reader.ReadAsync(ct))
                {
                    var (quota, needed, used) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
                    exceeded = needed > 0 && used + needed > quota ? new Core.Quotas.QuotaExceeded(used, quota, needed) : null;
                }
            }

            if (!exists)
            {
                return (new ManifestPutResult(ManifestPutStatus.ProjectNotFound), false);
            }

            if (failed is { } index)
            {
                var reference = references[index];
                return (actualSize < 0
                    ? new ManifestPutResult(ManifestPutStatus.ReferenceUnknown, reference)
                    : new ManifestPutResult(ManifestPutStatus.ReferenceSizeMismatch, reference, actualSize), false);
            }

            if (exceeded is not null)
            {
                return (new ManifestPutResult(ManifestPutStatus.QuotaExceeded) { Quota = exceeded }, false);
            }

            if (previous is { } target && target != manifest.Digest && rules is { Count: > 0 }
                && ImmutabilityPolicy.Check(rules, repository, tag!.Value) is { } refusal)
            {
                return (new ManifestPutResult(ManifestPutStatus.TagImmutable) { Refusal = refusal }, false);
            }

            return (new ManifestPutResult(ManifestPutStatus.Stored) { PreviousTagTarget = previous }, true);
        }, System.Data.IsolationLevel.ReadCommitted, cancellationToken);
    }

    public Task<ManifestRecord?> GetAsync(RepositoryName repository, Reference reference, CancellationToken cancellationToken) =>
        database.ReadAsync(async (c, ct) =>
        {
            await using var command = reference.Digest is { } digest
                ? Command(c,
                    "SELECT m.digest, m.media_type, m.body, m.artifact_type, m.subject, m.annotations, m.pushed_at FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = $1 AND m.digest = $2",
                    Text(repository.Value), Text(digest.ToString()))
                : Command(c,
                    "SELECT m.digest, m.media_type, m.body, m.artifact_type, m.subject, m.annotations, m.pushed_at FROM tags t JOIN repositories r ON r.id = t.repository_id JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest WHERE r.name = $1 AND t.name = $2",
                    Text(repository.Value), Text(reference.Tag!.Value.Value));
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return null;
            }

            return new ManifestRecord(
                Digest.Parse(reader.GetString(0)),
                reader.GetString(1),
                reader.GetFieldValue<byte[]>(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : Digest.Parse(reader.GetString(4)),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)));
        }, cancellationToken);

    public Task<RepositoryName?> FindRepositoryOfManifestAsync(Digest digest, CancellationToken cancellationToken) =>
        database.ReadAsync(async (c, ct) =>
        {
            await using var command = Command(c,
                "SELECT r.name FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE m.digest = $1 ORDER BY m.repository_id LIMIT 1",
                Text(digest.ToString()));
            return await command.ExecuteScalarAsync(ct) is string name ? RepositoryName.Parse(name) : (RepositoryName?)null;
        }, cancellationToken);

    public Task<IReadOnlyList<Digest>> ListParentManifestsAsync(RepositoryName repository, Digest digest, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return database.ReadAsync<IReadOnlyList<Digest>>(async (c, ct) =>
        {
            await using var command = Command(c,
                """
                SELECT mr.manifest_digest FROM manifest_references mr JOIN repositories r ON r.id = mr.repository_id
                WHERE mr.digest = $1 AND r.name = $2 AND mr.is_manifest
                ORDER BY mr.manifest_digest LIMIT $3
                """,
                Text(digest.ToString()), Text(repository.Value), Int(limit));
            var list = new List<Digest>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                list.Add(Digest.Parse(reader.GetString(0)));
            }

            return list;
        }, cancellationToken);
    }

    public Task<ManifestDeleteResult> DeleteManifestAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, _, ct) =>
        {
            // The tags that would go and the project's rules first (SERIALIZABLE: a push that tags the manifest meanwhile
            // makes one of the two retry), then one statement: the manifest, then (only when it was there) its tags and references.
            var tags = new List<string>();
            await using (var read = Command(c,
                "SELECT t.name FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = $1 AND t.manifest_digest = $2 ORDER BY t.name",
                Text(repository.Value), Text(digest.ToString())))
            await using (var reader = await read.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    tags.Add(reader.GetString(0));
                }
            }

            if (tags.Count > 0 && await FirstImmutableAsync(c, repository, tags, ct) is { } refusal)
            {
                return (new ManifestDeleteResult(ManifestDeleteStatus.Immutable, refusal), false);
            }

            await using var command = Command(c,
                """
                WITH m AS (
                    DELETE FROM manifests WHERE digest = $2 AND repository_id = (SELECT id FROM repositories WHERE name = $1)
                    RETURNING repository_id
                ), t AS (
                    DELETE FROM tags WHERE manifest_digest = $2 AND repository_id IN (SELECT repository_id FROM m)
                ), x AS (
                    DELETE FROM manifest_references WHERE manifest_digest = $2 AND repository_id IN (SELECT repository_id FROM m)
                )
                SELECT COUNT(*) FROM m
                """,
                Text(repository.Value), Text(digest.ToString()));
            var deleted = (long)(await command.ExecuteScalarAsync(ct))! > 0;
            return (deleted ? ManifestDeleteResult.Deleted : ManifestDeleteResult.NotFound, deleted);
        }, cancellationToken);

    public Task<ManifestDeleteResult> DeleteTagAsync(RepositoryName repository, Tag tag, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, _, ct) =>
        {
            // Whether a tag is immutable depends on its name and the rules, not on where it points, so READ COMMITTED
            // holds: the rules as committed now, then the delete (which answers whether the tag was there).
            var rules = await PostgresImmutabilityRuleStore.LoadAsync(c, repository.Project, ct);
            var refusal = ImmutabilityPolicy.Check(rules, repository, tag);
            await using var command = Command(c,
                refusal is null
                    ? "DELETE FROM tags WHERE name = $2 AND repository_id = (SELECT id FROM repositories WHERE name = $1)"
                    : "SELECT 1 FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = $1 AND t.name = $2",
                Text(repository.Value), Text(tag.Value));
            if (refusal is not null)
            {
                return (await command.ExecuteScalarAsync(ct) is null ? ManifestDeleteResult.NotFound : new ManifestDeleteResult(ManifestDeleteStatus.Immutable, refusal), false);
            }

            var deleted = await command.ExecuteNonQueryAsync(ct) > 0;
            return (deleted ? ManifestDeleteResult.Deleted : ManifestDeleteResult.NotFound, deleted);
        }, System.Data.IsolationLevel.ReadCommitted, cancellationToken);

    /// <summary>The refusal for the first of <paramref name="tags"/> the project's rules (read in this transaction) make immutable.</summary>
    private static async Task<ImmutableTagRefusal?> FirstImmutableAsync(NpgsqlConnection c, RepositoryName repository, IEnumerable<string> tags, CancellationToken ct)
    {
        var rules = await PostgresImmutabilityRuleStore.LoadAsync(c, repository.Project, ct);
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
        database.ReadAsync<NamePage?>(async (c, ct) =>
        {
            // The repository's existence and the page in one query: a repository without tags gives one row of NULL.
            await using var command = Command(c,
                """
                SELECT t.name FROM repositories r
                LEFT JOIN LATERAL (SELECT name FROM tags WHERE repository_id = r.id AND name > $2 ORDER BY name LIMIT $3) t ON true
                WHERE r.name = $1
                ORDER BY t.name
                """,
                Text(repository.Value), Text(last ?? string.Empty), Int(limit + 1L));
            var names = new List<string>();
            var exists = false;
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    exists = true;
                    if (!reader.IsDBNull(0))
                    {
                        names.Add(reader.GetString(0));
                    }
                }
            }

            return exists ? Page(names, limit) : null;
        }, cancellationToken);

    public Task<IReadOnlyList<ReferrerRecord>> ListReferrersAsync(RepositoryName repository, Digest subject, string? artifactType, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<ReferrerRecord>>(async (c, ct) =>
        {
            await using var command = Command(c,
                """
                SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations FROM manifests m JOIN repositories r ON r.id = m.repository_id
                WHERE r.name = $1 AND m.subject = $2 AND ($3::text IS NULL OR m.artifact_type = $3)
                ORDER BY m.digest
                """,
                Text(repository.Value), Text(subject.ToString()), Text(artifactType));
            var list = new List<ReferrerRecord>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                list.Add(new ReferrerRecord(
                    Digest.Parse(reader.GetString(0)), reader.GetString(1), reader.GetInt64(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
            }

            return list;
        }, cancellationToken);

    public Task RecordPullsAsync(IReadOnlyCollection<PullRecord> pulls, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pulls);
        if (pulls.Count == 0)
        {
            return Task.CompletedTask;
        }

        var repositories = new string[pulls.Count];
        var digests = new string[pulls.Count];
        var tags = new string?[pulls.Count];
        var times = new long[pulls.Count];
        var i = 0;
        foreach (var pull in pulls)
        {
            repositories[i] = pull.Repository.Value;
            digests[i] = pull.Manifest.ToString();
            tags[i] = pull.Tag?.Value;
            times[i] = pull.At.ToUnixTimeMilliseconds();
            i++;
        }

        // The whole batch in two statements (not two per pull): each row's latest pull wins, later than what is stored
        // or not at all. A pull by digest (no tag) counts as a pull of every tag that points at the manifest.
        return database.WriteAsync(async (c, _, ct) =>
        {
            const string Pulls = "unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS p(repository, digest, tag, at) JOIN repositories r ON r.name = p.repository";
            await using var batch = new NpgsqlBatch(c)
            {
                BatchCommands =
                {
                    BatchCommand(
                        $"""
                        UPDATE manifests m SET last_pulled_at = GREATEST(COALESCE(m.last_pulled_at, 0), x.at)
                        FROM (SELECT r.id, p.digest, MAX(p.at) AS at FROM {Pulls} GROUP BY r.id, p.digest) x
                        WHERE m.repository_id = x.id AND m.digest = x.digest
                        """,
                        TextArray(repositories), TextArray(digests), TextArray(tags), IntArray(times)),
                    BatchCommand(
                        $"""
                        UPDATE tags t SET last_pulled_at = GREATEST(COALESCE(t.last_pulled_at, 0), x.at)
                        FROM (
                            SELECT g.repository_id, g.name, MAX(p.at) AS at FROM {Pulls}
                            JOIN tags g ON g.repository_id = r.id AND g.manifest_digest = p.digest AND (p.tag IS NULL OR g.name = p.tag)
                            GROUP BY g.repository_id, g.name
                        ) x
                        WHERE t.repository_id = x.repository_id AND t.name = x.name
                        """,
                        TextArray(repositories), TextArray(digests), TextArray(tags), IntArray(times)),
                },
            };
            await batch.ExecuteNonQueryAsync(ct);
            return (true, true);
        }, cancellationToken);
    }

    // ---------------------------------------------------------------- upload sessions

    public async Task CreateAsync(UploadSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await database.ReadAsync(async (c, ct) => // one statement on its own, as ChangeAsync
        {
            await using var command = Command(c,
                "INSERT INTO uploads (id, repository, started_at, updated_at, acknowledged, hash_state, store_state) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                Text(session.Id), Text(session.Repository.Value), Int(session.StartedAt.ToUnixTimeMilliseconds()),
                Int(session.UpdatedAt.ToUnixTimeMilliseconds()), Int(session.Offset), Bytes(session.HashState), Text(session.StoreState));
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);
    }

    public Task<UploadSession?> GetAsync(string id, CancellationToken cancellationToken) =>
        database.ReadAsync(async (c, ct) =>
        {
            await using var command = Command(c, "SELECT " + SessionColumns + " FROM uploads WHERE id = $1", Text(id));
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? ReadSession(reader) : null;
        }, cancellationToken);

    public async Task TouchAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) =>
        await ChangeAsync("UPDATE uploads SET updated_at = $2 WHERE id = $1", cancellationToken, Text(id), Int(at.ToUnixTimeMilliseconds()));

    public Task<UploadAdvanceResult> AdvanceAsync(string id, long? expectedOffset, long newOffset, byte[]? hashState, string? storeState, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.ReadAsync(async (c, ct) =>
        {
            // The compare-and-set is the UPDATE's WHERE clause, one statement in its own transaction: a second node
            // that updates the same row waits for the first, then PostgreSQL re-evaluates the WHERE clause on the row
            // the first one wrote, which no longer matches. IS NOT DISTINCT FROM compares NULL (a session from before
            // offsets were stored) as a value. The EXISTS tells a missing session from a moved offset without a second
            // round trip, but sees the statement's snapshot, from before any wait: a session it saw is looked up once
            // more (rare: only a lost race gets here), so one that a complete or cancel ended meanwhile is not found.
            await using var command = Command(c,
                """
                WITH advanced AS (
                    UPDATE uploads SET acknowledged = $3, hash_state = $4, store_state = $5, updated_at = GREATEST(updated_at, $6)
                    WHERE id = $1 AND acknowledged IS NOT DISTINCT FROM $2
                    RETURNING 1
                )
                SELECT (SELECT COUNT(*) FROM advanced), EXISTS (SELECT 1 FROM uploads WHERE id = $1)
                """,
                Text(id), Int(expectedOffset), Int(newOffset), Bytes(hashState), Text(storeState), Int(at.ToUnixTimeMilliseconds()));
            bool advanced, existed;
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                (advanced, existed) = (reader.GetInt64(0) > 0, reader.GetBoolean(1));
            }

            if (advanced)
            {
                return UploadAdvanceResult.Advanced;
            }

            if (existed)
            {
                await using var again = Command(c, "SELECT 1 FROM uploads WHERE id = $1", Text(id));
                existed = await again.ExecuteScalarAsync(ct) is not null;
            }

            return existed ? UploadAdvanceResult.OffsetMismatch : UploadAdvanceResult.SessionNotFound;
        }, cancellationToken);

    Task<DeleteResult> IUploadSessionStore.DeleteAsync(string id, CancellationToken cancellationToken) =>
        ChangeAsync("DELETE FROM uploads WHERE id = $1", cancellationToken, Text(id));

    public Task<UploadCompleteResult> CompleteAsync(string id, RepositoryName repository, Digest digest, long size, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, _, ct) =>
        {
            // One round trip: the session first (one that a cancel, the sweeper or the delete of its project ended
            // links nothing: the link written after it is rolled back), then the link. Without its repository and
            // project the session still ends (it could never complete).
            // A digest being collected links nothing and ends the session too (the client uploads the blob again).
            await using var batch = new NpgsqlBatch(c) { BatchCommands = { BatchCommand("DELETE FROM uploads WHERE id = $1 RETURNING 1", Text(id)) } };
            AddLink(batch, repository, digest, size);
            await using var reader = await batch.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return (UploadCompleteResult.SessionNotFound, false);
            }

            await reader.NextResultAsync(ct);
            return await ReadLinkAsync(reader, ct) switch
            {
                BlobLinkResult.Linked => (UploadCompleteResult.Completed, true),
                BlobLinkResult.LinkedAfterCollection => (UploadCompleteResult.CompletedAfterCollection, true),
                BlobLinkResult.BeingCollected => (UploadCompleteResult.BeingCollected, true), // its guarded writes wrote nothing
                _ => (UploadCompleteResult.ProjectNotFound, true),
            };
        }, System.Data.IsolationLevel.ReadCommitted, cancellationToken);

    public Task<IReadOnlyList<UploadSession>> ListInactiveAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<UploadSession>>(async (c, ct) =>
        {
            await using var command = Command(c,
                "SELECT " + SessionColumns + " FROM uploads WHERE updated_at < $1 ORDER BY updated_at LIMIT $2",
                Int(before.ToUnixTimeMilliseconds()), Int((long)limit));
            await using var reader = await command.ExecuteReaderAsync(ct);
            var list = new List<UploadSession>();
            while (await reader.ReadAsync(ct))
            {
                if (ReadSession(reader) is { } session)
                {
                    list.Add(session);
                }
            }

            return list;
        }, cancellationToken);

    // ---------------------------------------------------------------- garbage collection

    /// <summary>The garbage condition of <see cref="IBlobCollectionIndex"/> over the digests of the array <c>$1</c>, cut-off <c>$2</c>.</summary>
    private const string GarbageSql =
        """
        SELECT d FROM unnest($1::text[]) AS d
        WHERE NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.digest = d)
          AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = d AND b.created_at >= $2)
          AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = d AND rb.linked_at >= $2)
        """;

    public Task<IReadOnlyList<Digest>> FindGarbageAsync(IReadOnlyList<Digest> candidates, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        candidates.Count == 0
            ? Task.FromResult<IReadOnlyList<Digest>>([])
            : database.ReadAsync<IReadOnlyList<Digest>>(async (c, ct) =>
            {
                await using var command = Command(c, GarbageSql, TextArray(Texts(candidates)), Int(cutoff.ToUnixTimeMilliseconds()));
                await using var reader = await command.ExecuteReaderAsync(ct);
                return await DigestsAsync(reader, ct);
            }, cancellationToken);

    public Task<IReadOnlyList<Digest>> BeginCollectionAsync(IReadOnlyList<Digest> candidates, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        candidates.Count == 0
            ? Task.FromResult<IReadOnlyList<Digest>>([])
            : database.WriteAsync<IReadOnlyList<Digest>>(async (c, _, ct) =>
            {
                // READ COMMITTED, locks first, each statement a new snapshot: the digests' advisory locks exclusively (in
                // key order; links hold them shared), then their links FOR UPDATE (a manifest put holds the links it
                // references FOR SHARE and a HEAD's refresh updates one: both are waited for, and wait for this commit),
                // then the re-check sees every link, refresh and manifest reference committed before, and nothing new can
                // come until this commits. The deletes and the markers are one statement on the re-checked set.
                var digests = TextArray(Texts(candidates));
                await using var batch = new NpgsqlBatch(c)
                {
                    BatchCommands =
                    {
                        BatchCommand(
                            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(d, " + DigestLockSeed + ") AS k FROM unnest($1::text[]) AS d ORDER BY k) AS x",
                            digests),
                        BatchCommand("SELECT 1 FROM repository_blobs WHERE digest = ANY($1::text[]) ORDER BY digest, repository_id FOR UPDATE", TextArray(Texts(candidates))),
                        BatchCommand(
                            "WITH garbage AS (" + GarbageSql + """
                            ),
                            unlinked AS (DELETE FROM repository_blobs WHERE digest IN (SELECT d FROM garbage)),
                            removed AS (DELETE FROM blobs WHERE digest IN (SELECT d FROM garbage)),
                            marked AS (
                                INSERT INTO blob_collections (digest, started_at, finished_at) SELECT d, $3, NULL FROM garbage
                                ON CONFLICT (digest) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL
                            )
                            SELECT d FROM garbage
                            """,
                            TextArray(Texts(candidates)), Int(cutoff.ToUnixTimeMilliseconds()), Int(Now)),
                    },
                };
                await using var reader = await batch.ExecuteReaderAsync(ct);
                await reader.NextResultAsync(ct);
                await reader.NextResultAsync(ct);
                return (await DigestsAsync(reader, ct), true);
            }, System.Data.IsolationLevel.ReadCommitted, cancellationToken);

    public async Task FinishCollectionAsync(IReadOnlyList<Digest> digests, CancellationToken cancellationToken)
    {
        if (digests.Count > 0)
        {
            await ChangeAsync("UPDATE blob_collections SET finished_at = $2 WHERE finished_at IS NULL AND digest = ANY($1::text[])", cancellationToken,
                TextArray(Texts(digests)), Int(Now));
        }
    }

    public Task<IReadOnlyList<Digest>> ListUnfinishedCollectionsAsync(int limit, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<Digest>>(async (c, ct) =>
        {
            await using var command = Command(c, "SELECT digest FROM blob_collections WHERE finished_at IS NULL ORDER BY started_at LIMIT $1", Int((long)limit));
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await DigestsAsync(reader, ct);
        }, cancellationToken);

    public Task<int> PurgeCollectionsAsync(DateTimeOffset finishedBefore, CancellationToken cancellationToken) =>
        database.ReadAsync(async (c, ct) =>
        {
            await using var command = Command(c, "DELETE FROM blob_collections WHERE finished_at IS NOT NULL AND finished_at < $1", Int(finishedBefore.ToUnixTimeMilliseconds()));
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    private static string?[] Texts(IReadOnlyList<Digest> digests) => digests.Select(d => (string?)d.ToString()).ToArray();

    private static async Task<IReadOnlyList<Digest>> DigestsAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var list = new List<Digest>();
        while (await reader.ReadAsync(ct))
        {
            if (Digest.TryParse(reader.GetString(0), out var digest))
            {
                list.Add(digest);
            }
        }

        return list;
    }

    // ---------------------------------------------------------------- helpers

    private const string SessionColumns = "id, repository, started_at, updated_at, acknowledged, hash_state, store_state";

    private static UploadSession? ReadSession(NpgsqlDataReader reader) =>
        RepositoryName.TryParse(reader.GetString(1), out var repository)
            ? new UploadSession(reader.GetString(0), repository,
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetFieldValue<byte[]>(5),
                reader.IsDBNull(6) ? null : reader.GetString(6))
            : null;

    /// <summary>
    /// The repository's id as one row, creating the repository when its project exists; no row otherwise. A repository
    /// that exists is used whether or not its project does (kept from before projects). Two writers creating it at once:
    /// the second's insert waits for the first and, by <c>DO UPDATE</c>, returns its row (a <c>DO NOTHING</c> would
    /// return nothing at READ COMMITTED, where the first's row is not in the statement's snapshot). The statement
    /// inserts into repositories, so it takes the lock a project delete's table lock excludes: a delete in progress
    /// makes it wait, and it then finds the project gone.
    /// </summary>
    private static NpgsqlBatchCommand EnsureRepository(RepositoryName repository, long now) =>
        BatchCommand(
            """
            WITH existing AS (SELECT id FROM repositories WHERE name = $1),
            created AS (
                INSERT INTO repositories (name, created_at)
                SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM existing) AND EXISTS (SELECT 1 FROM projects WHERE name = $3)
                ON CONFLICT (name) DO UPDATE SET name = excluded.name
                RETURNING id
            )
            SELECT id FROM existing UNION ALL SELECT id FROM created
            """,
            Text(repository.Value), Int(now), Text(repository.Project));

    /// <summary>
    /// One statement on its own (autocommit, READ COMMITTED: atomic, durable when it returns), answering whether it
    /// changed a row. For writes whose WHERE clause is the whole decision.
    /// </summary>
    private Task<DeleteResult> ChangeAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters) =>
        database.ReadAsync(async (c, ct) =>
        {
            await using var command = Command(c, sql, parameters);
            return await command.ExecuteNonQueryAsync(ct) > 0 ? DeleteResult.Deleted : DeleteResult.NotFound;
        }, cancellationToken);

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlBatchCommand BatchCommand(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    // Positional parameters with their types given, so a NULL needs no inference.
    private static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Int(long? value) => new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = value is { } v ? v : DBNull.Value };

    private static NpgsqlParameter Bytes(byte[]? value) => new() { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter TextArray(string?[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = values };

    private static NpgsqlParameter BoolArray(bool[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean, Value = values };

    private static NpgsqlParameter IntArray(long[] values) => new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = values };

    private static async Task<NamePage> PageAsync(NpgsqlCommand command, int limit, CancellationToken ct)
    {
        await using (command)
        {
            var names = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                names.Add(reader.GetString(0));
            }

            return Page(names, limit);
        }
    }

    private static NamePage Page(List<string> names, int limit)
    {
        var hasMore = names.Count > limit;
        if (hasMore)
        {
            names.RemoveAt(names.Count - 1);
        }

        return new NamePage(names, hasMore);
    }
}
