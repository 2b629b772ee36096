namespace Berth.Metadata.Sqlite;

/// <summary>Where the embedded metadata database lives (configuration section <see cref="Section"/>).</summary>
public sealed class SqliteMetadataOptions
{
    /// <summary>The configuration section of this provider.</summary>
    public const string Section = "Berth:Metadata:Sqlite";

    /// <summary>
    /// Path of the database file (WAL mode: <c>-wal</c> and <c>-shm</c> files sit beside it). <c>berth serve</c> defaults
    /// it to <c>berth.db</c> in the data folder.
    /// </summary>
    public string DatabasePath { get; set; } = "data/berth.db";
}
