using Berth.Core.Access;
using Berth.Core.Metadata;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;
using static Berth.Core.Access.AccessWords;

namespace Berth.Metadata.Sqlite;

/// <summary><see cref="IMembershipStore"/> on SQLite: the <c>project_members</c> table. See <see cref="SqliteAccess"/> for how values are stored.</summary>
public sealed class SqliteMembershipStore : IMembershipStore
{
    private readonly SqliteDatabase _db;
    private readonly TimeProvider _clock;

    public SqliteMembershipStore(SqliteDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The store's current time, truncated to what the database keeps (milliseconds).</summary>
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private const string MembershipColumns =
        "SELECT p.name, m.user_id, u.name, m.role, m.added_at FROM project_members m JOIN projects p ON p.id = m.project_id JOIN users u ON u.id = m.user_id ";

    private static Membership ReadMembership(SqliteDataReader r) =>
        new(ProjectName.Parse(r.GetString(0)), r.GetInt64(1), UserName.Parse(r.GetString(2)), ParseRole(r.GetString(3)), Time(r.GetInt64(4)));

    Task<MembershipAddStatus> IMembershipStore.AddAsync(ProjectName project, long userId, ProjectRole role, CancellationToken cancellationToken)
    {
        Require(project);
        var word = Word(role);
        return _db.WriteAsync((c, _) =>
        {
            var projectId = ProjectId(c, project);
            if (projectId is null)
            {
                return (MembershipAddStatus.ProjectNotFound, false);
            }

            if (Scalar<long>(c.Command("SELECT id FROM users WHERE id = $id", ("$id", userId))) is null)
            {
                return (MembershipAddStatus.UserNotFound, false);
            }

            var added = c.Command(
                "INSERT INTO project_members (project_id, user_id, role, added_at) VALUES ($project, $user, $role, $now) ON CONFLICT DO NOTHING",
                ("$project", projectId.Value), ("$user", userId), ("$role", word), ("$now", Now)).ExecuteNonQuery();
            return added > 0 ? (MembershipAddStatus.Added, true) : (MembershipAddStatus.AlreadyMember, false);
        }, cancellationToken);
    }

    Task<UpdateResult> IMembershipStore.SetRoleAsync(ProjectName project, long userId, ProjectRole role, CancellationToken cancellationToken)
    {
        var value = Require(project);
        var word = Word(role);
        return _db.WriteAsync((c, _) =>
        {
            var updated = c.Command(
                "UPDATE project_members SET role = $role WHERE user_id = $user AND project_id = (SELECT id FROM projects WHERE name = $project)",
                ("$project", value), ("$user", userId), ("$role", word)).ExecuteNonQuery();
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);
    }

    Task<DeleteResult> IMembershipStore.RemoveAsync(ProjectName project, long userId, CancellationToken cancellationToken)
    {
        var value = Require(project);
        return _db.WriteAsync((c, _) =>
        {
            var deleted = c.Command(
                "DELETE FROM project_members WHERE user_id = $user AND project_id = (SELECT id FROM projects WHERE name = $project)",
                ("$project", value), ("$user", userId)).ExecuteNonQuery();
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, true);
        }, cancellationToken);
    }

    Task<IReadOnlyList<Membership>> IMembershipStore.ListByProjectAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var value = Require(project);
        return Task.FromResult<IReadOnlyList<Membership>>(_db.Read(c => List(c.Command(
            MembershipColumns + "WHERE p.name = $project ORDER BY u.name", ("$project", value)), ReadMembership)));
    }

    Task<IReadOnlyList<Membership>> IMembershipStore.ListByUserAsync(long userId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Membership>>(_db.Read(c => List(c.Command(
            MembershipColumns + "WHERE m.user_id = $user ORDER BY p.name", ("$user", userId)), ReadMembership)));
}
