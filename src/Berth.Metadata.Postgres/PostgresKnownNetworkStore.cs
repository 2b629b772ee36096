using Berth.Core.Access;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary><see cref="IKnownNetworkStore"/> on PostgreSQL: the <c>known_networks</c> table. See <see cref="PostgresAccess"/> for how values are stored.</summary>
public sealed class PostgresKnownNetworkStore : IKnownNetworkStore
{
    private readonly PostgresDatabase _db;

    public PostgresKnownNetworkStore(PostgresDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _db = db;
    }

    Task<UpdateResult> IKnownNetworkStore.RememberAsync(long userId, string network, DateTimeOffset at, CancellationToken cancellationToken)
    {
        RequireNetwork(network);
        var when = at.ToUnixTimeMilliseconds();
        return _db.WriteAsync(async (c, _, ct) =>
        {
            if (await ScalarAsync<long>(c, "SELECT id FROM users WHERE id = @id", ct, ("id", userId)) is null)
            {
                return (UpdateResult.NotFound, false);
            }

            await NonQueryAsync(c,
                """
                INSERT INTO known_networks (user_id, network, last_sign_in_at) VALUES (@user, @network, @at)
                ON CONFLICT (user_id, network) DO UPDATE SET last_sign_in_at = GREATEST(known_networks.last_sign_in_at, excluded.last_sign_in_at)
                """,
                ct, ("user", userId), ("network", network), ("at", when));
            return (UpdateResult.Updated, true);
        }, cancellationToken);
    }

    Task<DateTimeOffset?> IKnownNetworkStore.GetLastSignInAsync(long userId, string network, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (network.Contains('\0', StringComparison.Ordinal))
        {
            return Task.FromResult<DateTimeOffset?>(null); // never stored (RememberAsync refuses it)
        }

        return _db.ReadAsync(async (c, ct) =>
        {
            var at = await ScalarAsync<long>(c, "SELECT last_sign_in_at FROM known_networks WHERE user_id = @user AND network = @network",
                ct, ("user", userId), ("network", network));
            return at is { } value ? Time(value) : (DateTimeOffset?)null;
        }, cancellationToken);
    }

    Task<int> IKnownNetworkStore.ForgetBeforeAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var deleted = await NonQueryAsync(c,
                """
                DELETE FROM known_networks WHERE (user_id, network) IN (
                    SELECT user_id, network FROM known_networks WHERE last_sign_in_at < @before ORDER BY last_sign_in_at LIMIT @limit)
                """,
                ct, ("before", before.ToUnixTimeMilliseconds()), ("limit", limit));
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

        RequireStorable(network, nameof(network));
    }
}
