using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary><see cref="IRobotAccountStore"/> on SQLite: the <c>robot_accounts</c> table. See <see cref="SqliteAccess"/> for how values are stored.</summary>
public sealed class SqliteRobotAccountStore : IRobotAccountStore
{
    private readonly SqliteDatabase _db;
    private readonly TimeProvider _clock;

    public SqliteRobotAccountStore(SqliteDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The store's current time, truncated to what the database keeps (milliseconds).</summary>
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private const string RobotColumns =
        "SELECT r.id, p.name, r.name, r.description, r.actions, r.created_at, r.disabled FROM robot_accounts r JOIN projects p ON p.id = r.project_id ";

    private static RobotAccount ReadRobot(SqliteDataReader r) =>
        new(r.GetInt64(0), ProjectName.Parse(r.GetString(1)), r.GetString(2), r.GetString(3), (RegistryActions)r.GetInt32(4), Time(r.GetInt64(5)), r.GetInt64(6) != 0);

    Task<RobotCreateResult> IRobotAccountStore.CreateAsync(ProjectName project, string name, string description, RegistryActions actions, CancellationToken cancellationToken)
    {
        Require(project);
        if (!RobotAccount.IsValidName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid robot account name.", nameof(name));
        }

        ArgumentNullException.ThrowIfNull(description);
        RequireActions(actions);
        return _db.WriteAsync((c, _) =>
        {
            var projectId = ProjectId(c, project);
            if (projectId is null)
            {
                return (new RobotCreateResult(RobotCreateStatus.ProjectNotFound), false);
            }

            var now = Now;
            var id = Scalar<long>(c.Command(
                "INSERT INTO robot_accounts (project_id, name, description, actions, created_at) VALUES ($project, $name, $description, $actions, $now) ON CONFLICT DO NOTHING RETURNING id",
                ("$project", projectId.Value), ("$name", name), ("$description", description), ("$actions", (int)actions), ("$now", now)));
            return id is null
                ? (new RobotCreateResult(RobotCreateStatus.Duplicate), false)
                : (new RobotCreateResult(RobotCreateStatus.Created, new RobotAccount(id.Value, project, name, description, actions, Time(now), false)), true);
        }, cancellationToken);
    }

    Task<RobotAccount?> IRobotAccountStore.GetAsync(long id, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c => Single(c.Command(RobotColumns + "WHERE r.id = $id", ("$id", id)), ReadRobot)));

    Task<RobotAccount?> IRobotAccountStore.GetAsync(ProjectName project, string name, CancellationToken cancellationToken)
    {
        var value = Require(project);
        ArgumentNullException.ThrowIfNull(name);
        return Task.FromResult(_db.Read(c => Single(c.Command(
            RobotColumns + "WHERE p.name = $project AND r.name = $name", ("$project", value), ("$name", name)), ReadRobot)));
    }

    Task<IReadOnlyList<RobotAccount>> IRobotAccountStore.ListAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var value = Require(project);
        return Task.FromResult<IReadOnlyList<RobotAccount>>(_db.Read(c => List(c.Command(
            RobotColumns + "WHERE p.name = $project ORDER BY r.name", ("$project", value)), ReadRobot)));
    }

    Task<UpdateResult> IRobotAccountStore.UpdateAsync(long id, RobotChanges changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Actions is { } actions)
        {
            RequireActions(actions);
        }

        return _db.WriteAsync((c, _) =>
        {
            var updated = c.Command(
                """
                UPDATE robot_accounts SET description = COALESCE($description, description), actions = COALESCE($actions, actions),
                    disabled = COALESCE($disabled, disabled)
                WHERE id = $id
                """,
                ("$id", id), ("$description", changes.Description), ("$actions", (int?)changes.Actions),
                ("$disabled", changes.Disabled is { } d ? (d ? 1 : 0) : null)).ExecuteNonQuery();
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);
    }

    Task<DeleteResult> IRobotAccountStore.DeleteAsync(long id, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            // Its access tokens go by ON DELETE CASCADE.
            var deleted = c.Command("DELETE FROM robot_accounts WHERE id = $id", ("$id", id)).ExecuteNonQuery();
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, true);
        }, cancellationToken);
}
