using System.Text.Json;
using Berth.Core.Scanning;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// <see cref="IAdvisoryStore"/> on SQLite: <c>vulndb_imports</c>, <c>vulndb_records</c> and <c>vulndb_packages</c>
/// (migration 10). Every write runs on the one writer, so begin's check for a running import and its insert cannot
/// interleave with another begin. Many-name lookups pass the names as one JSON array parameter (<c>json_each</c>), so
/// the statement text, and its prepared command, is the same whatever the count.
/// </summary>
public sealed class SqliteAdvisoryStore(SqliteDatabase db) : IAdvisoryStore
{
    private const string ImportColumns =
        "SELECT id, source, actor, status, started_at, updated_at, finished_at, added, updated, unchanged, withdrawn FROM vulndb_imports ";

    private static AdvisoryImport ReadImport(SqliteDataReader r)
    {
        var status = ScanWords.ImportStatus(r.GetString(3));
        return new AdvisoryImport(r.GetInt64(0), r.GetString(1), r.GetString(2), status, Time(r.GetInt64(4)), Time(r.GetInt64(5)), Time(r, 6),
            r.GetInt64(7), r.GetInt64(8), r.GetInt64(9), r.GetInt64(10), status == AdvisoryImportStatus.Finished ? r.GetInt64(0) : null);
    }

    private static AdvisoryImport? Import(SqliteDatabase.Connection c, long id) =>
        Single(c.Command(ImportColumns + "WHERE id = $id", ("$id", id)), ReadImport);

    public Task<AdvisoryImportStart> BeginImportAsync(string source, string actor, DateTimeOffset now, TimeSpan staleAfter, CancellationToken cancellationToken)
    {
        ScanStoreChecks.RequireSource(source);
        ArgumentNullException.ThrowIfNull(actor);
        var at = now.ToUnixTimeMilliseconds();
        var staleBefore = (now - staleAfter).ToUnixTimeMilliseconds();
        return db.WriteAsync((c, _) =>
        {
            var running = Single(c.Command(ImportColumns + "WHERE status = 'running' ORDER BY id DESC LIMIT 1"), ReadImport);
            if (running is not null && running.UpdatedAt.ToUnixTimeMilliseconds() > staleBefore)
            {
                return (new AdvisoryImportStart(AdvisoryImportStartStatus.Busy, running), false);
            }

            c.Command("UPDATE vulndb_imports SET status = 'abandoned' WHERE status = 'running'").ExecuteNonQuery();
            var id = Scalar<long>(c.Command(
                "INSERT INTO vulndb_imports (source, actor, status, started_at, updated_at) VALUES ($source, $actor, 'running', $at, $at) RETURNING id",
                ("$source", source), ("$actor", actor), ("$at", at)))!.Value;
            return (new AdvisoryImportStart(AdvisoryImportStartStatus.Started, Import(c, id)!), true);
        }, cancellationToken);
    }

    public Task<AdvisoryImportStep> AddBatchAsync(long importId, IReadOnlyList<AdvisoryRecord> records, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        foreach (var record in records)
        {
            ScanStoreChecks.RequireRecord(record);
        }

        var at = now.ToUnixTimeMilliseconds();
        return db.WriteAsync((c, _) =>
        {
            var import = Import(c, importId);
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
                var stored = Single(c.Command("SELECT modified, body FROM vulndb_records WHERE id = $id", ("$id", record.Id)), r => new Stored(r.GetInt64(0), r.GetString(1)));
                if (stored is not null && (stored.Modified > modified || (stored.Modified == modified && stored.Body == record.Json)))
                {
                    unchanged++;
                    continue;
                }

                c.Command(
                    """
                    INSERT INTO vulndb_records (id, modified, withdrawn, source, import_id, body) VALUES ($id, $modified, $withdrawn, $source, $import, $body)
                    ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, withdrawn = excluded.withdrawn, source = excluded.source,
                        import_id = excluded.import_id, body = excluded.body
                    """,
                    ("$id", record.Id), ("$modified", modified), ("$withdrawn", record.Withdrawn?.ToUnixTimeMilliseconds()), ("$source", import.Source),
                    ("$import", importId), ("$body", record.Json)).ExecuteNonQuery();
                c.Command("DELETE FROM vulndb_packages WHERE record_id = $id", ("$id", record.Id)).ExecuteNonQuery();
                foreach (var package in record.Packages)
                {
                    c.Command(
                        "INSERT OR IGNORE INTO vulndb_packages (ecosystem, lookup_name, record_id, name) VALUES ($ecosystem, $lookup, $id, $name)",
                        ("$ecosystem", package.Ecosystem), ("$lookup", AdvisoryNames.Lookup(package.Ecosystem, package.Name)), ("$id", record.Id),
                        ("$name", package.Name)).ExecuteNonQuery();
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

            c.Command(
                """
                UPDATE vulndb_imports SET added = added + $added, updated = updated + $updated, unchanged = unchanged + $unchanged,
                    withdrawn = withdrawn + $withdrawn, updated_at = $at WHERE id = $id
                """,
                ("$added", added), ("$updated", updated), ("$unchanged", unchanged), ("$withdrawn", withdrawn), ("$at", at), ("$id", importId)).ExecuteNonQuery();
            return (new AdvisoryImportStep(AdvisoryImportStepStatus.Done, Import(c, importId)), true);
        }, cancellationToken);
    }

    public Task<AdvisoryImportStep> FinishImportAsync(long importId, DateTimeOffset now, CancellationToken cancellationToken) =>
        db.WriteAsync((c, _) =>
        {
            var import = Import(c, importId);
            if (import is null)
            {
                return (new AdvisoryImportStep(AdvisoryImportStepStatus.NotFound, null), false);
            }

            if (import.Status != AdvisoryImportStatus.Running)
            {
                return (new AdvisoryImportStep(AdvisoryImportStepStatus.NotRunning, import), false);
            }

            var at = now.ToUnixTimeMilliseconds();
            c.Command("UPDATE vulndb_imports SET status = 'finished', finished_at = $at, updated_at = $at WHERE id = $id", ("$at", at), ("$id", importId)).ExecuteNonQuery();
            return (new AdvisoryImportStep(AdvisoryImportStepStatus.Done, Import(c, importId)), true);
        }, cancellationToken);

    public Task<AdvisoryImport?> GetImportAsync(long importId, CancellationToken cancellationToken) =>
        Task.FromResult(db.Read(c => Import(c, importId)));

    public Task<IReadOnlyList<AdvisoryHit>> FindAsync(string ecosystem, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ecosystem);
        ArgumentNullException.ThrowIfNull(name);
        var lookup = AdvisoryNames.Lookup(ecosystem, name);
        return Task.FromResult<IReadOnlyList<AdvisoryHit>>(db.Read(c => List(c.Command(
            """
            SELECT DISTINCT p.lookup_name, r.id, r.body FROM vulndb_packages p JOIN vulndb_records r ON r.id = p.record_id
            WHERE p.ecosystem = $ecosystem AND p.lookup_name = $lookup AND r.withdrawn IS NULL ORDER BY r.id
            """, ("$ecosystem", ecosystem), ("$lookup", lookup)), ReadHit)));
    }

    public Task<IReadOnlyList<AdvisoryHit>> FindManyAsync(string ecosystem, IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ecosystem);
        ArgumentNullException.ThrowIfNull(names);
        var lookups = names.Select(n => AdvisoryNames.Lookup(ecosystem, n)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var hits = new List<AdvisoryHit>();
        foreach (var chunk in lookups.Chunk(AdvisoryLimits.NamesPerQuery))
        {
            cancellationToken.ThrowIfCancellationRequested();
            hits.AddRange(db.Read(c => List(c.Command(
                """
                SELECT DISTINCT p.lookup_name, r.id, r.body FROM vulndb_packages p JOIN vulndb_records r ON r.id = p.record_id
                WHERE p.ecosystem = $ecosystem AND p.lookup_name IN (SELECT value FROM json_each($names)) AND r.withdrawn IS NULL
                ORDER BY p.lookup_name, r.id
                """, ("$ecosystem", ecosystem), ("$names", JsonSerializer.Serialize(chunk, SqliteQuotaJson.Default.StringArray))), ReadHit)));
        }

        return Task.FromResult<IReadOnlyList<AdvisoryHit>>(hits);
    }

    private static AdvisoryHit ReadHit(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2));

    public Task<AdvisoryRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return Task.FromResult(db.Read(c =>
        {
            var packages = List(c.Command("SELECT ecosystem, name FROM vulndb_packages WHERE record_id = $id ORDER BY ecosystem, name", ("$id", id)),
                r => new AdvisoryPackage(r.GetString(0), r.GetString(1)));
            return Single(c.Command("SELECT id, modified, withdrawn, body FROM vulndb_records WHERE id = $id", ("$id", id)),
                r => new AdvisoryRecord(r.GetString(0), Time(r.GetInt64(1)), Time(r, 2), r.GetString(3), packages));
        }));
    }

    public Task<AdvisoryDatabaseStatus> GetStatusAsync(CancellationToken cancellationToken) =>
        Task.FromResult(db.Read(c =>
        {
            var last = Single(c.Command(ImportColumns + "WHERE status = 'finished' ORDER BY id DESC LIMIT 1"), ReadImport);
            var running = Single(c.Command(ImportColumns + "WHERE status = 'running' ORDER BY id DESC LIMIT 1"), ReadImport);
            var totals = Single(c.Command("SELECT COUNT(*), COUNT(withdrawn) FROM vulndb_records"), r => new long[] { r.GetInt64(0), r.GetInt64(1) })!;
            var counts = List(c.Command("SELECT source, COUNT(*) FROM vulndb_records GROUP BY source"), r => (Source: r.GetString(0), Count: r.GetInt64(1)))
                .ToDictionary(x => x.Source, x => x.Count, StringComparer.Ordinal);
            var lastImports = List(c.Command(ImportColumns + "WHERE id IN (SELECT MAX(id) FROM vulndb_imports GROUP BY source)"), ReadImport)
                .ToDictionary(i => i.Source, StringComparer.Ordinal);
            var sources = counts.Keys.Union(lastImports.Keys).Order(StringComparer.Ordinal)
                .Select(s => new AdvisorySourceStatus(s, counts.GetValueOrDefault(s), lastImports.GetValueOrDefault(s))).ToList();
            var ecosystems = List(c.Command(
                """
                SELECT p.ecosystem, COUNT(DISTINCT p.record_id) FROM vulndb_packages p JOIN vulndb_records r ON r.id = p.record_id
                WHERE r.withdrawn IS NULL GROUP BY p.ecosystem ORDER BY p.ecosystem
                """), r => new AdvisoryEcosystemCount(r.GetString(0), r.GetInt64(1)));
            return new AdvisoryDatabaseStatus(last?.Id ?? 0, last?.FinishedAt, totals[0], totals[1], sources, ecosystems, running);
        }));

    private sealed record Stored(long Modified, string Body);
}
