using Berth.Core.Access;
using Npgsql;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="ILoginFailureStore"/> on PostgreSQL (the <c>login_failures</c> table), so that every node counts the same
/// failures. An update runs at READ COMMITTED with the keys' rows locked in key order (inserted first when missing), so
/// a burst of guesses at one key from several nodes queues on the row lock instead of failing serialization and being
/// retried: each failure is counted once.
/// </summary>
public sealed class PostgresLoginFailureStore : ILoginFailureStore
{
    private readonly PostgresDatabase _db;

    public PostgresLoginFailureStore(PostgresDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _db = db;
    }

    public bool Shared => true;

    public Task<IReadOnlyDictionary<string, LoginFailureCount>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return Task.FromResult<IReadOnlyDictionary<string, LoginFailureCount>>(new Dictionary<string, LoginFailureCount>());
        }

        var wanted = Checked(keys);
        return _db.ReadAsync<IReadOnlyDictionary<string, LoginFailureCount>>(async (c, ct) =>
        {
            await using var command = PostgresDatabase.Command(c,
                "SELECT key, failures, last_failure, locked_until FROM login_failures WHERE key = ANY(@keys)");
            command.Parameters.Add(new NpgsqlParameter<string[]>("keys", wanted));
            return await ReadCountsAsync(command, ct);
        }, cancellationToken);
    }

    public Task UpdateAsync(IReadOnlyCollection<string> keys, Func<string, LoginFailureCount?, LoginFailureCount> update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(update);
        if (keys.Count == 0)
        {
            return Task.CompletedTask;
        }

        var ordered = Checked(keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return _db.ReadAsync(async (c, ct) =>
        {
            await using var transaction = await c.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, ct);
            await using (var insert = PostgresDatabase.Command(c,
                """
                INSERT INTO login_failures (key, failures, last_failure, locked_until)
                SELECT k, 0, 0, 0 FROM unnest(@keys) AS k ORDER BY k
                ON CONFLICT (key) DO NOTHING
                """))
            {
                insert.Parameters.Add(new NpgsqlParameter<string[]>("keys", ordered));
                insert.Transaction = transaction;
                await insert.ExecuteNonQueryAsync(ct);
            }

            IReadOnlyDictionary<string, LoginFailureCount> current;
            await using (var select = PostgresDatabase.Command(c,
                "SELECT key, failures, last_failure, locked_until FROM login_failures WHERE key = ANY(@keys) ORDER BY key FOR UPDATE"))
            {
                select.Parameters.Add(new NpgsqlParameter<string[]>("keys", ordered));
                select.Transaction = transaction;
                current = await ReadCountsAsync(select, ct);
            }

            var batch = new NpgsqlBatch(c, transaction);
            await using (batch)
            {
                foreach (var key in ordered)
                {
                    // A placeholder row (failures 0 at time 0) is the same as no count.
                    LoginFailureCount? before = current.TryGetValue(key, out var found) && (found.Failures > 0 || found.LockedUntil.ToUnixTimeMilliseconds() > 0) ? found : null;
                    var after = update(key, before);
                    var command = new NpgsqlBatchCommand(
                        "UPDATE login_failures SET failures = $1, last_failure = $2, locked_until = $3 WHERE key = $4");
                    command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = after.Failures });
                    command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Millis(after.LastFailure) });
                    command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Millis(after.LockedUntil) });
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
                    batch.BatchCommands.Add(command);
                }

                await batch.ExecuteNonQueryAsync(ct);
            }

            await transaction.CommitAsync(ct);
            return true;
        }, cancellationToken);
    }

    public Task RemoveAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _db.ExecuteAsync("DELETE FROM login_failures WHERE key = @key", cancellationToken, ("key", Checked([key])[0]));
    }

    public Task<int> PruneAsync(DateTimeOffset now, TimeSpan forgetAfter, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(forgetAfter, TimeSpan.Zero);
        var at = now.ToUnixTimeMilliseconds();
        return _db.ExecuteAsync(
            "DELETE FROM login_failures WHERE locked_until <= @now AND last_failure + failures::bigint * @forget <= @now",
            cancellationToken, ("now", at), ("forget", (long)forgetAfter.TotalMilliseconds));
    }

    /// <summary>Times before the epoch (the throttle's "never locked") are kept as 0.</summary>
    private static long Millis(DateTimeOffset at) => at <= DateTimeOffset.UnixEpoch ? 0 : at.ToUnixTimeMilliseconds();

    private static string[] Checked(IReadOnlyCollection<string> keys)
    {
        var array = keys.ToArray();
        foreach (var key in array)
        {
            ArgumentNullException.ThrowIfNull(key);
            if (key.Length == 0 || key.Length > ILoginFailureStore.MaxKeyLength)
            {
                throw new ArgumentException($"A key is 1 to {ILoginFailureStore.MaxKeyLength} characters.", nameof(keys));
            }

            PostgresAccess.RequireStorable(key, nameof(keys));
        }

        return array;
    }

    private static async Task<IReadOnlyDictionary<string, LoginFailureCount>> ReadCountsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, LoginFailureCount>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = new LoginFailureCount(
                reader.GetInt32(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
        }

        return counts;
    }
}
