using System.Net.Sockets;
using Berth.Core;
using Npgsql;

namespace Berth.Metadata.Postgres;

/// <summary>
/// Checks that the PostgreSQL server answers, accepts the credentials and holds the current schema (start-up, once
/// migrated, and <c>/readyz</c>).
/// </summary>
public sealed class PostgresProbe(PostgresDatabase database) : IProviderProbe
{
    public string Setting => "--metadata";

    public async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await database.ReadAsync(async (c, ct) =>
            {
                await Migrations.EnsureCurrentAsync(c, database.Where, ct);
                return true;
            }, cancellationToken);
            return null;
        }
        catch (StartupException ex)
        {
            return ex.Message;
        }
        catch (Exception ex) when (Explain(ex) is { } reason)
        {
            return $"PostgreSQL at {database.Where}: {reason}";
        }
    }

    /// <summary>One line for the operator about why talking to the server failed; null for errors that are bugs.</summary>
    internal static string? Explain(Exception exception) => exception switch
    {
        PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification } =>
            "the server refused the user name or password (give the password in the URI, PGPASSWORD or the config file)",
        PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } => "the database does not exist (create it first: createdb)",
        PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } pe => "the user may not do this: " + pe.MessageText,
        PostgresException { SqlState: PostgresErrorCodes.TooManyConnections } => "the server has no free connections (max_connections)",
        PostgresException pe => pe.SqlState + ": " + pe.MessageText,
        NpgsqlException { InnerException: SocketException se } => "cannot connect: " + se.Message,
        NpgsqlException { InnerException: TimeoutException } or TimeoutException => "no answer in time (is the server up and the port right?)",
        NpgsqlException ne when ne.InnerException is System.IO.IOException or System.Security.Authentication.AuthenticationException =>
            "cannot connect: " + ne.InnerException!.Message,
        NpgsqlException ne => ne.Message,
        SocketException se => "cannot connect: " + se.Message,
        ArgumentException ae => "bad connection string: " + ae.Message,
        _ => null,
    };
}
