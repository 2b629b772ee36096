using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Oci;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;
using static Berth.Core.Access.AccessWords;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IAuditLog"/> on PostgreSQL: the <c>audit_log</c> table. The detail is a <c>json</c> column, which keeps
/// the text as written (jsonb would reorder keys and drop whitespace), so an entry reads back exactly as appended.
/// Appends and prunes are single statements at READ COMMITTED (nothing to check first, never retried); ids come from
/// the identity sequence, so they increase and are never reused on any node. See <see cref="PostgresAccess"/> for how
/// values are stored.
/// </summary>
public sealed class PostgresAuditLog : IAuditLog
{
    private readonly PostgresDatabase _db;

    public PostgresAuditLog(PostgresDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _db = db;
    }

    private const string AuditColumns = "SELECT id, at, actor_kind, actor_name, action, project, repository, detail::text, client_address FROM audit_log ";

    private static AuditEntry ReadAudit(NpgsqlDataReader r) => new()
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
        VALUES (@at, @kind, @actor, @action, @project, @repository, @detail::json, @address)
        RETURNING id
        """;

    async Task<long> IAuditLog.AppendAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        (await ExecuteScalarAsync<long>(_db, InsertAudit, cancellationToken, Values(entry)))!.Value;

    /// <summary>One round trip for all of them: the inserts in one batch, which PostgreSQL runs as one transaction.</summary>
    async Task IAuditLog.AppendManyAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var values = entries.Select(Values).ToList(); // every entry checked before anything is sent
        if (values.Count == 0)
        {
            return;
        }

        await using var connection = await _db.DataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var args in values)
        {
            var command = new NpgsqlBatchCommand(InsertAudit);
            foreach (var (name, value) in args)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
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

        RequireStorable(entry.ActorName, nameof(entry));
        RequireStorable(entry.Action, nameof(entry));
        RequireStorable(entry.Detail, nameof(entry));
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
            ("at", entry.At.ToUnixTimeMilliseconds()), ("kind", kind), ("actor", entry.ActorName), ("action", entry.Action),
            ("project", project?.Value), ("repository", entry.Repository?.Value), ("detail", entry.Detail),
            ("address", entry.ClientAddress?.ToString()),
        ];
    }

    Task<Page<AuditEntry>> IAuditLog.QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = PageSize.Clamp(query.Limit);

        // Only the clauses of the filters that are set, so PostgreSQL plans each combination with the matching index
        // ("@p IS NULL OR project = @p" could use none). The text is built from fixed fragments (values are always
        // parameters). The actor compares through the index's expression: ASCII case folding under "C", as SQLite's NOCASE.
        var sql = new StringBuilder(AuditColumns).Append("WHERE true");
        var args = new List<(string Name, object? Value)>();
        if (query.Project is { } project)
        {
            sql.Append(" AND project = @project");
            args.Add(("project", Require(project)));
        }

        if (query.ActorKind is { } actorKind)
        {
            sql.Append(" AND actor_kind = @kind");
            args.Add(("kind", Word(actorKind)));
        }

        if (query.ActorName is { } actor)
        {
            if (actor.Contains('\0', StringComparison.Ordinal))
            {
                return Task.FromResult(new Page<AuditEntry>([], false)); // never stored
            }

            sql.Append(" AND lower(actor_name COLLATE \"C\") = lower(@actor COLLATE \"C\")");
            args.Add(("actor", actor));
        }

        if (query.Action is { } action)
        {
            if (action.Contains('\0', StringComparison.Ordinal))
            {
                return Task.FromResult(new Page<AuditEntry>([], false)); // never stored
            }

            sql.Append(" AND action = @action");
            args.Add(("action", action));
        }

        if (query.From is { } from)
        {
            sql.Append(" AND at >= @from");
            args.Add(("from", from.ToUnixTimeMilliseconds()));
        }

        if (query.Until is { } until)
        {
            sql.Append(" AND at < @until");
            args.Add(("until", until.ToUnixTimeMilliseconds()));
        }

        if (query.BeforeId is { } before)
        {
            sql.Append(" AND id < @before");
            args.Add(("before", before));
        }

        sql.Append(" ORDER BY id DESC LIMIT @limit");
        args.Add(("limit", limit + 1));
        var text = sql.ToString();
        var parameters = args.ToArray();
        return _db.ReadAsync((c, ct) => PageAsync(c, text, limit, ReadAudit, ct, parameters), cancellationToken);
    }

    Task<int> IAuditLog.DeleteBeforeAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return ExecuteAsync(_db,
            "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < @before ORDER BY id LIMIT @limit)",
            cancellationToken, ("before", before.ToUnixTimeMilliseconds()), ("limit", limit));
    }
}
