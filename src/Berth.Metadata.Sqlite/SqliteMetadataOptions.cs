namespace Berth.Metadata.Sqlite;

/// <summary>Where the embedded metadata database lives.</summary>
public sealed class SqliteMetadataOptions
{
    /// <summary>Path of the database file (WAL mode: <c>-wal</c> and <c>-shm</c> files sit beside it).</summary>
    public string DatabasePath { get; set; } = "data/berth.db";
}
