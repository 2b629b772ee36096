using Berth.Core.Access;
using Berth.Core.Metadata;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary><see cref="IIpAllowRuleStore"/> on SQLite: the <c>ip_allow_rules</c> table (server-wide rules have no project). See <see cref="SqliteAccess"/> for how values are stored.</summary>
public sealed class SqliteIpAllowRuleStore : IIpAllowRuleStore
{
    private readonly SqliteDatabase _db;
    private readonly TimeProvider _clock;

    public SqliteIpAllowRuleStore(SqliteDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The store's current time, truncated to what the database keeps (milliseconds).</summary>
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private const string IpRuleColumns = "SELECT r.id, p.name, r.network, r.note, r.created_at FROM ip_allow_rules r LEFT JOIN projects p ON p.id = r.project_id ";

    private static IpAllowRule ReadIpRule(SqliteDataReader r) =>
        new(r.GetInt64(0), r.IsDBNull(1) ? null : ProjectName.Parse(r.GetString(1)), r.GetString(2), Text(r, 3), Time(r.GetInt64(4)));

    Task<IpRuleAddResult> IIpAllowRuleStore.AddAsync(ProjectName? project, string network, string? note, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(network);
        if (project is { } p)
        {
            Require(p);
        }

        return _db.WriteAsync((c, _) =>
        {
            long? projectId = null;
            if (project is { } name)
            {
                projectId = ProjectId(c, name);
                if (projectId is null)
                {
                    return (new IpRuleAddResult(IpRuleAddStatus.ProjectNotFound), false);
                }
            }

            var now = Now;
            var id = Scalar<long>(c.Command(
                "INSERT INTO ip_allow_rules (project_id, network, note, created_at) VALUES ($project, $network, $note, $now) ON CONFLICT DO NOTHING RETURNING id",
                ("$project", projectId), ("$network", network), ("$note", note), ("$now", now)));
            return id is null
                ? (new IpRuleAddResult(IpRuleAddStatus.Duplicate), false)
                : (new IpRuleAddResult(IpRuleAddStatus.Added, new IpAllowRule(id.Value, project, network, note, Time(now))), true);
        }, cancellationToken);
    }

    Task<DeleteResult> IIpAllowRuleStore.RemoveAsync(long id, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var deleted = c.Command("DELETE FROM ip_allow_rules WHERE id = $id", ("$id", id)).ExecuteNonQuery();
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, true);
        }, cancellationToken);

    Task<IReadOnlyList<IpAllowRule>> IIpAllowRuleStore.ListAsync(ProjectName? project, CancellationToken cancellationToken)
    {
        var value = project is { } p ? Require(p) : null;
        return Task.FromResult<IReadOnlyList<IpAllowRule>>(_db.Read(c => value is null
            ? List(c.Command(IpRuleColumns + "WHERE r.project_id IS NULL ORDER BY r.id"), ReadIpRule)
            : List(c.Command(IpRuleColumns + "WHERE p.name = $project ORDER BY r.id", ("$project", value)), ReadIpRule)));
    }
}
