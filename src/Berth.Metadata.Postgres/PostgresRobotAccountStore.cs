using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary><see cref="IRobotAccountStore"/> on PostgreSQL: the <c>robot_accounts</c> table. See <see cref="PostgresAccess"/> for how values are stored.</summary>
public sealed class PostgresRobotAccountStore : IRobotAccountStore
{
    private readonly PostgresDatabase _db;
    private readonly TimeProvider _clock;

    public PostgresRobotAccountStore(PostgresDatabase db, TimeProvider clock)
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

    private static RobotAccount ReadRobot(NpgsqlDataReader r) =>
        new(r.GetInt64(0), ProjectName.Parse(r.GetString(1)), r.GetString(2), r.GetString(3), (RegistryActions)r.GetInt32(4), Time(r.GetInt64(5)), r.GetBoolean(6));

    Task<RobotCreateResult> IRobotAccountStore.CreateAsync(ProjectName project, string name, string description, RegistryActions actions, CancellationToken cancellationToken)
    {
        Require(project);
        if (!RobotAccount.IsValidName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid robot account name.", nameof(name));
        }

        ArgumentNullException.ThrowIfNull(description);
        RequireStorable(description, nameof(description));
        RequireActions(actions);
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var projectId = await ProjectIdAsync(c, project, ct);
            if (projectId is null)
            {
                return (new RobotCreateResult(RobotCreateStatus.ProjectNotFound), false);
            }

            var now = Now;
            var id = await ScalarAsync<long>(c,
                "INSERT INTO robot_accounts (project_id, name, description, actions, created_at) VALUES (@project, @name, @description, @actions, @now) ON CONFLICT DO NOTHING RETURNING id",
                ct, ("project", projectId.Value), ("name", name), ("description", description), ("actions", (int)actions), ("now", now));
            return id is null
                ? (new RobotCreateResult(RobotCreateStatus.Duplicate), false)
                : (new RobotCreateResult(RobotCreateStatus.Created, new RobotAccount(id.Value, project, name, description, actions, Time(now), false)), true);
        }, cancellationToken);
    }

    Task<RobotAccount?> IRobotAccountStore.GetAsync(long id, CancellationToken cancellationToken) =>
        _db.ReadAsync((c, ct) => SingleAsync(c, RobotColumns + "WHERE r.id = @id", ReadRobot, ct, ("id", id)), cancellationToken);

    Task<RobotAccount?> IRobotAccountStore.GetAsync(ProjectName project, string name, CancellationToken cancellationToken)
    {
        var value = Require(project);
        ArgumentNullException.ThrowIfNull(name);
        return _db.ReadAsync((c, ct) => SingleAsync(c, RobotColumns + "WHERE p.name = @project AND r.name = @name", ReadRobot, ct,
            ("project", value), ("name", name)), cancellationToken);
    }

    Task<IReadOnlyList<RobotAccount>> IRobotAccountStore.ListAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var value = Require(project);
        return _db.ReadAsync<IReadOnlyList<RobotAccount>>(async (c, ct) => await ListAsync(c,
            RobotColumns + "WHERE p.name = @project ORDER BY r.name", ReadRobot, ct, ("project", value)), cancellationToken);
    }

    Task<UpdateResult> IRobotAccountStore.UpdateAsync(long id, RobotChanges changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        RequireStorable(changes.Description, nameof(changes));
        if (changes.Actions is { } actions)
        {
            RequireActions(actions);
        }

        return _db.WriteAsync(async (c, _, ct) =>
        {
            var updated = await NonQueryAsync(c,
                """
                UPDATE robot_accounts SET description = COALESCE(@description::text, description), actions = COALESCE(@actions::integer, actions),
                    disabled = COALESCE(@disabled::boolean, disabled)
                WHERE id = @id
                """,
                ct, ("id", id), ("description", changes.Description), ("actions", (int?)changes.Actions), ("disabled", changes.Disabled));
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);
    }

    Task<DeleteResult> IRobotAccountStore.DeleteAsync(long id, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (c, _, ct) =>
        {
            // Its access tokens go by ON DELETE CASCADE.
            var deleted = await NonQueryAsync(c, "DELETE FROM robot_accounts WHERE id = @id", ct, ("id", id));
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, true);
        }, cancellationToken);
}
