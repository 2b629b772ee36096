using Berth.Core;
using Berth.Core.Metadata;
using Npgsql;

namespace Berth.Metadata.Postgres;

/// <summary>
/// Migrates the PostgreSQL schema at start-up on a connection of its own, under the migration advisory lock, so
/// nodes starting at the same time apply each step once. Failing to reach or log in to the server is a one-line
/// <see cref="StartupException"/> naming <c>--metadata</c>, never a stack trace.
/// </summary>
public sealed class PostgresMigrator(PostgresDatabase database) : IMetadataMigrator
{
    public MetadataMigration Migrate()
    {
        try
        {
            return MigrateAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (PostgresProbe.Explain(ex) is { } reason)
        {
            throw new StartupException($"--metadata {database.Where}: {reason}", ex);
        }
    }

    private async Task<MetadataMigration> MigrateAsync(CancellationToken cancellationToken)
    {
        // A connection of its own (not the pool's): the advisory lock belongs to the session.
        await using var connection = new NpgsqlConnection(database.ConnectionString + ";Pooling=false");
        await connection.OpenAsync(cancellationToken);
        return await Migrations.ApplyAsync(connection, database.Where, cancellationToken);
    }
}
