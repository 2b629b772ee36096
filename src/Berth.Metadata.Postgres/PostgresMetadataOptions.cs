namespace Berth.Metadata.Postgres;

/// <summary>
/// Where the PostgreSQL metadata lives (configuration section <see cref="Section"/>): an Npgsql connection string,
/// set from <c>--metadata postgres://USER:PASS@HOST:PORT/DB</c>, from <c>--metadata "Host=…;Database=…"</c>, or in
/// the section. A password left out is taken from <c>PGPASSWORD</c>, so that it need not appear in the process list.
/// </summary>
public sealed class PostgresMetadataOptions
{
    /// <summary>The configuration section of this provider.</summary>
    public const string Section = "Berth:Metadata:Postgres";

    /// <summary>The Npgsql connection string (<c>Host=…;Port=…;Database=…;Username=…;Password=…</c>).</summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>Connections this node keeps at most (Npgsql's pool); several nodes share the server's <c>max_connections</c>.</summary>
    public int MaxPoolSize { get; set; } = 50;

    /// <summary>How long opening a connection and each command may take before the operation fails.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
