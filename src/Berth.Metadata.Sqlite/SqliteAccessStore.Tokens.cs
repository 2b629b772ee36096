using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Oci;
using Microsoft.Data.Sqlite;

namespace Berth.Metadata.Sqlite;

public sealed partial class SqliteAccessStore
{
    // ------------------------------------------------------------------ access tokens

    // The owner's name is joined in, never stored, so it is always the current one.
    private const string TokenColumns =
        """
        SELECT t.id, t.lookup_id, t.secret_hash, t.name, t.owner_user_id, t.owner_robot_id, u.name, p.name || '+' || r.name,
               t.scope, t.projects, t.created_at, t.expires_at, t.revoked_at, t.last_used_at
        FROM access_tokens t
        LEFT JOIN users u ON u.id = t.owner_user_id
        LEFT JOIN robot_accounts r ON r.id = t.owner_robot_id
        LEFT JOIN projects p ON p.id = r.project_id

        """;

    private static AccessToken ReadToken(SqliteDataReader r)
    {
        var owner = r.IsDBNull(4)
            ? TokenOwner.Robot(r.GetInt64(5), r.GetString(7))
            : TokenOwner.User(r.GetInt64(4), r.GetString(6));
        return new AccessToken
        {
            Id = r.GetInt64(0),
            LookupId = r.GetString(1),
            SecretHash = r.GetString(2),
            Name = r.GetString(3),
            Owner = owner,
            Scope = (AccessTokenScope)r.GetInt32(8),
            Projects = r.IsDBNull(9) ? null : JsonSerializer.Deserialize<string[]>(r.GetString(9)),
            CreatedAt = Time(r.GetInt64(10)),
            ExpiresAt = Time(r.GetInt64(11)),
            RevokedAt = Time(r, 12),
            LastUsedAt = Time(r, 13),
        };
    }

    Task<TokenCreateResult> IAccessTokenStore.CreateAsync(AccessToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(token.Owner);
        ArgumentException.ThrowIfNullOrEmpty(token.LookupId);
        ArgumentException.ThrowIfNullOrEmpty(token.SecretHash);
        ArgumentException.ThrowIfNullOrWhiteSpace(token.Name);
        if (!Enum.IsDefined(token.Scope))
        {
            throw new ArgumentOutOfRangeException(nameof(token), token.Scope, "Undefined token scope.");
        }

        if (token.Projects is { Count: 0 })
        {
            throw new ArgumentException("A token's project list is null (no restriction) or not empty.", nameof(token));
        }

        var isUser = token.Owner.Kind switch
        {
            TokenOwnerKind.User => true,
            TokenOwnerKind.Robot => false,
            _ => throw new ArgumentOutOfRangeException(nameof(token), token.Owner.Kind, "Undefined owner kind."),
        };
        var projects = token.Projects is null ? null : JsonSerializer.Serialize(token.Projects);
        return _db.WriteAsync((c, _) =>
        {
            var ownerId = token.Owner.Id;
            var ownerExists = Scalar<long>(isUser
                ? c.Command("SELECT id FROM users WHERE id = $id", ("$id", ownerId))
                : c.Command("SELECT id FROM robot_accounts WHERE id = $id", ("$id", ownerId))) is not null;
            if (!ownerExists)
            {
                return (new TokenCreateResult(TokenCreateStatus.OwnerNotFound), false);
            }

            if (Scalar<long>(c.Command("SELECT id FROM access_tokens WHERE lookup_id = $lookup", ("$lookup", token.LookupId))) is not null)
            {
                return (new TokenCreateResult(TokenCreateStatus.DuplicateLookupId), false);
            }

            var nameTaken = Scalar<long>(isUser
                ? c.Command("SELECT id FROM access_tokens WHERE owner_user_id = $owner AND name = $name AND revoked_at IS NULL", ("$owner", ownerId), ("$name", token.Name))
                : c.Command("SELECT id FROM access_tokens WHERE owner_robot_id = $owner AND name = $name AND revoked_at IS NULL", ("$owner", ownerId), ("$name", token.Name))) is not null;
            if (nameTaken)
            {
                return (new TokenCreateResult(TokenCreateStatus.DuplicateName), false);
            }

            var id = (long)c.Command(
                """
                INSERT INTO access_tokens (lookup_id, secret_hash, name, owner_user_id, owner_robot_id, scope, projects, created_at, expires_at, revoked_at, last_used_at)
                VALUES ($lookup, $hash, $name, $user, $robot, $scope, $projects, $created, $expires, $revoked, $used)
                RETURNING id
                """,
                ("$lookup", token.LookupId), ("$hash", token.SecretHash), ("$name", token.Name),
                ("$user", isUser ? ownerId : null), ("$robot", isUser ? null : ownerId), ("$scope", (int)token.Scope), ("$projects", projects),
                ("$created", token.CreatedAt.ToUnixTimeMilliseconds()), ("$expires", token.ExpiresAt.ToUnixTimeMilliseconds()),
                ("$revoked", token.RevokedAt?.ToUnixTimeMilliseconds()), ("$used", token.LastUsedAt?.ToUnixTimeMilliseconds())).ExecuteScalar()!;
            var stored = Single(c.Command(TokenColumns + "WHERE t.id = $id", ("$id", id)), ReadToken);
            return (new TokenCreateResult(TokenCreateStatus.Created, stored), true);
        }, cancellationToken);
    }

    Task<AccessToken?> IAccessTokenStore.GetAsync(long id, CancellationToken cancellationToken) =>
        Task.FromResult(_db.Read(c => Single(c.Command(TokenColumns + "WHERE t.id = $id", ("$id", id)), ReadToken)));

    Task<AccessToken?> IAccessTokenStore.FindByLookupIdAsync(string lookupId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookupId);
        return Task.FromResult(_db.Read(c => Single(c.Command(TokenColumns + "WHERE t.lookup_id = $lookup", ("$lookup", lookupId)), ReadToken)));
    }

    Task<Page<AccessToken>> IAccessTokenStore.ListByOwnerAsync(TokenOwnerKind ownerKind, long ownerId, long? afterId, int limit, CancellationToken cancellationToken)
    {
        limit = PageSize.Clamp(limit);
        var sql = ownerKind switch
        {
            TokenOwnerKind.User => TokenColumns + "WHERE t.owner_user_id = $owner AND t.id > $after ORDER BY t.id LIMIT $limit",
            TokenOwnerKind.Robot => TokenColumns + "WHERE t.owner_robot_id = $owner AND t.id > $after ORDER BY t.id LIMIT $limit",
            _ => throw new ArgumentOutOfRangeException(nameof(ownerKind), ownerKind, null),
        };
        return Task.FromResult(_db.Read(c => Page(c.Command(sql,
            ("$owner", ownerId), ("$after", afterId ?? 0), ("$limit", limit + 1)), limit, ReadToken)));
    }

    Task<TokenRevokeStatus> IAccessTokenStore.RevokeAsync(long id, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var revoked = c.Command("UPDATE access_tokens SET revoked_at = $now WHERE id = $id AND revoked_at IS NULL", ("$id", id), ("$now", Now)).ExecuteNonQuery();
            if (revoked > 0)
            {
                return (TokenRevokeStatus.Revoked, true);
            }

            var exists = Scalar<long>(c.Command("SELECT id FROM access_tokens WHERE id = $id", ("$id", id))) is not null;
            return (exists ? TokenRevokeStatus.AlreadyRevoked : TokenRevokeStatus.NotFound, false);
        }, cancellationToken);

    Task<UpdateResult> IAccessTokenStore.SetLastUsedAsync(long id, DateTimeOffset at, CancellationToken cancellationToken) =>
        _db.WriteAsync((c, _) =>
        {
            var updated = c.Command(
                "UPDATE access_tokens SET last_used_at = MAX(COALESCE(last_used_at, $at), $at) WHERE id = $id",
                ("$id", id), ("$at", at.ToUnixTimeMilliseconds())).ExecuteNonQuery();
            return (updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound, true);
        }, cancellationToken);

    // ------------------------------------------------------------------ audit log

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

    Task<long> IAuditLog.AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
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

        return _db.WriteAsync((c, _) =>
        {
            var id = (long)c.Command(
                """
                INSERT INTO audit_log (at, actor_kind, actor_name, action, project, repository, detail, client_address)
                VALUES ($at, $kind, $actor, $action, $project, $repository, $detail, $address)
                RETURNING id
                """,
                ("$at", entry.At.ToUnixTimeMilliseconds()), ("$kind", kind), ("$actor", entry.ActorName), ("$action", entry.Action),
                ("$project", project?.Value), ("$repository", entry.Repository?.Value), ("$detail", entry.Detail),
                ("$address", entry.ClientAddress?.ToString())).ExecuteScalar()!;
            return (id, true);
        }, cancellationToken);
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
