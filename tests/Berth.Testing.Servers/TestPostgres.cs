using Npgsql;

namespace Berth.Testing.Servers;

/// <summary>
/// The PostgreSQL server the suites share (tests/servers/up.sh starts one and exports its variables): where it is and
/// a superuser to create throwaway databases with. Pair with
/// <c>[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]</c>.
/// </summary>
public static class TestPostgres
{
    public const string Server = "PostgreSQL";
    public const string EndpointVariable = "BERTH_TEST_POSTGRES";
    public const string DefaultEndpoint = "127.0.0.1:5432";

    /// <summary>A connection string for <paramref name="database"/> as the superuser of the test server.</summary>
    public static string ConnectionString(string database = "postgres")
    {
        var endpoint = Environment.GetEnvironmentVariable(EndpointVariable) is { Length: > 0 } e ? e : DefaultEndpoint;
        var colon = endpoint.LastIndexOf(':');
        return new NpgsqlConnectionStringBuilder
        {
            Host = endpoint[..colon],
            Port = int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture),
            Database = database,
            Username = Environment.GetEnvironmentVariable("BERTH_TEST_POSTGRES_USER") is { Length: > 0 } u ? u : "postgres",
            Password = Environment.GetEnvironmentVariable("BERTH_TEST_POSTGRES_PASSWORD") is { Length: > 0 } p ? p : "berth-test",
            Pooling = false,
        }.ConnectionString;
    }

    /// <summary>Creates an empty database with a fresh name (<paramref name="hint"/> plus random letters) and answers its connection string.</summary>
    public static async Task<TestDatabase> CreateDatabaseAsync(string hint)
    {
        var name = "berth_" + new string(hint.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(30).ToArray()) + "_" + Guid.NewGuid().ToString("N")[..10];
        await using (var connection = new NpgsqlConnection(ConnectionString()))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        return new TestDatabase(name, new NpgsqlConnectionStringBuilder(ConnectionString(name)) { Pooling = true }.ConnectionString);
    }

    /// <summary>A throwaway database: dispose drops it (closing what is still connected to it).</summary>
    public sealed class TestDatabase(string name, string connectionString) : IAsyncDisposable
    {
        public string Name { get; } = name;

        /// <summary>The superuser's connection string for this database (pooled).</summary>
        public string ConnectionString { get; } = connectionString;

        /// <summary>The same database as a <c>postgres://</c> URI, as <c>--metadata</c> takes it.</summary>
        public Uri Uri
        {
            get
            {
                var b = new NpgsqlConnectionStringBuilder(ConnectionString);
                return new Uri($"postgres://{Uri.EscapeDataString(b.Username!)}:{Uri.EscapeDataString(b.Password!)}@{b.Host}:{b.Port}/{Name}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(TestPostgres.ConnectionString());
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
