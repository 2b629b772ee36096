using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Oci;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;
using static Berth.Core.Access.AccessWords;

namespace Berth.Metadata.Sqlite;

/// <summary><see cref="IAuditLog"/> on SQLite: the <c>audit_log</c> table. See <see cref="SqliteAccess"/> for how values are stored.</summary>
public sealed class SqliteAuditLog : IAuditLog
{
    private readonly SqliteDatabase _db;

    public SqliteAuditLog(SqliteDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _db = db;
    }

    private const string AuditColumns = "SELECT id, at, actor_kind, actor_name, action, project, repository, detail, client_address FROM audit_log ";

    private static AuditEntry ReadAudit(SqliteDataReader r) => new()
    {
        Id = r.GetInt64(0),
        At = Time(r.GetInt64(1)),
        ActorKind = ParseActorKind(r.GetString(2)),
        ActorName = r.GetString(3),
        Action = r.GetString(4),
        Project = ProjectName.TryParse(Text(r, 5), out var project) ? project : null,
        Repository = RepositoryName.TryParse(Text(r, 6), out var repository) ? repository : null,
        Detail = Text(r, 7),
        ClientAddress = IPAddress.TryParse(Text(r, 8), out var address) ? address : null,
    };

    private const string InsertAudit =
        """
        INSERT INTO audit_log (at, actor_kind, actor_name, action, project, repository, detail, client_address)
        VALUES ($at, $kind, $actor, $action, $project, $repository, $detail, $address)
        RETURNING id
        """;

    Task<long> IAuditLog.AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        var values = Values(entry);
        return _db.WriteAsync((c, _) => ((long)c.Command(InsertAudit, values).ExecuteScalar()!, true), cancellationToken);
    }

    /// <summary>All in one transaction (one commit for the lot): all or none.</summary>
    Task IAuditLog.AppendManyAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var values = entries.Select(Values).ToList(); // every entry checked before anything is written
        if (values.Count == 0)
        {
            return Task.CompletedTask;
        }

        return _db.WriteAsync((c, _) =>
        {
            foreach (var args in values)
            {
                c.Command(InsertAudit, args).ExecuteScalar();
            }

            return (0, true);
        }, cancellationToken);
    }

    /// <summary>The insert's parameters for <paramref name="entry"/>, after the contract's checks (ArgumentException).</summary>
    private static (string Name, object? Value)[] Values(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(entry.ActorName);
        var kind = Word(entry.ActorKind);
        if (string.IsNullOrWhiteSpace(entry.Action) || entry.Action.Length > AuditEntry.MaxActionLength)
        {
            throw new ArgumentException($"An audit action is 1 to {AuditEntry.MaxActionLength} characters.", nameof(entry));
        }

        var project = entry.Project;
        if (entry.Repository is { } repository)
        {
            var owner = ProjectName.Of(repository);
            if (project is { } given && given != owner)
            {
                throw new ArgumentException($"Repository '{repository}' is not in project '{given}'.", nameof(entry));
            }

            project = owner;
        }

        if (entry.Detail is { } detail)
        {
            try
            {
                using var _ = JsonDocument.Parse(detail);
            }
            catch (JsonException ex)
            {
                throw new ArgumentException("The audit detail is not a JSON document.", nameof(entry), ex);
            }
        }

        return
        [
            ("$at", entry.At.ToUnixTimeMilliseconds()), ("$kind", kind), ("$actor", entry.ActorName), ("$action", entry.Action),
            ("$project", project?.Value), ("$repository", entry.Repository?.Value), ("$detail", entry.Detail),
            ("$address", entry.ClientAddress?.ToString()),
        ];
    }

    Task<Page<AuditEntry>> IAuditLog.QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = PageSize.Clamp(query.Limit);

        // Only the clauses of the filters that are set, so SQLite plans each combination with the matching index
        // ("$p IS NULL OR project = $p" is planned once per prepared statement and could use none). The text is
        // built from fixed fragments (values are always parameters), so at most 2^7 statements get prepared.
        var sql = new StringBuilder(AuditColumns).Append("WHERE 1 = 1");
        var args = new List<(string Name, object? Value)>();
        if (query.Project is { } project)
        {
            sql.Append(" AND project = $project");
            args.Add(("$project", Require(project)));
        }

        if (query.ActorKind is { } actorKind)
        {
            sql.Append(" AND actor_kind = $kind");
            args.Add(("$kind", Word(actorKind)));
        }

        if (query.ActorName is { } actor)
        {
            sql.Append(" AND actor_name = $actor");
            args.Add(("$actor", actor));
        }

        if (query.Action is { } action)
        {
            sql.Append(" AND action = $action");
            args.Add(("$action", action));
        }

        if (query.From is { } from)
        {
            sql.Append(" AND at >= $from");
            args.Add(("$from", from.ToUnixTimeMilliseconds()));
        }

        if (query.Until is { } until)
        {
            sql.Append(" AND at < $until");
            args.Add(("$until", until.ToUnixTimeMilliseconds()));
        }

        if (query.BeforeId is { } before)
        {
            sql.Append(" AND id < $before");
            args.Add(("$before", before));
        }

        sql.Append(" ORDER BY id DESC LIMIT $limit");
        args.Add(("$limit", limit + 1));
        var text = sql.ToString();
        var parameters = args.ToArray();
        return Task.FromResult(_db.Read(c => Page(c.Command(text, parameters), limit, ReadAudit)));
    }

    Task<int> IAuditLog.DeleteBeforeAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return _db.WriteAsync((c, _) =>
        {
            var deleted = c.Command(
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $before ORDER BY id LIMIT $limit)",
                ("$before", before.ToUnixTimeMilliseconds()), ("$limit", limit)).ExecuteNonQuery();
            return (deleted, true);
        }, cancellationToken);
    }
}
