using System.Text.Json;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Signing;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="ITrustStore"/> on PostgreSQL: <c>trust_entries</c> (migration 9), as <c>SqliteTrustStore</c>. Adding an
/// entry checks and inserts in one SERIALIZABLE transaction (retried); the unique index on (scope, lower(name)) is the
/// last word when two adds race.
/// </summary>
public sealed class PostgresTrustStore(PostgresDatabase db) : ITrustStore
{
    private const string EntryColumns =
        "SELECT t.id, p.name, t.name, t.kind, t.pem, t.identities, t.fingerprint, t.created_by, t.created_at FROM trust_entries t LEFT JOIN projects p ON p.id = t.project_id ";

    private const string ByName = "lower(t.name COLLATE \"C\"), t.id";

    private static TrustEntry ReadEntry(NpgsqlDataReader r) =>
        new(r.GetInt64(0), r.IsDBNull(1) ? null : ProjectName.Parse(r.GetString(1)), r.GetString(2), Kind(r.GetString(3)), r.GetString(4),
            JsonSerializer.Deserialize<string[]>(r.GetString(5)) ?? [], r.GetString(6), r.GetString(7), Time(r.GetInt64(8)));

    private static TrustKind Kind(string word) => word switch
    {
        "key" => TrustKind.Key,
        "root" => TrustKind.Root,
        _ => throw new FormatException($"unknown trust kind '{word}'"),
    };

    public async Task<TrustAddResult> AddAsync(TrustEntry entry, CancellationToken cancellationToken)
    {
        TrustChecks.Require(entry);
        var identities = JsonSerializer.Serialize(entry.Identities.ToArray());
        try
        {
            return await db.WriteAsync(async (c, _, ct) =>
            {
                long? projectId = null;
                if (entry.Project is { } project)
                {
                    if (await ProjectIdAsync(c, project, ct) is not { } id)
                    {
                        return (new TrustAddResult(TrustAddStatus.ProjectNotFound, null), false);
                    }

                    projectId = id;
                }

                var existing = await FindAsync(c, projectId, entry.Name, ct);
                if (existing is not null)
                {
                    return (new TrustAddResult(TrustAddStatus.Exists, existing), false);
                }

                var count = await ScalarAsync<long>(c, "SELECT COUNT(*) FROM trust_entries WHERE COALESCE(project_id, 0) = COALESCE(@project::bigint, 0)", ct, ("project", projectId));
                if (count >= TrustLimits.MaxEntriesPerScope)
                {
                    throw new InvalidOperationException($"The trust already has {TrustLimits.MaxEntriesPerScope} entries.");
                }

                var newId = (await ScalarAsync<long>(c,
                    """
                    INSERT INTO trust_entries (project_id, name, kind, pem, identities, fingerprint, created_by, created_at)
                    VALUES (@project::bigint, @name, @kind, @pem, @identities, @fingerprint, @by, @at) RETURNING id
                    """,
                    ct, ("project", projectId), ("name", entry.Name), ("kind", entry.Kind == TrustKind.Root ? "root" : "key"), ("pem", entry.Pem),
                    ("identities", identities), ("fingerprint", entry.Fingerprint), ("by", entry.CreatedBy), ("at", entry.CreatedAt.ToUnixTimeMilliseconds())))!.Value;
                return (new TrustAddResult(TrustAddStatus.Added, await SingleAsync(c, EntryColumns + "WHERE t.id = @id", ReadEntry, ct, ("id", newId))), true);
            }, cancellationToken);
        }
        catch (PostgresException ex) when (PostgresDatabase.IsUniqueViolation(ex))
        {
            // A racing add of the same name won (it committed between our check and insert).
            var existing = await db.ReadAsync(async (c, ct) =>
            {
                var projectId = entry.Project is { } p ? await ProjectIdAsync(c, p, ct) : null;
                return await FindAsync(c, projectId, entry.Name, ct);
            }, cancellationToken);
            return new TrustAddResult(TrustAddStatus.Exists, existing);
        }
    }

    private static Task<TrustEntry?> FindAsync(NpgsqlConnection c, long? projectId, string name, CancellationToken ct) =>
        SingleAsync(c, EntryColumns + "WHERE COALESCE(t.project_id, 0) = COALESCE(@project::bigint, 0) AND lower(t.name COLLATE \"C\") = lower(@name COLLATE \"C\")",
            ReadEntry, ct, ("project", projectId), ("name", name));

    public Task<IReadOnlyList<TrustEntry>> ListAsync(ProjectName? project, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<TrustEntry>>(async (c, ct) => project is { } p
            ? await PostgresAccess.ListAsync(c, EntryColumns + "WHERE p.name = @project ORDER BY " + ByName, ReadEntry, ct, ("project", Require(p)))
            : await PostgresAccess.ListAsync(c, EntryColumns + "WHERE t.project_id IS NULL ORDER BY " + ByName, ReadEntry, ct), cancellationToken);

    public Task<IReadOnlyList<TrustEntry>> ListEffectiveAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return db.ReadAsync<IReadOnlyList<TrustEntry>>(async (c, ct) => await PostgresAccess.ListAsync(c,
            EntryColumns + "WHERE t.project_id IS NULL OR p.name = @project ORDER BY t.project_id IS NULL, " + ByName,
            ReadEntry, ct, ("project", name)), cancellationToken);
    }

    public async Task<DeleteResult> RemoveAsync(ProjectName? project, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            return DeleteResult.NotFound;
        }

        var n = project is { } p
            ? await ExecuteAsync(db, "DELETE FROM trust_entries WHERE project_id = (SELECT id FROM projects WHERE name = @project) AND lower(name COLLATE \"C\") = lower(@name COLLATE \"C\")",
                cancellationToken, ("project", Require(p)), ("name", name))
            : await ExecuteAsync(db, "DELETE FROM trust_entries WHERE project_id IS NULL AND lower(name COLLATE \"C\") = lower(@name COLLATE \"C\")",
                cancellationToken, ("name", name));
        return n > 0 ? DeleteResult.Deleted : DeleteResult.NotFound;
    }
}
