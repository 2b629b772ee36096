using Berth.Core.Access;
using Berth.Core.Metadata;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary><see cref="IIpAllowRuleStore"/> on PostgreSQL: the <c>ip_allow_rules</c> table (server-wide rules have no project). See <see cref="PostgresAccess"/> for how values are stored.</summary>
public sealed class PostgresIpAllowRuleStore : IIpAllowRuleStore
{
    private readonly PostgresDatabase _db;
    private readonly TimeProvider _clock;

    public PostgresIpAllowRuleStore(PostgresDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The store's current time, truncated to what the database keeps (milliseconds).</summary>
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private const string IpRuleColumns = "SELECT r.id, p.name, r.network, r.note, r.created_at FROM ip_allow_rules r LEFT JOIN projects p ON p.id = r.project_id ";

    private static IpAllowRule ReadIpRule(NpgsqlDataReader r) =>
        new(r.GetInt64(0), r.IsDBNull(1) ? null : ProjectName.Parse(r.GetString(1)), r.GetString(2), Text(r, 3), Time(r.GetInt64(4)));

    Task<IpRuleAddResult> IIpAllowRuleStore.AddAsync(ProjectName? project, string network, string? note, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(network);
        RequireStorable(network, nameof(network));
        RequireStorable(note, nameof(note));
        if (project is { } p)
        {
            Require(p);
        }

        return _db.WriteAsync(async (c, _, ct) =>
        {
            long? projectId = null;
            if (project is { } name)
            {
                projectId = await ProjectIdAsync(c, name, ct);
                if (projectId is null)
                {
                    return (new IpRuleAddResult(IpRuleAddStatus.ProjectNotFound), false);
                }
            }

            // ON CONFLICT without a target answers the expression index on (COALESCE(project_id, 0), network).
            var now = Now;
            var id = await ScalarAsync<long>(c,
                "INSERT INTO ip_allow_rules (project_id, network, note, created_at) VALUES (@project, @network, @note, @now) ON CONFLICT DO NOTHING RETURNING id",
                ct, ("project", projectId), ("network", network), ("note", note), ("now", now));
            return id is null
                ? (new IpRuleAddResult(IpRuleAddStatus.Duplicate), false)
                : (new IpRuleAddResult(IpRuleAddStatus.Added, new IpAllowRule(id.Value, project, network, note, Time(now))), true);
        }, cancellationToken);
    }

    Task<DeleteResult> IIpAllowRuleStore.RemoveAsync(long id, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (c, _, ct) =>
        {
            var deleted = await NonQueryAsync(c, "DELETE FROM ip_allow_rules WHERE id = @id", ct, ("id", id));
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, true);
        }, cancellationToken);

    Task<IReadOnlyList<IpAllowRule>> IIpAllowRuleStore.ListAsync(ProjectName? project, CancellationToken cancellationToken)
    {
        var value = project is { } p ? Require(p) : null;
        return _db.ReadAsync<IReadOnlyList<IpAllowRule>>(async (c, ct) => value is null
            ? await ListAsync(c, IpRuleColumns + "WHERE r.project_id IS NULL ORDER BY r.id", ReadIpRule, ct)
            : await ListAsync(c, IpRuleColumns + "WHERE p.name = @project ORDER BY r.id", ReadIpRule, ct, ("project", value)), cancellationToken);
    }
}
