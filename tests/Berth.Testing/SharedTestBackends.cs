using Amazon.S3.Model;
using Berth.Testing.Servers;
using Npgsql;

namespace Berth.Testing;

/// <summary>
/// What a functional test server runs on when <c>BERTH_TEST_METADATA=postgres</c> or <c>BERTH_TEST_STORAGE=s3</c> asks
/// for a server provider without naming a database or bucket: one throwaway database and one bucket per test process,
/// and in them a schema and a key prefix per data folder. Servers on the same data folder (a restart, a second node)
/// share them, as they share the folder; the last one to go drops them. Creating a schema costs milliseconds where a
/// database costs a second, which is what makes the whole functional suite affordable on PostgreSQL.
/// </summary>
internal static class SharedTestBackends
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, (string Schema, string Prefix, int Users)> ByDataPath = new(StringComparer.Ordinal);
    private static readonly Lazy<TestPostgres.TestDatabase> Database = new(() => TestPostgres.CreateDatabaseAsync("functional").GetAwaiter().GetResult());
    private static readonly Lazy<TestS3.TestBucket> Bucket = new(() => TestS3.CreateBucketAsync("functional").GetAwaiter().GetResult());

    /// <summary>
    /// Counts one more server on the data folder and answers its settings: the connection string of the folder's schema
    /// (created by the first server that asks) when <paramref name="postgres"/>, the S3 store below the folder's prefix
    /// of the process's bucket when <paramref name="s3"/>.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> Acquire(string dataPath, bool postgres, bool s3)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        lock (Gate)
        {
            if (!ByDataPath.TryGetValue(dataPath, out var entry))
            {
                var id = Guid.NewGuid().ToString("N");
                entry = ("f_" + id, "t-" + id, 0);
                if (postgres)
                {
                    using var connection = new NpgsqlConnection(Database.Value.ConnectionString);
                    connection.Open();
                    using var create = new NpgsqlCommand($"CREATE SCHEMA {entry.Schema}", connection);
                    create.ExecuteNonQuery();
                }
            }

            ByDataPath[dataPath] = entry with { Users = entry.Users + 1 };
            if (postgres)
            {
                settings["Berth:Metadata:Postgres:ConnectionString"] =
                    new NpgsqlConnectionStringBuilder(Database.Value.ConnectionString) { SearchPath = entry.Schema }.ConnectionString;
            }

            if (s3)
            {
                const string Section = "Berth:Storage:S3:";
                settings[Section + "Bucket"] = Bucket.Value.Name;
                settings[Section + "Prefix"] = entry.Prefix;
                settings[Section + "Endpoint"] = TestS3.Endpoint;
                settings[Section + "Region"] = "us-east-1";
                settings[Section + "PathStyle"] = "true";
                settings[Section + "AccessKeyId"] = TestS3.AccessKey;
                settings[Section + "SecretAccessKey"] = TestS3.SecretKey;
            }
        }

        return settings;
    }

    /// <summary>One server on the folder is gone; the last one drops the schema and the objects below the prefix.</summary>
    public static void Release(string dataPath, bool postgres, bool s3)
    {
        string schema, prefix;
        lock (Gate)
        {
            if (!ByDataPath.TryGetValue(dataPath, out var entry))
            {
                return;
            }

            if (entry.Users > 1)
            {
                ByDataPath[dataPath] = entry with { Users = entry.Users - 1 };
                return;
            }

            ByDataPath.Remove(dataPath);
            (schema, prefix) = (entry.Schema, entry.Prefix);
        }

        if (postgres && Database.IsValueCreated)
        {
            using var connection = new NpgsqlConnection(Database.Value.ConnectionString);
            connection.Open();
            using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
            drop.ExecuteNonQuery();
        }

        if (s3 && Bucket.IsValueCreated)
        {
            var bucket = Bucket.Value;
            foreach (var key in bucket.KeysAsync(prefix + "/").GetAwaiter().GetResult())
            {
                bucket.Client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket.Name, Key = key }).GetAwaiter().GetResult();
            }
        }
    }
}
