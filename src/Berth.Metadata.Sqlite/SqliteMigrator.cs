using Berth.Core.Metadata;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Berth.Metadata.Sqlite;

/// <summary>
/// Migrates <c>berth.db</c> (creating it owner-only when missing) on a connection of its own, closed before
/// <see cref="SqliteDatabase"/> opens the file, which only checks that the schema is current.
/// </summary>
public sealed class SqliteMigrator(IOptions<SqliteMetadataOptions> options) : IMetadataMigrator
{
    /// <summary>The schema version <see cref="Migrate"/> brings a database to (the one the stores open).</summary>
    public static int LatestVersion => Migrations.Latest;

    public MetadataMigration Migrate()
    {
        var path = Path.GetFullPath(options.Value.DatabasePath);
        SqliteDatabase.CreateOwnerOnly(path);
        using var connection = new SqliteConnection(SqliteDatabase.ConnectionString(path));
        connection.Open();
        using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode=WAL";
            wal.ExecuteNonQuery();
        }

        return Migrations.Apply(connection);
    }
}
