using Berth.Core.Access;
using Berth.Core.Immutability;
using Berth.Core.Metadata;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IImmutabilityRuleStore"/> on PostgreSQL: the <c>immutability_rules</c> table (migration 3), as
/// <c>SqliteImmutabilityRuleStore</c>. The add counts and inserts in one SERIALIZABLE transaction (retried), so two
/// concurrent adds cannot pass the cap together. The registry store reads the rules in its own transactions
/// (<see cref="RulesSql"/>).
/// </summary>
public sealed class PostgresImmutabilityRuleStore : IImmutabilityRuleStore
{
    private readonly PostgresDatabase _db;
    private readonly TimeProvider _clock;

    public PostgresImmutabilityRuleStore(PostgresDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The rules of the project named by the one positional parameter <c>$1</c>, by id.</summary>
    internal const string RulesSql =
        """
        SELECT r.id, r.repositories_matching, r.repositories_excluding, r.tags_matching, r.tags_excluding, r.created_at
        FROM immutability_rules r JOIN projects p ON p.id = r.project_id WHERE p.name = $1 ORDER BY r.id
        """;

    internal static ImmutabilityRule Read(NpgsqlDataReader r) =>
        StoredPatterns.Rule(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt64(5));

    /// <summary>Reads the rows of a <see cref="RulesSql"/> result.</summary>
    internal static async Task<List<ImmutabilityRule>> ReadAllAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var rules = new List<ImmutabilityRule>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rules.Add(Read(reader));
        }

        return rules;
    }

    /// <summary>The project's rules as the connection's transaction sees them.</summary>
    internal static async Task<List<ImmutabilityRule>> LoadAsync(NpgsqlConnection c, string project, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(RulesSql, c);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = project });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadAllAsync(reader, cancellationToken);
    }

    public Task<ImmutabilityRuleAddResult> AddAsync(ProjectName project, PatternFilter repositories, PatternFilter tags, int maxRules, CancellationToken cancellationToken)
    {
        Require(project);
        ArgumentNullException.ThrowIfNull(repositories);
        ArgumentNullException.ThrowIfNull(tags);
        return _db.WriteAsync(async (c, _, ct) =>
        {
            if (await ProjectIdAsync(c, project, ct) is not { } projectId)
            {
                return (new ImmutabilityRuleAddResult(ImmutabilityRuleAddStatus.ProjectNotFound), false);
            }

            var count = await ScalarAsync<long>(c, "SELECT COUNT(*) FROM immutability_rules WHERE project_id = @project", ct, ("project", projectId)) ?? 0;
            if (count >= maxRules)
            {
                return (new ImmutabilityRuleAddResult(ImmutabilityRuleAddStatus.LimitReached), false);
            }

            var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            var id = (await ScalarAsync<long>(c,
                """
                INSERT INTO immutability_rules (project_id, repositories_matching, repositories_excluding, tags_matching, tags_excluding, created_at)
                VALUES (@project, @rm, @rx, @tm, @tx, @now) RETURNING id
                """,
                ct, ("project", projectId), ("rm", StoredPatterns.Join(repositories.Matching)), ("rx", StoredPatterns.Join(repositories.Excluding)),
                ("tm", StoredPatterns.Join(tags.Matching)), ("tx", StoredPatterns.Join(tags.Excluding)), ("now", now)))!.Value;
            return (new ImmutabilityRuleAddResult(ImmutabilityRuleAddStatus.Added, new ImmutabilityRule(id, repositories, tags, Time(now))), true);
        }, cancellationToken);
    }

    public Task<DeleteResult> RemoveAsync(ProjectName project, long id, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var deleted = await NonQueryAsync(c,
                "DELETE FROM immutability_rules WHERE id = @id AND project_id = (SELECT id FROM projects WHERE name = @project)",
                ct, ("id", id), ("project", name));
            return (deleted > 0 ? DeleteResult.Deleted : DeleteResult.NotFound, deleted > 0);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ImmutabilityRule>> ListAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var name = Require(project);
        return _db.ReadAsync<IReadOnlyList<ImmutabilityRule>>(async (c, ct) => await LoadAsync(c, name, ct), cancellationToken);
    }
}
