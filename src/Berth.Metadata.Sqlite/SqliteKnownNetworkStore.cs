using Berth.Core.Access;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary><see cref="IKnownNetworkStore"/> on SQLite: the <c>known_networks</c> table (migration 3). See <see cref="SqliteAccess"/> for how values are stored.</summary>
public sealed class SqliteKnownNetworkStore : IKnownNetworkStore
{
    private readonly SqliteDatabase _db;

    public SqliteKnownNetworkStore(SqliteDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _db = db;
    }

    Task<UpdateResult> IKnownNetworkStore.RememberAsync(long userId, string network, DateTimeOffset at, CancellationToken cancellationToken)
    {
        RequireNetwork(network);
        var when = at.ToUnixTimeMilliseconds();
        return _db.WriteAsync((c, _) =>
        {
            if (Scalar<long>(c.Command("SELECT id FROM users WHERE id = $id", ("$id", userId))) is null)
            {
                return (UpdateResult.NotFound, false);
            }

            c.Command(
                """
                INSERT INTO known_networks (user_id, network, last_sign_in_at) VALUES ($user, $network, $at)
                ON CONFLICT (user_id, network) DO UPDATE SET last_sign_in_at = MAX(last_sign_in_at, excluded.last_sign_in_at)
                """,
                ("$user", userId), ("$network", network), ("$at", when)).ExecuteNonQuery();
            return (UpdateResult.Updated, true);
        }, cancellationToken);
    }

    Task<DateTimeOffset?> IKnownNetworkStore.GetLastSignInAsync(long userId, string network, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(network);
        return Task.FromResult(_db.Read(c =>
        {
            var at = Scalar<long>(c.Command("SELECT last_sign_in_at FROM known_networks WHERE user_id = $user AND network = $network",
                ("$user", userId), ("$network", network)));
            return at is { } value ? Time(value) : (DateTimeOffset?)null;
        }));
    }

    Task<int> IKnownNetworkStore.ForgetBeforeAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return _db.WriteAsync((c, _) =>
        {
            var deleted = c.Command(
                """
                DELETE FROM known_networks WHERE (user_id, network) IN (
                    SELECT user_id, network FROM known_networks WHERE last_sign_in_at < $before ORDER BY last_sign_in_at LIMIT $limit)
                """,
                ("$before", before.ToUnixTimeMilliseconds()), ("$limit", limit)).ExecuteNonQuery();
            return (deleted, deleted > 0);
        }, cancellationToken);
    }

    private static void RequireNetwork(string network)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (network.Length == 0 || network.Length > IKnownNetworkStore.MaxNetworkLength)
        {
            throw new ArgumentException($"A network is 1 to {IKnownNetworkStore.MaxNetworkLength} characters.", nameof(network));
        }
    }
}
