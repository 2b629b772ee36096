using System.Text.Json;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Signing;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// <see cref="ITrustStore"/> on SQLite: <c>trust_entries</c> (migration 12), deleted with their project by
/// <c>ON DELETE CASCADE</c>; server-wide entries have no project. Identities are stored as a JSON array of text.
/// </summary>
public sealed class SqliteTrustStore(SqliteDatabase db) : ITrustStore
{
    private const string EntryColumns =
        "SELECT t.id, p.name, t.name, t.kind, t.pem, t.identities, t.fingerprint, t.created_by, t.created_at FROM trust_entries t LEFT JOIN projects p ON p.id = t.project_id ";

    private static TrustEntry ReadEntry(SqliteDataReader r) =>
        new(r.GetInt64(0), r.IsDBNull(1) ? null : ProjectName.Parse(r.GetString(1)), r.GetString(2), Kind(r.GetString(3)), r.GetString(4),
            JsonSerializer.Deserialize(r.GetString(5), SqliteQuotaJson.Default.StringArray) ?? [], r.GetString(6), r.GetString(7), Time(r.GetInt64(8)));

    internal static TrustKind Kind(string word) => word switch
    {
        "key" => TrustKind.Key,
        "root" => TrustKind.Root,
        _ => throw new FormatException($"unknown trust kind '{word}'"),
    };

    internal static string Word(TrustKind kind) => kind == TrustKind.Root ? "root" : "key";

    public Task<TrustAddResult> AddAsync(TrustEntry entry, CancellationToken cancellationToken)
    {
        TrustChecks.Require(entry);
        var identities = JsonSerializer.Serialize(entry.Identities.ToArray(), SqliteQuotaJson.Default.StringArray);
        return db.WriteAsync((c, _) =>
        {
            long? projectId = null;
            if (entry.Project is { } project)
            {
                if (ProjectId(c, project) is not { } id)
                {
                    return (new TrustAddResult(TrustAddStatus.ProjectNotFound, null), false);
                }

                projectId = id;
            }

            var existing = Single(c.Command(EntryColumns + "WHERE IFNULL(t.project_id, 0) = IFNULL($project, 0) AND t.name = $name COLLATE NOCASE",
                ("$project", projectId), ("$name", entry.Name)), ReadEntry);
            if (existing is not null)
            {
                return (new TrustAddResult(TrustAddStatus.Exists, existing), false);
            }

            if (Scalar<long>(c.Command("SELECT COUNT(*) FROM trust_entries WHERE IFNULL(project_id, 0) = IFNULL($project, 0)", ("$project", projectId))) >= TrustLimits.MaxEntriesPerScope)
            {
                throw new InvalidOperationException($"The trust already has {TrustLimits.MaxEntriesPerScope} entries.");
            }

            var newId = Scalar<long>(c.Command(
                """
                INSERT INTO trust_entries (project_id, name, kind, pem, identities, fingerprint, created_by, created_at)
                VALUES ($project, $name, $kind, $pem, $identities, $fingerprint, $by, $at) RETURNING id
                """,
                ("$project", projectId), ("$name", entry.Name), ("$kind", Word(entry.Kind)), ("$pem", entry.Pem), ("$identities", identities),
                ("$fingerprint", entry.Fingerprint), ("$by", entry.CreatedBy), ("$at", entry.CreatedAt.ToUnixTimeMilliseconds())))!.Value;
            return (new TrustAddResult(TrustAddStatus.Added, Single(c.Command(EntryColumns + "WHERE t.id = $id", ("$id", newId)), ReadEntry)), true);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<TrustEntry>> ListAsync(ProjectName? project, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TrustEntry>>(db.Read(c => project is { } p
            ? List(c.Command(EntryColumns + "WHERE p.name = $project ORDER BY t.name COLLATE NOCASE, t.id", ("$project", Require(p))), ReadEntry)
            : List(c.Command(EntryColumns + "WHERE t.project_id IS NULL ORDER BY t.name COLLATE NOCASE, t.id"), ReadEntry)));

    public Task<IReadOnlyList<TrustEntry>> ListEffectiveAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return Task.FromResult<IReadOnlyList<TrustEntry>>(db.Read(c => List(c.Command(
            EntryColumns + "WHERE t.project_id IS NULL OR p.name = $project ORDER BY t.project_id IS NULL, t.name COLLATE NOCASE, t.id",
            ("$project", name)), ReadEntry)));
    }

    public Task<DeleteResult> RemoveAsync(ProjectName? project, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        var projectName = project is { } p ? Require(p) : null;
        return db.WriteAsync((c, _) =>
        {
            var n = projectName is null
                ? c.Command("DELETE FROM trust_entries WHERE project_id IS NULL AND name = $name COLLATE NOCASE", ("$name", name)).ExecuteNonQuery()
                : c.Command("DELETE FROM trust_entries WHERE project_id = (SELECT id FROM projects WHERE name = $project) AND name = $name COLLATE NOCASE",
                    ("$project", projectName), ("$name", name)).ExecuteNonQuery();
            return (n > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, n > 0);
        }, cancellationToken);
    }
}
