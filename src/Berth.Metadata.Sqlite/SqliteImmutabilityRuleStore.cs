using Berth.Core.Access;
using Berth.Core.Immutability;
using Berth.Core.Metadata;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// <see cref="IImmutabilityRuleStore"/> on SQLite: the <c>immutability_rules</c> table (migration 6; each filter list is
/// one text column, <see cref="StoredPatterns"/>), deleted with its project by <c>ON DELETE CASCADE</c>. The registry
/// store reads the rules inside its own write transactions through <see cref="Load"/>.
/// </summary>
public sealed class SqliteImmutabilityRuleStore : IImmutabilityRuleStore
{
    private readonly SqliteDatabase _db;
    private readonly TimeProvider _clock;

    public SqliteImmutabilityRuleStore(SqliteDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    private const string Columns =
        "SELECT r.id, r.repositories_matching, r.repositories_excluding, r.tags_matching, r.tags_excluding, r.created_at FROM immutability_rules r JOIN projects p ON p.id = r.project_id ";

    private static ImmutabilityRule Read(SqliteDataReader r) =>
        StoredPatterns.Rule(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt64(5));

    /// <summary>The rules of the project <paramref name="project"/> as the open connection (and its transaction) sees them.</summary>
    internal static List<ImmutabilityRule> Load(SqliteDatabase.Connection c, string project) =>
        List(c.Command(Columns + "WHERE p.name = $project ORDER BY r.id", ("$project", project)), Read);

    public Task<ImmutabilityRuleAddResult> AddAsync(ProjectName project, PatternFilter repositories, PatternFilter tags, int maxRules, CancellationToken cancellationToken)
    {
        Require(project);
        ArgumentNullException.ThrowIfNull(repositories);
        ArgumentNullException.ThrowIfNull(tags);
        return _db.WriteAsync((c, _) =>
        {
            if (ProjectId(c, project) is not { } projectId)
            {
                return (new ImmutabilityRuleAddResult(ImmutabilityRuleAddStatus.ProjectNotFound), false);
            }

            var count = Scalar<long>(c.Command("SELECT COUNT(*) FROM immutability_rules WHERE project_id = $project", ("$project", projectId))) ?? 0;
            if (count >= maxRules)
            {
                return (new ImmutabilityRuleAddResult(ImmutabilityRuleAddStatus.LimitReached), false);
            }

            var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            var id = Scalar<long>(c.Command(
                """
                INSERT INTO immutability_rules (project_id, repositories_matching, repositories_excluding, tags_matching, tags_excluding, created_at)
                VALUES ($project, $rm, $rx, $tm, $tx, $now) RETURNING id
                """,
                ("$project", projectId), ("$rm", StoredPatterns.Join(repositories.Matching)), ("$rx", StoredPatterns.Join(repositories.Excluding)),
                ("$tm", StoredPatterns.Join(tags.Matching)), ("$tx", StoredPatterns.Join(tags.Excluding)), ("$now", now)))!.Value;
            return (new ImmutabilityRuleAddResult(ImmutabilityRuleAddStatus.Added, new ImmutabilityRule(id, repositories, tags, Time(now))), true);
        }, cancellationToken);
    }

    public Task<DeleteResult> RemoveAsync(ProjectName project, long id, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return _db.WriteAsync((c, _) =>
        {
            var deleted = c.Command(
                "DELETE FROM immutability_rules WHERE id = $id AND project_id = (SELECT id FROM projects WHERE name = $project)",
                ("$id", id), ("$project", name)).ExecuteNonQuery();
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, deleted > 0);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ImmutabilityRule>> ListAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return Task.FromResult<IReadOnlyList<ImmutabilityRule>>(_db.Read(c => Load(c, name)));
    }
}
