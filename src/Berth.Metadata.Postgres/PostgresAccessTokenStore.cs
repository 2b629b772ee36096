using System.Text.Json;
using Berth.Core.Access;
using Npgsql;
using static Berth.Metadata.Postgres.PostgresAccess;

namespace Berth.Metadata.Postgres;

/// <summary>
/// <see cref="IAccessTokenStore"/> on PostgreSQL: the <c>access_tokens</c> table (project lists as jsonb arrays). Every
/// read goes to the database, so a token revoked through one node is refused by every other at its next request.
/// See <see cref="PostgresAccess"/> for how values are stored.
/// </summary>
public sealed class PostgresAccessTokenStore : IAccessTokenStore
{
    private readonly PostgresDatabase _db;
    private readonly TimeProvider _clock;

    public PostgresAccessTokenStore(PostgresDatabase db, TimeProvider clock)
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
               t.scope, t.projects::text, t.created_at, t.expires_at, t.revoked_at, t.last_used_at
        FROM access_tokens t
        LEFT JOIN users u ON u.id = t.owner_user_id
        LEFT JOIN robot_accounts r ON r.id = t.owner_robot_id
        LEFT JOIN projects p ON p.id = r.project_id

        """;

    private static AccessToken ReadToken(NpgsqlDataReader r)
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
        RequireStorable(token.LookupId, nameof(token));
        RequireStorable(token.SecretHash, nameof(token));
        RequireStorable(token.Name, nameof(token));
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
        if (token.Projects is not null)
        {
            foreach (var project in token.Projects)
            {
                RequireStorable(project, nameof(token));
            }
        }

        var projects = token.Projects is null ? null : JsonSerializer.Serialize(token.Projects);
        return _db.WriteAsync(async (c, _, ct) =>
        {
            var ownerId = token.Owner.Id;
            var ownerExists = await ScalarAsync<long>(c, isUser ? "SELECT id FROM users WHERE id = @id" : "SELECT id FROM robot_accounts WHERE id = @id",
                ct, ("id", ownerId)) is not null;
            if (!ownerExists)
            {
                return (new TokenCreateResult(TokenCreateStatus.OwnerNotFound), false);
            }

            if (await ScalarAsync<long>(c, "SELECT id FROM access_tokens WHERE lookup_id = @lookup", ct, ("lookup", token.LookupId)) is not null)
            {
                return (new TokenCreateResult(TokenCreateStatus.DuplicateLookupId), false);
            }

            var nameTaken = await ScalarAsync<long>(c, isUser
                    ? "SELECT id FROM access_tokens WHERE owner_user_id = @owner AND name = @name AND revoked_at IS NULL"
                    : "SELECT id FROM access_tokens WHERE owner_robot_id = @owner AND name = @name AND revoked_at IS NULL",
                ct, ("owner", ownerId), ("name", token.Name)) is not null;
            if (nameTaken)
            {
                return (new TokenCreateResult(TokenCreateStatus.DuplicateName), false);
            }

            // A racing insert of the same lookup id or name is seen by the checks above when the write is retried
            // (SERIALIZABLE reports the collision as a serialization failure).
            var id = (await ScalarAsync<long>(c,
                """
                INSERT INTO access_tokens (lookup_id, secret_hash, name, owner_user_id, owner_robot_id, scope, projects, created_at, expires_at, revoked_at, last_used_at)
                VALUES (@lookup, @hash, @name, @user, @robot, @scope, @projects::jsonb, @created, @expires, @revoked, @used)
                RETURNING id
                """,
                ct, ("lookup", token.LookupId), ("hash", token.SecretHash), ("name", token.Name),
                ("user", isUser ? ownerId : null), ("robot", isUser ? null : ownerId), ("scope", (int)token.Scope), ("projects", projects),
                ("created", token.CreatedAt.ToUnixTimeMilliseconds()), ("expires", token.ExpiresAt.ToUnixTimeMilliseconds()),
                ("revoked", token.RevokedAt?.ToUnixTimeMilliseconds()), ("used", token.LastUsedAt?.ToUnixTimeMilliseconds())))!.Value;
            var stored = await SingleAsync(c, TokenColumns + "WHERE t.id = @id", ReadToken, ct, ("id", id));
            return (new TokenCreateResult(TokenCreateStatus.Created, stored), true);
        }, cancellationToken);
    }

    Task<AccessToken?> IAccessTokenStore.GetAsync(long id, CancellationToken cancellationToken) =>
        _db.ReadAsync((c, ct) => SingleAsync(c, TokenColumns + "WHERE t.id = @id", ReadToken, ct, ("id", id)), cancellationToken);

    Task<AccessToken?> IAccessTokenStore.FindByLookupIdAsync(string lookupId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookupId);
        if (lookupId.Contains('\0', StringComparison.Ordinal))
        {
            return Task.FromResult<AccessToken?>(null); // no stored lookup id holds one (and the server could not compare it)
        }

        return _db.ReadAsync((c, ct) => SingleAsync(c, TokenColumns + "WHERE t.lookup_id = @lookup", ReadToken, ct, ("lookup", lookupId)), cancellationToken);
    }

    Task<Page<AccessToken>> IAccessTokenStore.ListByOwnerAsync(TokenOwnerKind ownerKind, long ownerId, long? afterId, int limit, CancellationToken cancellationToken)
    {
        limit = PageSize.Clamp(limit);
        var sql = ownerKind switch
        {
            TokenOwnerKind.User => TokenColumns + "WHERE t.owner_user_id = @owner AND t.id > @after ORDER BY t.id LIMIT @limit",
            TokenOwnerKind.Robot => TokenColumns + "WHERE t.owner_robot_id = @owner AND t.id > @after ORDER BY t.id LIMIT @limit",
            _ => throw new ArgumentOutOfRangeException(nameof(ownerKind), ownerKind, null),
        };
        return _db.ReadAsync((c, ct) => PageAsync(c, sql, limit, ReadToken, ct,
            ("owner", ownerId), ("after", afterId ?? 0), ("limit", limit + 1)), cancellationToken);
    }

    Task<TokenRevokeStatus> IAccessTokenStore.RevokeAsync(long id, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (c, _, ct) =>
        {
            var revoked = await NonQueryAsync(c, "UPDATE access_tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL", ct, ("id", id), ("now", Now));
            if (revoked > 0)
            {
                return (TokenRevokeStatus.Revoked, true);
            }

            var exists = await ScalarAsync<long>(c, "SELECT id FROM access_tokens WHERE id = @id", ct, ("id", id)) is not null;
            return (exists ? TokenRevokeStatus.AlreadyRevoked : TokenRevokeStatus.NotFound, false);
        }, cancellationToken);

    /// <summary>
    /// One statement at READ COMMITTED, outside the SERIALIZABLE write path: it checks nothing first, and the
    /// authenticator calls it at most once per <c>LastUsedResolution</c> (5 minutes) per token (<c>AccessTokenService.NeedsLastUsedUpdate</c>),
    /// so a busy token costs no SERIALIZABLE transaction (nor a retry) per request.
    /// </summary>
    async Task<UpdateResult> IAccessTokenStore.SetLastUsedAsync(long id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var updated = await ExecuteAsync(_db,
            "UPDATE access_tokens SET last_used_at = GREATEST(COALESCE(last_used_at, @at), @at) WHERE id = @id",
            cancellationToken, ("id", id), ("at", at.ToUnixTimeMilliseconds()));
        return updated > 0 ? UpdateResult.Updated : UpdateResult.NotFound;
    }
}
