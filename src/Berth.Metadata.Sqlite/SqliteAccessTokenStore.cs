using System.Text.Json;
using Berth.Core.Access;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sqlite.SqliteAccess;

namespace Berth.Metadata.Sqlite;

/// <summary><see cref="IAccessTokenStore"/> on SQLite: the <c>access_tokens</c> table. See <see cref="SqliteAccess"/> for how values are stored.</summary>
public sealed class SqliteAccessTokenStore : IAccessTokenStore
{
    private readonly SqliteDatabase _db;
    private readonly TimeProvider _clock;

    public SqliteAccessTokenStore(SqliteDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The store's current time, truncated to what the database keeps (milliseconds).</summary>
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

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
}
