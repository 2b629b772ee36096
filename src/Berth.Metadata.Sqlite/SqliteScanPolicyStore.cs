using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Scanning;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// <see cref="IScanPolicyStore"/> on SQLite: <c>scan_policies</c> (migration 10; <c>signed_only</c> from migration 12) and <c>cve_allowlist</c> (migration 10), deleted with
/// their project by <c>ON DELETE CASCADE</c>; server-wide entries have no project.
/// </summary>
public sealed class SqliteScanPolicyStore(SqliteDatabase db) : IScanPolicyStore
{
    private const string EntryColumns =
        "SELECT a.id, p.name, a.cve_id, a.reason, a.expires_at, a.created_by, a.created_at FROM cve_allowlist a LEFT JOIN projects p ON p.id = a.project_id ";

    private static CveAllowEntry ReadEntry(SqliteDataReader r) =>
        new(r.GetInt64(0), r.IsDBNull(1) ? null : ProjectName.Parse(r.GetString(1)), r.GetString(2), r.GetString(3), Time(r, 4), r.GetString(5), Time(r.GetInt64(6)));

    public Task<ScanPolicy?> GetPolicyAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return Task.FromResult(db.Read(c => Single(c.Command(
            """
            SELECT s.project_id, s.scan_on_push, s.block_severity, s.block_unscanned, s.sbom_on_push, s.updated_at, s.signed_only
            FROM projects p LEFT JOIN scan_policies s ON s.project_id = p.id WHERE p.name = $project
            """, ("$project", name)),
            r => r.IsDBNull(0) ? ScanPolicy.Default : new ScanPolicy(r.GetInt64(1) == 1, Severity(Text(r, 2)), r.GetInt64(3) == 1, r.GetInt64(4) == 1, Time(r.GetInt64(5)), r.GetInt64(6) == 1))));
    }

    internal static BlockSeverity Severity(string? word) =>
        ScanWords.TryParseBlockSeverity(word, out var severity) ? severity : throw new FormatException($"unknown block severity '{word}'");

    public Task<bool> SetPolicyAsync(ProjectName project, ScanPolicy policy, CancellationToken cancellationToken)
    {
        Require(project);
        ArgumentNullException.ThrowIfNull(policy);
        return db.WriteAsync((c, _) =>
        {
            if (ProjectId(c, project) is not { } id)
            {
                return (false, false);
            }

            c.Command(
                """
                INSERT INTO scan_policies (project_id, scan_on_push, block_severity, block_unscanned, sbom_on_push, updated_at, signed_only)
                VALUES ($id, $scan, $block, $unscanned, $sbom, $at, $signed)
                ON CONFLICT (project_id) DO UPDATE SET scan_on_push = excluded.scan_on_push, block_severity = excluded.block_severity,
                    block_unscanned = excluded.block_unscanned, sbom_on_push = excluded.sbom_on_push, updated_at = excluded.updated_at,
                    signed_only = excluded.signed_only
                """,
                ("$id", id), ("$scan", policy.ScanOnPush ? 1 : 0), ("$block", ScanWords.Of(policy.BlockSeverity)), ("$unscanned", policy.BlockUnscanned ? 1 : 0),
                ("$sbom", policy.SbomOnPush ? 1 : 0), ("$at", (policy.UpdatedAt ?? DateTimeOffset.UnixEpoch).ToUnixTimeMilliseconds()), ("$signed", policy.SignedOnly ? 1 : 0)).ExecuteNonQuery();
            return (true, true);
        }, cancellationToken);
    }

    public Task<CveAllowAddResult> AddAllowAsync(CveAllowEntry entry, CancellationToken cancellationToken)
    {
        CveAllowChecks.Require(entry);
        return db.WriteAsync((c, _) =>
        {
            long? projectId = null;
            if (entry.Project is { } project)
            {
                if (ProjectId(c, project) is not { } id)
                {
                    return (new CveAllowAddResult(CveAllowAddStatus.ProjectNotFound, null), false);
                }

                projectId = id;
            }

            var existing = Single(c.Command(EntryColumns + "WHERE IFNULL(a.project_id, 0) = IFNULL($project, 0) AND a.cve_id = $cve COLLATE NOCASE",
                ("$project", projectId), ("$cve", entry.VulnerabilityId)), ReadEntry);
            if (existing is not null)
            {
                return (new CveAllowAddResult(CveAllowAddStatus.Exists, existing), false);
            }

            if (Scalar<long>(c.Command("SELECT COUNT(*) FROM cve_allowlist WHERE IFNULL(project_id, 0) = IFNULL($project, 0)", ("$project", projectId))) >= CveAllowLimits.MaxEntriesPerScope)
            {
                throw new InvalidOperationException($"The allowlist already has {CveAllowLimits.MaxEntriesPerScope} entries.");
            }

            var newId = Scalar<long>(c.Command(
                """
                INSERT INTO cve_allowlist (project_id, cve_id, reason, expires_at, created_by, created_at)
                VALUES ($project, $cve, $reason, $expires, $by, $at) RETURNING id
                """,
                ("$project", projectId), ("$cve", entry.VulnerabilityId), ("$reason", entry.Reason), ("$expires", entry.ExpiresAt?.ToUnixTimeMilliseconds()),
                ("$by", entry.CreatedBy), ("$at", entry.CreatedAt.ToUnixTimeMilliseconds())))!.Value;
            return (new CveAllowAddResult(CveAllowAddStatus.Added, Single(c.Command(EntryColumns + "WHERE a.id = $id", ("$id", newId)), ReadEntry)), true);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<CveAllowEntry>> ListAllowAsync(ProjectName? project, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<CveAllowEntry>>(db.Read(c => project is { } p
            ? List(c.Command(EntryColumns + "WHERE p.name = $project ORDER BY a.id", ("$project", Require(p))), ReadEntry)
            : List(c.Command(EntryColumns + "WHERE a.project_id IS NULL ORDER BY a.id"), ReadEntry)));

    public Task<IReadOnlyList<CveAllowEntry>> ListEffectiveAllowAsync(ProjectName project, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return Task.FromResult<IReadOnlyList<CveAllowEntry>>(db.Read(c => List(c.Command(
            EntryColumns + "WHERE (a.project_id IS NULL OR p.name = $project) AND (a.expires_at IS NULL OR a.expires_at > $now) ORDER BY a.id",
            ("$project", name), ("$now", now.ToUnixTimeMilliseconds())), ReadEntry)));
    }

    public Task<DeleteResult> RemoveAllowAsync(ProjectName? project, string vulnerabilityId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vulnerabilityId);
        var name = project is { } p ? Require(p) : null;
        return db.WriteAsync((c, _) =>
        {
            var n = name is null
                ? c.Command("DELETE FROM cve_allowlist WHERE project_id IS NULL AND cve_id = $cve COLLATE NOCASE", ("$cve", vulnerabilityId)).ExecuteNonQuery()
                : c.Command("DELETE FROM cve_allowlist WHERE project_id = (SELECT id FROM projects WHERE name = $project) AND cve_id = $cve COLLATE NOCASE",
                    ("$project", name), ("$cve", vulnerabilityId)).ExecuteNonQuery();
            return (n > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, n > 0);
        }, cancellationToken);
    }
}
