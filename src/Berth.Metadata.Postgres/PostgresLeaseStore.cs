using Berth.Core.Jobs;

namespace Berth.Metadata.Postgres;

/// <summary>
/// Job leases shared by every node on the database (<c>job_leases</c>): one upsert that takes the lease when it is
/// free, expired or already the holder's, so two nodes asking at once get one yes. Times come from the injected
/// clock of each node; nodes' clocks are assumed to agree within a few seconds (leases last minutes).
/// </summary>
public sealed class PostgresLeaseStore(PostgresDatabase database, TimeProvider clock) : ILeaseStore
{
    public async ValueTask<bool> TryAcquireAsync(string name, string holder, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var taken = await database.ExecuteAsync(
            """
            INSERT INTO job_leases (name, holder, expires_at) VALUES (@name, @holder, @until)
            ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
            WHERE job_leases.holder = EXCLUDED.holder OR job_leases.expires_at <= @now
            """,
            cancellationToken, ("name", name), ("holder", holder), ("until", now + (long)duration.TotalMilliseconds), ("now", now));
        return taken == 1;
    }

    public async ValueTask ReleaseAsync(string name, string holder, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM job_leases WHERE name = @name AND holder = @holder", cancellationToken, ("name", name), ("holder", holder));
}
