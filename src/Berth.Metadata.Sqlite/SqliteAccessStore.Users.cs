using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Microsoft.Data.Sqlite;

namespace Berth.Metadata.Sqlite;

public sealed partial class SqliteAccessStore
{
    // ------------------------------------------------------------------ users

    private const string UserColumns = "SELECT id, name, password_hash, is_admin, disabled, created_at, security_stamp FROM users ";

    private static User ReadUser(SqliteDataReader r) =>
        new(r.GetInt64(0), UserName.Parse(r.GetString(1)), Text(r, 2), r.GetInt64(3) != 0, r.GetInt64(4) != 0, Time(r.GetInt64(5))) { SecurityStamp = r.GetString(6) };

    /// <summary>A new security stamp: 128 random bits as hex, never reused (a re-created user with a reused id gets another).</summary>
    private static string NewStamp() => System.Security.Cryptography.RandomNumberGenerator.GetHexString(32, lowercase: true);

    Task<UserCreateResult> IUserStore.CreateAsync(UserName name, string? passwordHash, bool isAdministrator, CancellationToken cancellationToken)
    {
        var value = Require(name);
        return _db.WriteAsync((c, _) =>
        {
            var now = Now;
            var stamp = NewStamp();
            var id = Scalar<long>(c.Command(
                "INSERT INTO users (name, password_hash, is_admin, created_at, security_stamp) VALUES ($name, $hash, $admin, $now, $stamp) ON CONFLICT DO NOTHING RETURNING id",
                ("$name", value), ("$hash", passwordHash), ("$admin", isAdministrator ? 1 : 0), ("$now", now), ("$stamp", stamp)));
            return id is null
                ? (new UserCreateResult(UserCreateStatus.Duplicate), false)
                : (new UserCreateResult(UserCreateStatus.Created, new User(id.Value, name, passwordHash, isAdministrator, false, Time(now)) { SecurityStamp = stamp }), true);
        }, cancellationToken);
    }

    Task<User?> IUserStore.GetAsync(UserName name, CancellationToken cancellationToken)
    {
        var value = Require(name);
        return Task.FromResult(_db.Read(c => Single(c.Command(UserColumns + "WHERE name = $name", ("$name", value)), ReadUser)));
    }

    Task<User?> IUserStore.GetAsync(long id, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c => Single(c.Command(UserColumns + "WHERE id = $id", ("$id", id)), ReadUser)));

    Task<Page<User>> IUserStore.ListAsync(UserName? after, int limit, CancellationToken cancellationToken)
    {
        limit = PageSize.Clamp(limit);
        var from = after is { } a ? Require(a) : string.Empty;

        // name has COLLATE NOCASE, so both the comparison and the order are case-insensitive.
        return Task.FromResult(_db.Read(c => Page(c.Command(
            UserColumns + "WHERE name > $after ORDER BY name LIMIT $limit",
            ("$after", from), ("$limit", limit + 1)), limit, ReadUser)));
    }

    Task<UpdateResult> IUserStore.SetPasswordHashAsync(long id, string? passwordHash, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var updated = c.Command("UPDATE users SET password_hash = $hash, security_stamp = $stamp WHERE id = $id",
                ("$id", id), ("$hash", passwordHash), ("$stamp", NewStamp())).ExecuteNonQuery();
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);

    Task<UpdateResult> IUserStore.RehashPasswordAsync(long id, string expectedHash, string newHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(expectedHash);
        ArgumentException.ThrowIfNullOrEmpty(newHash);
        return _db.WriteAsync((c, _) =>
        {
            var updated = c.Command("UPDATE users SET password_hash = $new WHERE id = $id AND password_hash = $expected",
                ("$id", id), ("$new", newHash), ("$expected", expectedHash)).ExecuteNonQuery();
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);
    }

    Task<UpdateResult> IUserStore.RotateSecurityStampAsync(long id, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var updated = c.Command("UPDATE users SET security_stamp = $stamp WHERE id = $id", ("$id", id), ("$stamp", NewStamp())).ExecuteNonQuery();
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);

    Task<UserUpdateStatus> IUserStore.SetAdministratorAsync(long id, bool isAdministrator, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var state = AdministratorState(c, id);
            if (state is null)
            {
                return (UserUpdateStatus.NotFound, false);
            }

            if (!isAdministrator && state == AdminState.OnlyEnabledAdministrator)
            {
                return (UserUpdateStatus.LastAdministrator, false);
            }

            c.Command("UPDATE users SET is_admin = $admin, security_stamp = $stamp WHERE id = $id AND is_admin <> $admin",
                ("$id", id), ("$admin", isAdministrator ? 1 : 0), ("$stamp", NewStamp())).ExecuteNonQuery();
            return (UserUpdateStatus.Updated, true);
        }, cancellationToken);

    Task<UserUpdateStatus> IUserStore.SetDisabledAsync(long id, bool disabled, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var state = AdministratorState(c, id);
            if (state is null)
            {
                return (UserUpdateStatus.NotFound, false);
            }

            if (disabled && state == AdminState.OnlyEnabledAdministrator)
            {
                return (UserUpdateStatus.LastAdministrator, false);
            }

            c.Command("UPDATE users SET disabled = $disabled, security_stamp = $stamp WHERE id = $id AND disabled <> $disabled",
                ("$id", id), ("$disabled", disabled ? 1 : 0), ("$stamp", NewStamp())).ExecuteNonQuery();
            return (UserUpdateStatus.Updated, true);
        }, cancellationToken);

    Task<UserDeleteStatus> IUserStore.DeleteAsync(long id, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var state = AdministratorState(c, id);
            if (state is null)
            {
                return (UserDeleteStatus.NotFound, false);
            }

            if (state == AdminState.OnlyEnabledAdministrator)
            {
                return (UserDeleteStatus.LastAdministrator, false);
            }

            // Memberships and access tokens go by ON DELETE CASCADE.
            c.Command("DELETE FROM users WHERE id = $id", ("$id", id)).ExecuteNonQuery();
            return (UserDeleteStatus.Deleted, true);
        }, cancellationToken);

    Task<int> IUserStore.CountAdministratorsAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c => (int)CountEnabledAdministrators(c)));

    private enum AdminState
    {
        Other,
        OnlyEnabledAdministrator,
    }

    /// <summary>Null for an unknown user. Runs inside the write, so the answer cannot change before the write commits.</summary>
    private static AdminState? AdministratorState(SqliteDatabase.Connection c, long id)
    {
        using var reader = c.Command("SELECT is_admin, disabled FROM users WHERE id = $id", ("$id", id)).ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var enabledAdministrator = reader.GetInt64(0) != 0 && reader.GetInt64(1) == 0;
        reader.Close();
        return enabledAdministrator && CountEnabledAdministrators(c) == 1 ? AdminState.OnlyEnabledAdministrator : AdminState.Other;
    }

    private static long CountEnabledAdministrators(SqliteDatabase.Connection c) =>
        Scalar<long>(c.Command("SELECT COUNT(*) FROM users WHERE is_admin = 1 AND disabled = 0")) ?? 0;

    // ------------------------------------------------------------------ robot accounts

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
