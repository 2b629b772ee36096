using Berth.Core.Access;
using Berth.Core.Registry;
using Microsoft.Data.Sqlite;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// What the SQLite access-control stores (migration 2; one class per <c>Berth.Core.Access</c> contract, all over the one
/// <see cref="SqliteDatabase"/>) share. Every store member is an explicit interface implementation. Times are Unix
/// milliseconds; enums are stored as lower-case words so the database reads well in a shell. Each write runs in one
/// <see cref="SqliteDatabase.WriteAsync{T}"/> call, so its checks and changes form one transaction.
/// </summary>
internal static class SqliteAccess
{
    internal static DateTimeOffset Time(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    internal static DateTimeOffset? Time(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Time(reader.GetInt64(ordinal));

    internal static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    internal static long? ProjectId(SqliteDatabase.Connection c, ProjectName project) =>
        Scalar<long>(c.Command("SELECT id FROM projects WHERE name = $name", ("$name", Require(project))));

    internal static T? Scalar<T>(SqliteCommand command) where T : struct
    {
        var value = command.ExecuteScalar();
        return value is null or DBNull ? null : (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static List<T> List<T>(SqliteCommand command, Func<SqliteDataReader, T> read)
    {
        var list = new List<T>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            list.Add(read(reader));
        }

        return list;
    }

    internal static T? Single<T>(SqliteCommand command, Func<SqliteDataReader, T> read) where T : class
    {
        using var reader = command.ExecuteReader();
        return reader.Read() ? read(reader) : null;
    }

    /// <summary>Runs a query that asked for <c>limit + 1</c> rows and turns the extra row into <see cref="Page{T}.HasMore"/>.</summary>
    internal static Page<T> Page<T>(SqliteCommand command, int limit, Func<SqliteDataReader, T> read)
    {
        var items = List(command, read);
        var hasMore = items.Count > limit;
        if (hasMore)
        {
            items.RemoveAt(items.Count - 1);
        }

        return new Page<T>(items, hasMore);
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
}
