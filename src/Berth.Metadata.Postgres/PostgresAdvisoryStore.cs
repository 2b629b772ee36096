using Berth.Core.Scanning;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IAdvisoryStore"/> on PostgreSQL: the tables of migration 7, as <c>SqliteAdvisoryStore</c>. Begin, batch and
/// finish take a transaction-scoped advisory lock first, so imports on several nodes are serialised (a begin sees the
/// running import of another node; a batch never interleaves with a begin that abandons its import). Many-name
/// lookups pass the names as one text array (<c>= ANY(@names)</c>).
/// </summary>
public sealed class PostgresAdvisoryStore(PostgresDatabase db) : IAdvisoryStore
{
    /// <summary>The advisory lock key imports hold: "berthvdb" as a 64-bit number.</summary>
    private const long ImportLockKey = 0x6265727468766462;

    private const string ImportColumns =
        "SELECT id, source, actor, status, started_at, updated_at, finished_at, added, updated, unchanged, withdrawn FROM vulndb_imports ";

    private static AdvisoryImport ReadImport(NpgsqlDataReader r)
    {
        var status = ScanWords.ImportStatus(r.GetString(3));
        return new AdvisoryImport(r.GetInt64(0), r.GetString(1), r.GetString(2), status, Time(r.GetInt64(4)), Time(r.GetInt64(5)), Time(r, 6),
            r.GetInt64(7), r.GetInt64(8), r.GetInt64(9), r.GetInt64(10), status == AdvisoryImportStatus.Finished ? r.GetInt64(0) : null);
    }

    private static Task<AdvisoryImport?> ImportAsync(NpgsqlConnection c, long id, CancellationToken ct) =>
        SingleAsync(c, ImportColumns + "WHERE id = @id", ReadImport, ct, ("id", id));

    private static Task LockAsync(NpgsqlConnection c, CancellationToken ct) =>
        NonQueryAsync(c, "SELECT pg_advisory_xact_lock(@key)", ct, ("key", ImportLockKey));

    public Task<AdvisoryImportStart> BeginImportAsync(string source, string actor, DateTimeOffset now, TimeSpan staleAfter, CancellationToken cancellationToken)
    {
        ScanStoreChecks.RequireSource(source);
        ArgumentNullException.ThrowIfNull(actor);
        RequireStorable(actor, nameof(actor));
        var at = now.ToUnixTimeMilliseconds();
        var staleBefore = (now - staleAfter).ToUnixTimeMilliseconds();
        return db.WriteAsync(async (c, _, ct) =>
        {
            await LockAsync(c, ct);
            var running = await SingleAsync(c, ImportColumns + "WHERE status = 'running' ORDER BY id DESC LIMIT 1", ReadImport, ct);
            if (running is not null && running.UpdatedAt.ToUnixTimeMilliseconds() > staleBefore)
            {
                return (new AdvisoryImportStart(AdvisoryImportStartStatus.Busy, running), false);
            }

            await NonQueryAsync(c, "UPDATE vulndb_imports SET status = 'abandoned' WHERE status = 'running'", ct);
            var id = (await ScalarAsync<long>(c,
                "INSERT INTO vulndb_imports (source, actor, status, started_at, updated_at) VALUES (@source, @actor, 'running', @at, @at) RETURNING id",
                ct, ("source", source), ("actor", actor), ("at", at)))!.Value;
            return (new AdvisoryImportStart(AdvisoryImportStartStatus.Started, (await ImportAsync(c, id, ct))!), true);
        }, System.Data.IsolationLevel.ReadCommitted, cancellationToken);
    }

    public Task<AdvisoryImportStep> AddBatchAsync(long importId, IReadOnlyList<AdvisoryRecord> records, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        foreach (var record in records)
        {
            ScanStoreChecks.RequireRecord(record);
        }

        var at = now.ToUnixTimeMilliseconds();
        return db.WriteAsync(async (c, _, ct) =>
        {
            await LockAsync(c, ct);
            var import = await ImportAsync(c, importId, ct);
            if (import is null)
            {
                return (new AdvisoryImportStep(AdvisoryImportStepStatus.NotFound, null), false);
            }

            if (import.Status != AdvisoryImportStatus.Running)
            {
                return (new AdvisoryImportStep(AdvisoryImportStepStatus.NotRunning, import), false);
            }

            long added = 0, updated = 0, unchanged = 0, withdrawn = 0;
            foreach (var record in records)
            {
                var modified = record.Modified.ToUnixTimeMilliseconds();
                var stored = await SingleAsync(c, "SELECT modified, body FROM vulndb_records WHERE id = @id", r => new Stored(r.GetInt64(0), r.GetString(1)), ct, ("id", record.Id));
                if (stored is not null && (stored.Modified > modified || (stored.Modified == modified && stored.Body == record.Json)))
                {
                    unchanged++;
                    continue;
                }

                await NonQueryAsync(c,
                    """
                    INSERT INTO vulndb_records (id, modified, withdrawn, source, import_id, body) VALUES (@id, @modified, @withdrawn, @source, @import, @body)
                    ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, withdrawn = excluded.withdrawn, source = excluded.source,
                        import_id = excluded.import_id, body = excluded.body
                    """,
                    ct, ("id", record.Id), ("modified", modified), ("withdrawn", record.Withdrawn?.ToUnixTimeMilliseconds()), ("source", import.Source),
                    ("import", importId), ("body", record.Json));
                await NonQueryAsync(c, "DELETE FROM vulndb_packages WHERE record_id = @id", ct, ("id", record.Id));
                if (record.Packages.Count > 0)
                {
                    await NonQueryAsync(c,
                        """
                        INSERT INTO vulndb_packages (ecosystem, lookup_name, record_id, name)
                        SELECT e, l, @id, n FROM unnest(@ecosystems::text[], @lookups::text[], @names::text[]) AS t(e, l, n) ON CONFLICT DO NOTHING
                        """,
                        ct, ("id", record.Id), ("ecosystems", record.Packages.Select(p => p.Ecosystem).ToArray()),
                        ("lookups", record.Packages.Select(p => AdvisoryNames.Lookup(p.Ecosystem, p.Name)).ToArray()), ("names", record.Packages.Select(p => p.Name).ToArray()));
                }

                if (stored is null)
                {
                    added++;
                }
                else
                {
                    updated++;
                }

                if (record.Withdrawn is not null)
                {
                    withdrawn++;
                }
            }

            await NonQueryAsync(c,
                """
                UPDATE vulndb_imports SET added = added + @added, updated = updated + @updated, unchanged = unchanged + @unchanged,
                    withdrawn = withdrawn + @withdrawn, updated_at = @at WHERE id = @id
                """,
                ct, ("added", added), ("updated", updated), ("unchanged", unchanged), ("withdrawn", withdrawn), ("at", at), ("id", importId));
            return (new AdvisoryImportStep(AdvisoryImportStepStatus.Done, await ImportAsync(c, importId, ct)), true);
        }, System.Data.IsolationLevel.ReadCommitted, cancellationToken);
    }

    private sealed record Stored(long Modified, string Body);

    public Task<AdvisoryImportStep> FinishImportAsync(long importId, DateTimeOffset now, CancellationToken cancellationToken) =>
        db.WriteAsync(async (c, _, ct) =>
        {
            await LockAsync(c, ct);
            var import = await ImportAsync(c, importId, ct);
            if (import is null)
            {
                return (new AdvisoryImportStep(AdvisoryImportStepStatus.NotFound, null), false);
            }

            if (import.Status != AdvisoryImportStatus.Running)
            {
                return (new AdvisoryImportStep(AdvisoryImportStepStatus.NotRunning, import), false);
            }

            var at = now.ToUnixTimeMilliseconds();
            await NonQueryAsync(c, "UPDATE vulndb_imports SET status = 'finished', finished_at = @at, updated_at = @at WHERE id = @id", ct, ("at", at), ("id", importId));
            return (new AdvisoryImportStep(AdvisoryImportStepStatus.Done, await ImportAsync(c, importId, ct)), true);
        }, System.Data.IsolationLevel.ReadCommitted, cancellationToken);

    public Task<AdvisoryImport?> GetImportAsync(long importId, CancellationToken cancellationToken) =>
        db.ReadAsync((c, ct) => ImportAsync(c, importId, ct), cancellationToken);

    public Task<IReadOnlyList<AdvisoryHit>> FindAsync(string ecosystem, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ecosystem);
        ArgumentNullException.ThrowIfNull(name);
        if (ecosystem.Contains('\0', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            return Task.FromResult<IReadOnlyList<AdvisoryHit>>([]); // nothing stored holds U+0000
        }

        var lookup = AdvisoryNames.Lookup(ecosystem, name);
        return db.ReadAsync<IReadOnlyList<AdvisoryHit>>(async (c, ct) => await ListAsync(c,
            """
            SELECT DISTINCT p.lookup_name, r.id, r.body FROM vulndb_packages p JOIN vulndb_records r ON r.id = p.record_id
            WHERE p.ecosystem = @ecosystem AND p.lookup_name = @lookup AND r.withdrawn IS NULL ORDER BY r.id
            """, ReadHit, ct, ("ecosystem", ecosystem), ("lookup", lookup)), cancellationToken);
    }

    public async Task<IReadOnlyList<AdvisoryHit>> FindManyAsync(string ecosystem, IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ecosystem);
        ArgumentNullException.ThrowIfNull(names);
        if (ecosystem.Contains('\0', StringComparison.Ordinal))
        {
            return [];
        }

        var lookups = names.Where(n => !n.Contains('\0', StringComparison.Ordinal)).Select(n => AdvisoryNames.Lookup(ecosystem, n))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var hits = new List<AdvisoryHit>();
        await using var connection = await db.DataSource.OpenConnectionAsync(cancellationToken);
        foreach (var chunk in lookups.Chunk(AdvisoryLimits.NamesPerQuery))
        {
            hits.AddRange(await ListAsync(connection,
                """
                SELECT DISTINCT p.lookup_name, r.id, r.body FROM vulndb_packages p JOIN vulndb_records r ON r.id = p.record_id
                WHERE p.ecosystem = @ecosystem AND p.lookup_name = ANY(@names) AND r.withdrawn IS NULL
                ORDER BY p.lookup_name, r.id
                """, ReadHit, cancellationToken, ("ecosystem", ecosystem), ("names", chunk)));
        }

        return hits;
    }

    private static AdvisoryHit ReadHit(NpgsqlDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2));

    public Task<AdvisoryRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return db.ReadAsync(async (c, ct) =>
        {
            var packages = await ListAsync(c, "SELECT ecosystem, name FROM vulndb_packages WHERE record_id = @id ORDER BY ecosystem, name",
                r => new AdvisoryPackage(r.GetString(0), r.GetString(1)), ct, ("id", id));
            return await SingleAsync(c, "SELECT id, modified, withdrawn, body FROM vulndb_records WHERE id = @id",
                r => new AdvisoryRecord(r.GetString(0), Time(r.GetInt64(1)), Time(r, 2), r.GetString(3), packages), ct, ("id", id));
        }, cancellationToken);
    }

    public Task<AdvisoryDatabaseStatus> GetStatusAsync(CancellationToken cancellationToken) =>
        db.ReadAsync(async (c, ct) =>
        {
            var last = await SingleAsync(c, ImportColumns + "WHERE status = 'finished' ORDER BY id DESC LIMIT 1", ReadImport, ct);
            var running = await SingleAsync(c, ImportColumns + "WHERE status = 'running' ORDER BY id DESC LIMIT 1", ReadImport, ct);
            var totals = (await SingleAsync(c, "SELECT COUNT(*), COUNT(withdrawn) FROM vulndb_records", r => new long[] { r.GetInt64(0), r.GetInt64(1) }, ct))!;
            var counts = (await ListAsync(c, "SELECT source, COUNT(*) FROM vulndb_records GROUP BY source", r => (Source: r.GetString(0), Count: r.GetInt64(1)), ct))
                .ToDictionary(x => x.Source, x => x.Count, StringComparer.Ordinal);
            var lastImports = (await ListAsync(c, ImportColumns + "WHERE id IN (SELECT MAX(id) FROM vulndb_imports GROUP BY source)", ReadImport, ct))
                .ToDictionary(i => i.Source, StringComparer.Ordinal);
            var sources = counts.Keys.Union(lastImports.Keys).Order(StringComparer.Ordinal)
                .Select(s => new AdvisorySourceStatus(s, counts.GetValueOrDefault(s), lastImports.GetValueOrDefault(s))).ToList();
            var ecosystems = await ListAsync(c,
                """
                SELECT p.ecosystem, COUNT(DISTINCT p.record_id) FROM vulndb_packages p JOIN vulndb_records r ON r.id = p.record_id
                WHERE r.withdrawn IS NULL GROUP BY p.ecosystem ORDER BY p.ecosystem
                """, r => new AdvisoryEcosystemCount(r.GetString(0), r.GetInt64(1)), ct);
            return new AdvisoryDatabaseStatus(last?.Id ?? 0, last?.FinishedAt, totals[0], totals[1], sources, ecosystems, running);
        }, cancellationToken);
}
