using Berth.Core.Access;
using Berth.Core.Metadata;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary><see cref="IUserStore"/> on SQLite: the <c>users</c> table; the last enabled administrator cannot be removed, demoted or disabled. See <see cref="SqliteAccess"/> for how values are stored.</summary>
public sealed class SqliteUserStore : IUserStore
{
    private readonly SqliteDatabase _db;
    private readonly TimeProvider _clock;

    public SqliteUserStore(SqliteDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The store's current time, truncated to what the database keeps (milliseconds).</summary>
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

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
}
