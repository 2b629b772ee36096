using Berth.Core.Access;
using Berth.Core.Registry;
using Microsoft.Data.Sqlite;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// The access-control contracts on SQLite (migration 2). Every member is an explicit interface implementation: the
/// role interfaces share method names (<c>GetAsync(long)</c> for users, robots and tokens). Times are Unix
/// milliseconds; enums are stored as lower-case words so the database reads well in a shell. Each write runs in
/// one <see cref="SqliteDatabase.WriteAsync{T}"/> call, so its checks and changes form one transaction.
/// </summary>
public sealed partial class SqliteAccessStore
    : IProjectStore, IUserStore, IMembershipStore, IRobotAccountStore, IAccessTokenStore, IIpAllowRuleStore, IAuditLog
{
    private readonly SqliteDatabase _db;
    private readonly TimeProvider _clock;

    public SqliteAccessStore(SqliteDatabase db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _clock = clock;
    }

    /// <summary>The store's current time, truncated to what the database keeps (milliseconds).</summary>
    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private static DateTimeOffset Time(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    private static DateTimeOffset? Time(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Time(reader.GetInt64(ordinal));

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long? ProjectId(SqliteDatabase.Connection c, ProjectName project) =>
        Scalar<long>(c.Command("SELECT id FROM projects WHERE name = $name", ("$name", Require(project))));

    private static T? Scalar<T>(SqliteCommand command) where T : struct
    {
        var value = command.ExecuteScalar();
        return value is null or DBNull ? null : (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static List<T> List<T>(SqliteCommand command, Func<SqliteDataReader, T> read)
    {
        var list = new List<T>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            list.Add(read(reader));
        }

        return list;
    }

    private static T? Single<T>(SqliteCommand command, Func<SqliteDataReader, T> read) where T : class
    {
        using var reader = command.ExecuteReader();
        return reader.Read() ? read(reader) : null;
    }

    /// <summary>Runs a query that asked for <c>limit + 1</c> rows and turns the extra row into <see cref="Page{T}.HasMore"/>.</summary>
    private static Page<T> Page<T>(SqliteCommand command, int limit, Func<SqliteDataReader, T> read)
    {
        var items = List(command, read);
        var hasMore = items.Count > limit;
        if (hasMore)
        {
            items.RemoveAt(items.Count - 1);
        }

        return new Page<T>(items, hasMore);
    }

    private static string Require(ProjectName project) =>
        project.Value ?? throw new ArgumentException("The project name is the default (empty) value.", nameof(project));

    private static string Require(UserName user) =>
        user.Value ?? throw new ArgumentException("The user name is the default (empty) value.", nameof(user));

    private static void RequireActions(RegistryActions actions)
    {
        if ((actions & ~(RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(actions), actions, "Only pull, push and delete exist.");
        }
    }

    // ------------------------------------------------------------------ enum words

    private static string Word(ProjectVisibility visibility) => visibility switch
    {
        ProjectVisibility.Private => "private",
        ProjectVisibility.Public => "public",
        _ => throw new ArgumentOutOfRangeException(nameof(visibility), visibility, null),
    };

    private static ProjectVisibility ParseVisibility(string word) => word == "public" ? ProjectVisibility.Public : ProjectVisibility.Private;

    private static string Word(ProjectRole role) => role switch
    {
        ProjectRole.Reader => "reader",
        ProjectRole.Developer => "developer",
        ProjectRole.Maintainer => "maintainer",
        ProjectRole.Owner => "owner",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    private static ProjectRole ParseRole(string word) => word switch
    {
        "owner" => ProjectRole.Owner,
        "maintainer" => ProjectRole.Maintainer,
        "developer" => ProjectRole.Developer,
        _ => ProjectRole.Reader,
    };

    private static string Word(AuditActorKind kind) => kind switch
    {
        AuditActorKind.Anonymous => "anonymous",
        AuditActorKind.User => "user",
        AuditActorKind.Robot => "robot",
        AuditActorKind.System => "system",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private static AuditActorKind ParseActorKind(string word) => word switch
    {
        "user" => AuditActorKind.User,
        "robot" => AuditActorKind.Robot,
        "system" => AuditActorKind.System,
        _ => AuditActorKind.Anonymous,
    };
}
