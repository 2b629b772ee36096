using Berth.Core.Access;
using Berth.Core.Registry;
using Npgsql;

namespace Berth.Metadata.Postgres;

/// <summary>
/// What the PostgreSQL access-control stores (one class per <c>Berth.Core.Access</c> contract, all over the one
/// <see cref="PostgresDatabase"/>, mirroring the SQLite provider file by file) share. Every store member is an explicit
/// interface implementation. Values are stored as in SQLite: times as Unix milliseconds, enums as lower-case words.
/// Each write that checks before it changes runs in one <see cref="PostgresDatabase.WriteAsync{T}"/> call (SERIALIZABLE,
/// retried), so its checks and changes form one transaction on every node; a write that is one statement with nothing
/// to check first runs on its own at READ COMMITTED (<see cref="ExecuteAsync"/>).
/// </summary>
internal static class PostgresAccess
{
    internal static DateTimeOffset Time(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    internal static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Time(reader.GetInt64(ordinal));

    internal static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    internal static Task<long?> ProjectIdAsync(NpgsqlConnection c, ProjectName project, CancellationToken cancellationToken) =>
        ScalarAsync<long>(c, "SELECT id FROM projects WHERE name = @name", cancellationToken, ("name", Require(project)));

    internal static async Task<T?> ScalarAsync<T>(NpgsqlConnection c, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] args)
        where T : struct
    {
        await using var command = PostgresDatabase.Command(c, sql, args);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The first statement of a delete of registry content (a project, a repository): every table a push writes, in
    /// the order pushes take them (repositories first), in a mode that waits for the writes in flight and holds new ones
    /// back until the delete commits, while reads go on. One list, so a table added to the registry is locked by every
    /// such delete.
    /// </summary>
    internal const string LockRegistryTables =
        "LOCK TABLE repositories, repository_blobs, manifests, manifest_references, tags, uploads IN SHARE ROW EXCLUSIVE MODE";

    internal static async Task<int> NonQueryAsync(NpgsqlConnection c, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] args)
    {
        await using var command = PostgresDatabase.Command(c, sql, args);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static async Task<List<T>> ListAsync<T>(NpgsqlConnection c, string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken,
        params (string Name, object? Value)[] args)
    {
        await using var command = PostgresDatabase.Command(c, sql, args);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(read(reader));
        }

        return list;
    }

    internal static async Task<T?> SingleAsync<T>(NpgsqlConnection c, string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken,
        params (string Name, object? Value)[] args)
        where T : class
    {
        await using var command = PostgresDatabase.Command(c, sql, args);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? read(reader) : null;
    }

    /// <summary>Runs a query that asked for <c>limit + 1</c> rows and turns the extra row into <see cref="Page{T}.HasMore"/>.</summary>
    internal static async Task<Page<T>> PageAsync<T>(NpgsqlConnection c, string sql, int limit, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken,
        params (string Name, object? Value)[] args)
    {
        var items = await ListAsync(c, sql, read, cancellationToken, args);
        var hasMore = items.Count > limit;
        if (hasMore)
        {
            items.RemoveAt(items.Count - 1);
        }

        return new Page<T>(items, hasMore);
    }

    /// <summary>One statement in its own transaction at READ COMMITTED (cheap: no SERIALIZABLE bookkeeping, no retry); for writes with nothing to check first.</summary>
    internal static async Task<int> ExecuteAsync(PostgresDatabase db, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] args)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync(cancellationToken);
        return await NonQueryAsync(connection, sql, cancellationToken, args);
    }

    /// <summary>As <see cref="ExecuteAsync"/>, answering the first column of the first row (an id from <c>RETURNING</c>).</summary>
    internal static async Task<T?> ExecuteScalarAsync<T>(PostgresDatabase db, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] args)
        where T : struct
    {
        await using var connection = await db.DataSource.OpenConnectionAsync(cancellationToken);
        return await ScalarAsync<T>(connection, sql, cancellationToken, args);
    }

    internal static string Require(ProjectName project) =>
        project.Value ?? throw new ArgumentException("The project name is the default (empty) value.", nameof(project));

    internal static string Require(UserName user) =>
        user.Value ?? throw new ArgumentException("The user name is the default (empty) value.", nameof(user));

    internal static void RequireActions(RegistryActions actions)
    {
        if ((actions & ~(RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(actions), actions, "Only pull, push and delete exist.");
        }
    }

    /// <summary>
    /// PostgreSQL text cannot hold U+0000 (SQLite can): free text that carries one is refused as bad input with an
    /// <see cref="ArgumentException"/> before it reaches the server, instead of failing there as a server error.
    /// </summary>
    internal static string? RequireStorable(string? text, string parameterName)
    {
        if (text is not null && text.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The text contains U+0000, which the database cannot store.", parameterName);
        }

        return text;
    }
}
