using Berth.Core.Access;
using Berth.Oci;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;
using static Berth.Core.Access.AccessWords;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IProjectStore"/> on PostgreSQL: the <c>projects</c> table; a delete removes what the project held
/// (repositories, members, robots, rules) and takes it out of access tokens' project lists in one SERIALIZABLE
/// transaction, so a push racing it on another node either commits first (and is deleted with it) or fails its own
/// project check. See <see cref="PostgresAccess"/> for how values are stored.
/// </summary>
public sealed class PostgresProjectStore : IProjectStore
{
    private readonly PostgresDatabase _db;
    private readonly TimeProvider _clock;

    public PostgresProjectStore(PostgresDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The store's current time, truncated to what the database keeps (milliseconds).</summary>
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private const string ProjectColumns = "SELECT name, description, visibility, created_at FROM projects ";

    private static Project ReadProject(NpgsqlDataReader r) =>
        new(ProjectName.Parse(r.GetString(0)), r.GetString(1), ParseVisibility(r.GetString(2)), Time(r.GetInt64(3)));

    Task<ProjectCreateResult> IProjectStore.CreateAsync(ProjectName name, string description, ProjectVisibility visibility, CancellationToken cancellationToken)
    {
        var value = Require(name);
        ArgumentNullException.ThrowIfNull(description);
        RequireStorable(description, nameof(description));
        var word = Word(visibility);
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var now = Now;
            var id = await ScalarAsync<long>(c,
                "INSERT INTO projects (name, description, visibility, created_at) VALUES (@name, @description, @visibility, @now) ON CONFLICT DO NOTHING RETURNING id",
                ct, ("name", value), ("description", description), ("visibility", word), ("now", now));
            return id is null
                ? (new ProjectCreateResult(ProjectCreateStatus.Duplicate), false)
                : (new ProjectCreateResult(ProjectCreateStatus.Created, new Project(name, description, visibility, Time(now))), true);
        }, cancellationToken);
    }

    Task<Project?> IProjectStore.GetAsync(ProjectName name, CancellationToken cancellationToken)
    {
        var value = Require(name);
        return _db.ReadAsync((c, ct) => SingleAsync(c, ProjectColumns + "WHERE name = @name", ReadProject, ct, ("name", value)), cancellationToken);
    }

    Task<Page<Project>> IProjectStore.ListAsync(ProjectName? after, int limit, CancellationToken cancellationToken)
    {
        limit = PageSize.Clamp(limit);
        var from = after is { } a ? Require(a) : string.Empty;

        // name is COLLATE "C": ordinal order, as SQLite's BINARY.
        return _db.ReadAsync((c, ct) => PageAsync(c, ProjectColumns + "WHERE name > @after ORDER BY name LIMIT @limit",
            limit, ReadProject, ct, ("after", from), ("limit", limit + 1)), cancellationToken);
    }

    Task<UpdateResult> IProjectStore.UpdateAsync(ProjectName name, ProjectChanges changes, CancellationToken cancellationToken)
    {
        var value = Require(name);
        ArgumentNullException.ThrowIfNull(changes);
        RequireStorable(changes.Description, nameof(changes));
        var visibility = changes.Visibility is { } v ? Word(v) : null;
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var updated = await NonQueryAsync(c,
                "UPDATE projects SET description = COALESCE(@description::text, description), visibility = COALESCE(@visibility::text, visibility) WHERE name = @name",
                ct, ("name", value), ("description", changes.Description), ("visibility", visibility));
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);
    }

    Task<ProjectDeleteResult> IProjectStore.DeleteAsync(ProjectName name, bool force, CancellationToken cancellationToken)
    {
        var value = Require(name);
        return _db.WriteAsync(async (c, _, ct) =>
        {
            // The delete reads every repository of the project and pushes write them: under SERIALIZABLE, each push that
            // commits while the delete runs can abort it, and with a few pushers running the delete lost every retry (a
            // 500). So it first waits for the registry writes in flight and holds new ones back until it commits (a few
            // milliseconds; reads go on): SHARE ROW EXCLUSIVE conflicts with the ROW EXCLUSIVE every insert, update and
            // delete takes. The lock is the transaction's first statement, so its snapshot is taken after the wait and
            // no write it waited for can conflict with it. Pushes take repositories first; locking it first too keeps
            // the order the same and deadlocks away. Pushes held back then see the project gone on their retry.
            await NonQueryAsync(c, LockRegistryTables, ct);
            var id = await ProjectIdAsync(c, name, ct);
            if (id is null)
            {
                return (new ProjectDeleteResult(ProjectDeleteStatus.NotFound), false);
            }

            // The project's repositories are "name" and "name/...": a range on the unique index of repositories.name
            // (COLLATE "C"; '0' is the character after '/'), not LIKE, whose '_' would be a wildcard. Upload sessions
            // name their repository as text (one may exist before its repository does) in a column of the database's
            // collation, so they are matched by prefix (starts_with compares code points, whatever the locale).
            (string, object?)[] range = [("name", value), ("low", value + "/"), ("high", value + "0")];
            const string InProject = "(name = @name OR (name > @low AND name < @high))";
            const string RepositoryIds = "SELECT id FROM repositories WHERE " + InProject;
            var repositories = await ListAsync(c, "SELECT name FROM repositories WHERE " + InProject + " ORDER BY name",
                r => RepositoryName.Parse(r.GetString(0)), ct, range);
            if (!force && repositories.Count > 0)
            {
                return (new ProjectDeleteResult(ProjectDeleteStatus.HasRepositories), false);
            }

            // Registry content first (these tables reference repositories without cascades); blobs stay for collection.
            var tags = await NonQueryAsync(c, $"DELETE FROM tags WHERE repository_id IN ({RepositoryIds})", ct, range);
            await NonQueryAsync(c, $"DELETE FROM manifest_references WHERE repository_id IN ({RepositoryIds})", ct, range);
            var manifests = await NonQueryAsync(c, $"DELETE FROM manifests WHERE repository_id IN ({RepositoryIds})", ct, range);
            var links = await NonQueryAsync(c, $"DELETE FROM repository_blobs WHERE repository_id IN ({RepositoryIds})", ct, range);
            await NonQueryAsync(c, "DELETE FROM repositories WHERE " + InProject, ct, range);
            var uploads = await ListAsync(c, "DELETE FROM uploads WHERE repository = @name OR starts_with(repository, @low) RETURNING id",
                r => r.GetString(0), ct, ("name", value), ("low", value + "/"));

            // Memberships, robot accounts (and through them their tokens) and IP rules go by ON DELETE CASCADE.
            var members = (int)(await ScalarAsync<long>(c, "SELECT COUNT(*) FROM project_members WHERE project_id = @id", ct, ("id", id.Value)))!.Value;
            var robots = (int)(await ScalarAsync<long>(c, "SELECT COUNT(*) FROM robot_accounts WHERE project_id = @id", ct, ("id", id.Value)))!.Value;
            var rules = (int)(await ScalarAsync<long>(c, "SELECT COUNT(*) FROM ip_allow_rules WHERE project_id = @id", ct, ("id", id.Value)))!.Value;
            await NonQueryAsync(c, "DELETE FROM projects WHERE id = @id", ct, ("id", id.Value));

            var (narrowed, revoked) = await RemoveFromTokenProjectListsAsync(c, value, ct);
            uploads.Sort(StringComparer.Ordinal);
            return (new ProjectDeleteResult(ProjectDeleteStatus.Deleted, new ProjectDeletion(
                repositories, manifests, tags, links, uploads, members, robots, rules, narrowed, revoked)), true);
        }, cancellationToken);
    }

    /// <summary>
    /// Takes the project out of every token's project list: a list names projects, so a project created later under
    /// the same name must not inherit the tokens. A token left with no project (an empty list would mean every
    /// project) is revoked instead and keeps its list. Two set-based updates on the jsonb lists (<c>-</c> removes every
    /// occurrence of the name), with the same outcome as SQLite's token-by-token loop.
    /// </summary>
    private async Task<(int Narrowed, int Revoked)> RemoveFromTokenProjectListsAsync(NpgsqlConnection c, string project, CancellationToken ct)
    {
        const string Names = "projects IS NOT NULL AND projects @> jsonb_build_array(@project::text)";
        var revoked = await NonQueryAsync(c,
            $"UPDATE access_tokens SET revoked_at = @now WHERE {Names} AND jsonb_array_length(projects - @project::text) = 0 AND revoked_at IS NULL",
            ct, ("project", project), ("now", Now));
        var narrowed = await NonQueryAsync(c,
            $"UPDATE access_tokens SET projects = projects - @project::text WHERE {Names} AND jsonb_array_length(projects - @project::text) > 0",
            ct, ("project", project));
        return (narrowed, revoked);
    }
}
