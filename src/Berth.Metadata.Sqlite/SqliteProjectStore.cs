using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Oci;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;
using static Berth.Core.Access.AccessWords;

namespace Berth.Metadata.Sqlite;

/// <summary><see cref="IProjectStore"/> on SQLite: the <c>projects</c> table; a delete removes what the project held (repositories, members, robots, rules) and takes it out of access tokens' project lists in one transaction. See <see cref="SqliteAccess"/> for how values are stored.</summary>
public sealed class SqliteProjectStore : IProjectStore
{
    private readonly SqliteDatabase _db;
    private readonly TimeProvider _clock;

    public SqliteProjectStore(SqliteDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The store's current time, truncated to what the database keeps (milliseconds).</summary>
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private const string ProjectColumns = "SELECT name, description, visibility, created_at FROM projects ";

    private static Project ReadProject(SqliteDataReader r) =>
        new(ProjectName.Parse(r.GetString(0)), r.GetString(1), ParseVisibility(r.GetString(2)), Time(r.GetInt64(3)));

    Task<ProjectCreateResult> IProjectStore.CreateAsync(ProjectName name, string description, ProjectVisibility visibility, CancellationToken cancellationToken)
    {
        var value = Require(name);
        ArgumentNullException.ThrowIfNull(description);
        var word = Word(visibility);
        return _db.WriteAsync((c, _) =>
        {
            var now = Now;
            var id = Scalar<long>(c.Command(
                "INSERT INTO projects (name, description, visibility, created_at) VALUES ($name, $description, $visibility, $now) ON CONFLICT DO NOTHING RETURNING id",
                ("$name", value), ("$description", description), ("$visibility", word), ("$now", now)));
            return id is null
                ? (new ProjectCreateResult(ProjectCreateStatus.Duplicate), false)
                : (new ProjectCreateResult(ProjectCreateStatus.Created, new Project(name, description, visibility, Time(now))), true);
        }, cancellationToken);
    }

    Task<Project?> IProjectStore.GetAsync(ProjectName name, CancellationToken cancellationToken)
    {
        var value = Require(name);
        return Task.FromResult(_db.Read(c => Single(c.Command(ProjectColumns + "WHERE name = $name", ("$name", value)), ReadProject)));
    }

    Task<Page<Project>> IProjectStore.ListAsync(ProjectName? after, int limit, CancellationToken cancellationToken)
    {
        limit = PageSize.Clamp(limit);
        var from = after is { } a ? Require(a) : string.Empty;
        return Task.FromResult(_db.Read(c => Page(c.Command(
            ProjectColumns + "WHERE name > $after ORDER BY name LIMIT $limit",
            ("$after", from), ("$limit", limit + 1)), limit, ReadProject)));
    }

    Task<UpdateResult> IProjectStore.UpdateAsync(ProjectName name, ProjectChanges changes, CancellationToken cancellationToken)
    {
        var value = Require(name);
        ArgumentNullException.ThrowIfNull(changes);
        var visibility = changes.Visibility is { } v ? Word(v) : null;
        return _db.WriteAsync((c, _) =>
        {
            var updated = c.Command(
                "UPDATE projects SET description = COALESCE($description, description), visibility = COALESCE($visibility, visibility) WHERE name = $name",
                ("$name", value), ("$description", changes.Description), ("$visibility", visibility)).ExecuteNonQuery();
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);
    }

    Task<ProjectDeleteResult> IProjectStore.DeleteAsync(ProjectName name, bool force, CancellationToken cancellationToken)
    {
        var value = Require(name);
        return _db.WriteAsync((c, _) =>
        {
            var id = ProjectId(c, name);
            if (id is null)
            {
                return (new ProjectDeleteResult(ProjectDeleteStatus.NotFound), false);
            }

            // The project's repositories are "name" and "name/...": a range on the unique index of repositories.name
            // ('0' is the character after '/'), not LIKE, whose '_' would be a wildcard. Upload sessions name their
            // repository as text (one may exist before its repository does), so the same range applies to them.
            (string, object?)[] range = [("$name", value), ("$low", value + "/"), ("$high", value + "0")];
            const string InProject = "(name = $name OR (name > $low AND name < $high))";
            const string RepositoryIds = "SELECT id FROM repositories WHERE " + InProject;
            var repositories = List(c.Command("SELECT name FROM repositories WHERE " + InProject + " ORDER BY name", range),
                r => RepositoryName.Parse(r.GetString(0)));
            if (!force && repositories.Count > 0)
            {
                return (new ProjectDeleteResult(ProjectDeleteStatus.HasRepositories), false);
            }

            // Registry content first (these tables reference repositories without cascades); blobs stay for collection.
            var tags = c.Command($"DELETE FROM tags WHERE repository_id IN ({RepositoryIds})", range).ExecuteNonQuery();
            c.Command($"DELETE FROM manifest_references WHERE repository_id IN ({RepositoryIds})", range).ExecuteNonQuery();
            var manifests = c.Command($"DELETE FROM manifests WHERE repository_id IN ({RepositoryIds})", range).ExecuteNonQuery();
            var links = c.Command($"DELETE FROM repository_blobs WHERE repository_id IN ({RepositoryIds})", range).ExecuteNonQuery();
            c.Command("DELETE FROM repositories WHERE " + InProject, range).ExecuteNonQuery();
            var uploads = List(c.Command("DELETE FROM uploads WHERE repository = $name OR (repository > $low AND repository < $high) RETURNING id", range),
                r => r.GetString(0));

            // Memberships, robot accounts (and through them their tokens) and IP rules go by ON DELETE CASCADE.
            var members = (int)Scalar<long>(c.Command("SELECT COUNT(*) FROM project_members WHERE project_id = $id", ("$id", id.Value)))!.Value;
            var robots = (int)Scalar<long>(c.Command("SELECT COUNT(*) FROM robot_accounts WHERE project_id = $id", ("$id", id.Value)))!.Value;
            var rules = (int)Scalar<long>(c.Command("SELECT COUNT(*) FROM ip_allow_rules WHERE project_id = $id", ("$id", id.Value)))!.Value;
            c.Command("DELETE FROM projects WHERE id = $id", ("$id", id.Value)).ExecuteNonQuery();

            var (narrowed, revoked) = RemoveFromTokenProjectLists(c, value);
            uploads.Sort(StringComparer.Ordinal);
            return (new ProjectDeleteResult(ProjectDeleteStatus.Deleted, new ProjectDeletion(
                repositories, manifests, tags, links, uploads, members, robots, rules, narrowed, revoked)), true);
        }, cancellationToken);
    }

    /// <summary>
    /// Takes the project out of every token's project list: a list names projects, so a project created later under
    /// the same name must not inherit the tokens. A token left with no project (an empty list would mean every
    /// project) is revoked instead and keeps its list.
    /// </summary>
    private (int Narrowed, int Revoked) RemoveFromTokenProjectLists(SqliteDatabase.Connection c, string project)
    {
        var tokens = List(c.Command(
            "SELECT id, projects, revoked_at IS NOT NULL FROM access_tokens WHERE projects IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(projects) WHERE value = $project)",
            ("$project", project)), r => (Id: r.GetInt64(0), Projects: r.GetString(1), Revoked: r.GetBoolean(2)));
        int narrowed = 0, revoked = 0;
        var now = Now;
        foreach (var token in tokens)
        {
            var remaining = (System.Text.Json.JsonSerializer.Deserialize<string[]>(token.Projects) ?? [])
                .Where(p => !string.Equals(p, project, StringComparison.Ordinal)).ToArray();
            if (remaining.Length > 0)
            {
                c.Command("UPDATE access_tokens SET projects = $projects WHERE id = $id",
                    ("$id", token.Id), ("$projects", System.Text.Json.JsonSerializer.Serialize(remaining))).ExecuteNonQuery();
                narrowed++;
            }
            else if (!token.Revoked)
            {
                c.Command("UPDATE access_tokens SET revoked_at = $now WHERE id = $id", ("$id", token.Id), ("$now", now)).ExecuteNonQuery();
                revoked++;
            }
        }

        return (narrowed, revoked);
    }
}
