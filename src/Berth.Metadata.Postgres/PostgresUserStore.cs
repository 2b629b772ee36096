using Berth.Core.Access;
using Berth.Core.Metadata;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IUserStore"/> on PostgreSQL: the <c>users</c> table; the last enabled administrator cannot be removed,
/// demoted or disabled (the count is read in the SERIALIZABLE write, so two nodes demoting the last two administrators
/// at once cannot both succeed: one is retried and refused). Names are unique and compared through
/// <c>lower(name COLLATE "C")</c>, the expression of the unique index (ASCII case folding, as SQLite's NOCASE). See
/// <see cref="PostgresAccess"/> for how values are stored.
/// </summary>
public sealed class PostgresUserStore : IUserStore
{
    private readonly PostgresDatabase _db;
    private readonly TimeProvider _clock;

    public PostgresUserStore(PostgresDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The store's current time, truncated to what the database keeps (milliseconds).</summary>
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private const string UserColumns = "SELECT id, name, password_hash, is_admin, disabled, created_at, security_stamp FROM users ";

    /// <summary>The indexed case-insensitive key of a user name (the expression of <c>ux_users_name</c>).</summary>
    internal const string NameKey = "lower(name COLLATE \"C\")";

    private static User ReadUser(NpgsqlDataReader r) =>
        new(r.GetInt64(0), UserName.Parse(r.GetString(1)), Text(r, 2), r.GetBoolean(3), r.GetBoolean(4), Time(r.GetInt64(5))) { SecurityStamp = r.GetString(6) };

    /// <summary>A new security stamp: 128 random bits as hex, never reused (a re-created user with a reused id gets another).</summary>
    private static string NewStamp() => System.Security.Cryptography.RandomNumberGenerator.GetHexString(32, lowercase: true);

    Task<UserCreateResult> IUserStore.CreateAsync(UserName name, string? passwordHash, bool isAdministrator, CancellationToken cancellationToken)
    {
        var value = Require(name);
        RequireStorable(passwordHash, nameof(passwordHash));
        return _db.WriteAsync(async (c, _, ct) =>
        {
            // Two nodes creating "Alice" and "alice" at once: the second waits on the unique index, then (SERIALIZABLE)
            // is retried and finds the first: Duplicate.
            var now = Now;
            var stamp = NewStamp();
            var id = await ScalarAsync<long>(c,
                "INSERT INTO users (name, password_hash, is_admin, created_at, security_stamp) VALUES (@name, @hash, @admin, @now, @stamp) ON CONFLICT DO NOTHING RETURNING id",
                ct, ("name", value), ("hash", passwordHash), ("admin", isAdministrator), ("now", now), ("stamp", stamp));
            return id is null
                ? (new UserCreateResult(UserCreateStatus.Duplicate), false)
                : (new UserCreateResult(UserCreateStatus.Created, new User(id.Value, name, passwordHash, isAdministrator, false, Time(now)) { SecurityStamp = stamp }), true);
        }, cancellationToken);
    }

    Task<User?> IUserStore.GetAsync(UserName name, CancellationToken cancellationToken)
    {
        var value = Require(name);
        return _db.ReadAsync((c, ct) => SingleAsync(c, UserColumns + $"WHERE {NameKey} = lower(@name COLLATE \"C\")", ReadUser, ct, ("name", value)), cancellationToken);
    }

    Task<User?> IUserStore.GetAsync(long id, CancellationToken cancellationToken) =>
        _db.ReadAsync((c, ct) => SingleAsync(c, UserColumns + "WHERE id = @id", ReadUser, ct, ("id", id)), cancellationToken);

    Task<Page<User>> IUserStore.ListAsync(UserName? after, int limit, CancellationToken cancellationToken)
    {
        limit = PageSize.Clamp(limit);
        var from = after is { } a ? Require(a) : string.Empty;

        // The index's key is case-folded under "C": both the comparison and the order are case-insensitive and ordinal.
        return _db.ReadAsync((c, ct) => PageAsync(c,
            UserColumns + $"WHERE {NameKey} > lower(@after COLLATE \"C\") ORDER BY {NameKey} LIMIT @limit",
            limit, ReadUser, ct, ("after", from), ("limit", limit + 1)), cancellationToken);
    }

    Task<UpdateResult> IUserStore.SetPasswordHashAsync(long id, string? passwordHash, CancellationToken cancellationToken)
    {
        RequireStorable(passwordHash, nameof(passwordHash));
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var updated = await NonQueryAsync(c, "UPDATE users SET password_hash = @hash::text, security_stamp = @stamp WHERE id = @id",
                ct, ("id", id), ("hash", passwordHash), ("stamp", NewStamp()));
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);
    }

    Task<UpdateResult> IUserStore.RehashPasswordAsync(long id, string expectedHash, string newHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(expectedHash);
        ArgumentException.ThrowIfNullOrEmpty(newHash);
        RequireStorable(newHash, nameof(newHash));
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var updated = await NonQueryAsync(c, "UPDATE users SET password_hash = @new WHERE id = @id AND password_hash = @expected",
                ct, ("id", id), ("new", newHash), ("expected", expectedHash));
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);
    }

    Task<UpdateResult> IUserStore.RotateSecurityStampAsync(long id, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (c, _, ct) =>
        {
            var updated = await NonQueryAsync(c, "UPDATE users SET security_stamp = @stamp WHERE id = @id", ct, ("id", id), ("stamp", NewStamp()));
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);

    Task<UserUpdateStatus> IUserStore.SetAdministratorAsync(long id, bool isAdministrator, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (c, _, ct) =>
        {
            var state = await AdministratorStateAsync(c, id, ct);
            if (state is null)
            {
                return (UserUpdateStatus.NotFound, false);
            }

            if (!isAdministrator && state == AdminState.OnlyEnabledAdministrator)
            {
                return (UserUpdateStatus.LastAdministrator, false);
            }

            await NonQueryAsync(c, "UPDATE users SET is_admin = @admin, security_stamp = @stamp WHERE id = @id AND is_admin <> @admin",
                ct, ("id", id), ("admin", isAdministrator), ("stamp", NewStamp()));
            return (UserUpdateStatus.Updated, true);
        }, cancellationToken);

    Task<UserUpdateStatus> IUserStore.SetDisabledAsync(long id, bool disabled, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (c, _, ct) =>
        {
            var state = await AdministratorStateAsync(c, id, ct);
            if (state is null)
            {
                return (UserUpdateStatus.NotFound, false);
            }

            if (disabled && state == AdminState.OnlyEnabledAdministrator)
            {
                return (UserUpdateStatus.LastAdministrator, false);
            }

            await NonQueryAsync(c, "UPDATE users SET disabled = @disabled, security_stamp = @stamp WHERE id = @id AND disabled <> @disabled",
                ct, ("id", id), ("disabled", disabled), ("stamp", NewStamp()));
            return (UserUpdateStatus.Updated, true);
        }, cancellationToken);

    Task<UserDeleteStatus> IUserStore.DeleteAsync(long id, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (c, _, ct) =>
        {
            var state = await AdministratorStateAsync(c, id, ct);
            if (state is null)
            {
                return (UserDeleteStatus.NotFound, false);
            }

            if (state == AdminState.OnlyEnabledAdministrator)
            {
                return (UserDeleteStatus.LastAdministrator, false);
            }

            // Memberships, access tokens and known networks go by ON DELETE CASCADE.
            await NonQueryAsync(c, "DELETE FROM users WHERE id = @id", ct, ("id", id));
            return (UserDeleteStatus.Deleted, true);
        }, cancellationToken);

    Task<int> IUserStore.CountAdministratorsAsync(CancellationToken cancellationToken) =>
        _db.ReadAsync(async (c, ct) => (int)await CountEnabledAdministratorsAsync(c, ct), cancellationToken);

    private enum AdminState
    {
        Other,
        OnlyEnabledAdministrator,
    }

    /// <summary>Null for an unknown user. Runs inside the SERIALIZABLE write, so a concurrent change to the answer makes one of the two writes retry.</summary>
    private static async Task<AdminState?> AdministratorStateAsync(NpgsqlConnection c, long id, CancellationToken ct)
    {
        var row = await SingleAsync(c, "SELECT is_admin AND NOT disabled FROM users WHERE id = @id", r => (object)r.GetBoolean(0), ct, ("id", id));
        if (row is null)
        {
            return null;
        }

        return (bool)row && await CountEnabledAdministratorsAsync(c, ct) == 1 ? AdminState.OnlyEnabledAdministrator : AdminState.Other;
    }

    private static async Task<long> CountEnabledAdministratorsAsync(NpgsqlConnection c, CancellationToken ct) =>
        await ScalarAsync<long>(c, "SELECT COUNT(*) FROM users WHERE is_admin AND NOT disabled", ct) ?? 0;
}
