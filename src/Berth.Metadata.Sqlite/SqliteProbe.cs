using Berth.Core;
using Microsoft.Data.Sqlite;

namespace Berth.Metadata.Sqlite;

/// <summary>The SQLite database is ready when a query answers on it.</summary>
public sealed class SqliteProbe(SqliteDatabase database) : IProviderProbe
{
    public string Setting => "--metadata";

    public Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            database.Read(c => c.Command("SELECT 1").ExecuteScalar());
            return Task.FromResult<string?>(null);
        }
        catch (Exception ex) when (ex is SqliteException or ObjectDisposedException or IOException)
        {
            return Task.FromResult<string?>("SQLite database: " + ex.Message.ReplaceLineEndings(" "));
        }
    }
}
