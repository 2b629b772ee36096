using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Scanning;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IScanPolicyStore"/> on PostgreSQL: <c>scan_policies</c> (migration 7; <c>signed_only</c> from migration 9) and <c>cve_allowlist</c> (migration 7), as
/// <c>SqliteScanPolicyStore</c>. Adding an entry checks and inserts in one SERIALIZABLE transaction (retried); the unique
/// index on (scope, lower(id)) is the last word when two adds race.
/// </summary>
public sealed class PostgresScanPolicyStore(PostgresDatabase db) : IScanPolicyStore
{
    private const string EntryColumns =
        "SELECT a.id, p.name, a.cve_id, a.reason, a.expires_at, a.created_by, a.created_at FROM cve_allowlist a LEFT JOIN projects p ON p.id = a.project_id ";

    private static CveAllowEntry ReadEntry(NpgsqlDataReader r) =>
        new(r.GetInt64(0), r.IsDBNull(1) ? null : ProjectName.Parse(r.GetString(1)), r.GetString(2), r.GetString(3), Time(r, 4), r.GetString(5), Time(r.GetInt64(6)));

    public Task<ScanPolicy?> GetPolicyAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return db.ReadAsync((c, ct) => SingleAsync(c,
            """
            SELECT s.project_id, s.scan_on_push, s.block_severity, s.block_unscanned, s.sbom_on_push, s.updated_at, s.signed_only
            FROM projects p LEFT JOIN scan_policies s ON s.project_id = p.id WHERE p.name = @project
            """,
            r => r.IsDBNull(0) ? ScanPolicy.Default : new ScanPolicy(r.GetBoolean(1), Severity(Text(r, 2)), r.GetBoolean(3), r.GetBoolean(4), Time(r.GetInt64(5)), r.GetBoolean(6)),
            ct, ("project", name)), cancellationToken);
    }

    private static BlockSeverity Severity(string? word) =>
        ScanWords.TryParseBlockSeverity(word, out var severity) ? severity : throw new FormatException($"unknown block severity '{word}'");

    public async Task<bool> SetPolicyAsync(ProjectName project, ScanPolicy policy, CancellationToken cancellationToken)
    {
        var name = Require(project);
        ArgumentNullException.ThrowIfNull(policy);
        await using var connection = await db.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO scan_policies (project_id, scan_on_push, block_severity, block_unscanned, sbom_on_push, updated_at, signed_only)
            SELECT id, @scan, @block, @unscanned, @sbom, @at, @signed FROM projects WHERE name = @project
            ON CONFLICT (project_id) DO UPDATE SET scan_on_push = excluded.scan_on_push, block_severity = excluded.block_severity,
                block_unscanned = excluded.block_unscanned, sbom_on_push = excluded.sbom_on_push, updated_at = excluded.updated_at,
                signed_only = excluded.signed_only
            """, connection);
        command.Parameters.AddWithValue("project", name);
        command.Parameters.AddWithValue("scan", policy.ScanOnPush);
        command.Parameters.Add(new NpgsqlParameter("block", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)ScanWords.Of(policy.BlockSeverity) ?? DBNull.Value });
        command.Parameters.AddWithValue("unscanned", policy.BlockUnscanned);
        command.Parameters.AddWithValue("sbom", policy.SbomOnPush);
        command.Parameters.AddWithValue("at", (policy.UpdatedAt ?? DateTimeOffset.UnixEpoch).ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("signed", policy.SignedOnly);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<CveAllowAddResult> AddAllowAsync(CveAllowEntry entry, CancellationToken cancellationToken)
    {
        CveAllowChecks.Require(entry);
        RequireStorable(entry.CreatedBy, nameof(entry));
        try
        {
            return await db.WriteAsync(async (c, _, ct) =>
            {
                long? projectId = null;
                if (entry.Project is { } project)
                {
                    if (await ProjectIdAsync(c, project, ct) is not { } id)
                    {
                        return (new CveAllowAddResult(CveAllowAddStatus.ProjectNotFound, null), false);
                    }

                    projectId = id;
                }

                var existing = await FindAsync(c, projectId, entry.VulnerabilityId, ct);
                if (existing is not null)
                {
                    return (new CveAllowAddResult(CveAllowAddStatus.Exists, existing), false);
                }

                var count = await ScalarAsync<long>(c, "SELECT COUNT(*) FROM cve_allowlist WHERE COALESCE(project_id, 0) = COALESCE(@project::bigint, 0)", ct, ("project", projectId));
                if (count >= CveAllowLimits.MaxEntriesPerScope)
                {
                    throw new InvalidOperationException($"The allowlist already has {CveAllowLimits.MaxEntriesPerScope} entries.");
                }

                var newId = (await ScalarAsync<long>(c,
                    """
                    INSERT INTO cve_allowlist (project_id, cve_id, reason, expires_at, created_by, created_at)
                    VALUES (@project::bigint, @cve, @reason, @expires::bigint, @by, @at) RETURNING id
                    """,
                    ct, ("project", projectId), ("cve", entry.VulnerabilityId), ("reason", entry.Reason), ("expires", entry.ExpiresAt?.ToUnixTimeMilliseconds()),
                    ("by", entry.CreatedBy), ("at", entry.CreatedAt.ToUnixTimeMilliseconds())))!.Value;
                return (new CveAllowAddResult(CveAllowAddStatus.Added, await SingleAsync(c, EntryColumns + "WHERE a.id = @id", ReadEntry, ct, ("id", newId))), true);
            }, cancellationToken);
        }
        catch (PostgresException ex) when (PostgresDatabase.IsUniqueViolation(ex))
        {
            // A racing add of the same id won (it committed between our check and insert).
            var existing = await db.ReadAsync(async (c, ct) =>
            {
                var projectId = entry.Project is { } p ? await ProjectIdAsync(c, p, ct) : null;
                return await FindAsync(c, projectId, entry.VulnerabilityId, ct);
            }, cancellationToken);
            return new CveAllowAddResult(CveAllowAddStatus.Exists, existing);
        }
    }

    private static Task<CveAllowEntry?> FindAsync(NpgsqlConnection c, long? projectId, string id, CancellationToken ct) =>
        SingleAsync(c, EntryColumns + "WHERE COALESCE(a.project_id, 0) = COALESCE(@project::bigint, 0) AND lower(a.cve_id COLLATE \"C\") = lower(@cve COLLATE \"C\")",
            ReadEntry, ct, ("project", projectId), ("cve", id));

    public Task<IReadOnlyList<CveAllowEntry>> ListAllowAsync(ProjectName? project, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<CveAllowEntry>>(async (c, ct) => project is { } p
            ? await ListAsync(c, EntryColumns + "WHERE p.name = @project ORDER BY a.id", ReadEntry, ct, ("project", Require(p)))
            : await ListAsync(c, EntryColumns + "WHERE a.project_id IS NULL ORDER BY a.id", ReadEntry, ct), cancellationToken);

    public Task<IReadOnlyList<CveAllowEntry>> ListEffectiveAllowAsync(ProjectName project, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return db.ReadAsync<IReadOnlyList<CveAllowEntry>>(async (c, ct) => await ListAsync(c,
            EntryColumns + "WHERE (a.project_id IS NULL OR p.name = @project) AND (a.expires_at IS NULL OR a.expires_at > @now) ORDER BY a.id",
            ReadEntry, ct, ("project", name), ("now", now.ToUnixTimeMilliseconds())), cancellationToken);
    }

    public async Task<DeleteResult> RemoveAllowAsync(ProjectName? project, string vulnerabilityId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vulnerabilityId);
        if (vulnerabilityId.Contains('\0', StringComparison.Ordinal))
        {
            return DeleteResult.NotFound;
        }

        var n = project is { } p
            ? await ExecuteAsync(db, "DELETE FROM cve_allowlist WHERE project_id = (SELECT id FROM projects WHERE name = @project) AND lower(cve_id COLLATE \"C\") = lower(@cve COLLATE \"C\")",
                cancellationToken, ("project", Require(p)), ("cve", vulnerabilityId))
            : await ExecuteAsync(db, "DELETE FROM cve_allowlist WHERE project_id IS NULL AND lower(cve_id COLLATE \"C\") = lower(@cve COLLATE \"C\")",
                cancellationToken, ("cve", vulnerabilityId));
        return n > 0 ? DeleteResult.Deleted : DeleteResult.NotFound;
    }
}
