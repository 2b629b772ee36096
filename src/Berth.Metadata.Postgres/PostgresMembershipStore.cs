using Berth.Core.Access;
using Berth.Core.Metadata;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;
using static Berth.Core.Access.AccessWords;

namespace Berth.Metadata.Postgres;

/// <summary><see cref="IMembershipStore"/> on PostgreSQL: the <c>project_members</c> table. See <see cref="PostgresAccess"/> for how values are stored.</summary>
public sealed class PostgresMembershipStore : IMembershipStore
{
    private readonly PostgresDatabase _db;
    private readonly TimeProvider _clock;

    public PostgresMembershipStore(PostgresDatabase db, TimeProvider clock)
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

    private static Membership ReadMembership(NpgsqlDataReader r) =>
        new(ProjectName.Parse(r.GetString(0)), r.GetInt64(1), UserName.Parse(r.GetString(2)), ParseRole(r.GetString(3)), Time(r.GetInt64(4)));

    Task<MembershipAddStatus> IMembershipStore.AddAsync(ProjectName project, long userId, ProjectRole role, CancellationToken cancellationToken)
    {
        Require(project);
        var word = Word(role);
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var projectId = await ProjectIdAsync(c, project, ct);
            if (projectId is null)
            {
                return (MembershipAddStatus.ProjectNotFound, false);
            }

            if (await ScalarAsync<long>(c, "SELECT id FROM users WHERE id = @id", ct, ("id", userId)) is null)
            {
                return (MembershipAddStatus.UserNotFound, false);
            }

            var added = await NonQueryAsync(c,
                "INSERT INTO project_members (project_id, user_id, role, added_at) VALUES (@project, @user, @role, @now) ON CONFLICT DO NOTHING",
                ct, ("project", projectId.Value), ("user", userId), ("role", word), ("now", Now));
            return added > 0 ? (MembershipAddStatus.Added, true) : (MembershipAddStatus.AlreadyMember, false);
        }, cancellationToken);
    }

    Task<UpdateResult> IMembershipStore.SetRoleAsync(ProjectName project, long userId, ProjectRole role, CancellationToken cancellationToken)
    {
        var value = Require(project);
        var word = Word(role);
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var updated = await NonQueryAsync(c,
                "UPDATE project_members SET role = @role WHERE user_id = @user AND project_id = (SELECT id FROM projects WHERE name = @project)",
                ct, ("project", value), ("user", userId), ("role", word));
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);
    }

    Task<DeleteResult> IMembershipStore.RemoveAsync(ProjectName project, long userId, CancellationToken cancellationToken)
    {
        var value = Require(project);
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var deleted = await NonQueryAsync(c,
                "DELETE FROM project_members WHERE user_id = @user AND project_id = (SELECT id FROM projects WHERE name = @project)",
                ct, ("project", value), ("user", userId));
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, true);
        }, cancellationToken);
    }

    Task<IReadOnlyList<Membership>> IMembershipStore.ListByProjectAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var value = Require(project);

        // In the user listing's order: case-folded names under "C" (SQLite: the NOCASE column).
        return _db.ReadAsync<IReadOnlyList<Membership>>(async (c, ct) => await ListAsync(c,
            MembershipColumns + "WHERE p.name = @project ORDER BY lower(u.name COLLATE \"C\")", ReadMembership, ct, ("project", value)), cancellationToken);
    }

    Task<IReadOnlyList<Membership>> IMembershipStore.ListByUserAsync(long userId, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<Membership>>(async (c, ct) => await ListAsync(c,
            MembershipColumns + "WHERE m.user_id = @user ORDER BY p.name", ReadMembership, ct, ("user", userId)), cancellationToken);
}
