using System.Globalization;
using Npgsql;

namespace Berth.Metadata.Postgres;

/// <summary>Turns the forms <c>--metadata</c> accepts into an Npgsql connection string.</summary>
public static class PostgresConnectionStrings
{
    /// <summary>
    /// <c>postgres://USER:PASS@HOST:PORT/DB?sslmode=require</c> (or <c>postgresql://</c>): user and password
    /// percent-decoded, port 5432 when left out, the query's keys as Npgsql keywords (<c>sslmode</c>, <c>sslrootcert</c>,
    /// <c>application_name</c>…). Throws <see cref="ArgumentException"/> with a one-line message (never echoing the
    /// password) when the URI is not one.
    /// </summary>
    public static string FromUri(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!string.Equals(uri.Scheme, "postgres", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(uri.Scheme, "postgresql", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"{uri.Scheme}:// is not a PostgreSQL URI (postgres://USER:PASS@HOST:PORT/DB)");
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException("the PostgreSQL URI has no host (postgres://USER:PASS@HOST:PORT/DB)");
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0 || database.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException("the PostgreSQL URI names no database (postgres://USER:PASS@HOST:PORT/DB)");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = database,
        };
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]).Replace('_', ' ');
            var value = equals < 0 ? "true" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            try
            {
                builder[key] = value;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"the PostgreSQL URI's query key '{key}' is not a connection setting (for example sslmode=require)"), ex);
            }
        }

        return builder.ConnectionString;
    }

    /// <summary>True when <paramref name="value"/> looks like an Npgsql connection string (<c>Host=…;…</c>) rather than a type name or URI.</summary>
    public static bool LooksLikeConnectionString(string value) =>
        !value.Contains("://", StringComparison.Ordinal) && value.Contains('=', StringComparison.Ordinal);

    /// <summary>
    /// The connection string the provider uses: <paramref name="connectionString"/> with the password from
    /// <c>PGPASSWORD</c> when it has none, and Berth's pool and timeout settings.
    /// </summary>
    public static string Complete(string connectionString, PostgresMetadataOptions options, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.Password) && environment("PGPASSWORD") is { Length: > 0 } password)
        {
            builder.Password = password;
        }

        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "berth";
        }

        builder.MaxPoolSize = options.MaxPoolSize;
        builder.Timeout = Math.Max(1, (int)options.CommandTimeout.TotalSeconds);
        builder.CommandTimeout = Math.Max(1, (int)options.CommandTimeout.TotalSeconds);
        return builder.ConnectionString;
    }

    /// <summary>Where the connection string points, for messages: <c>HOST:PORT/DB as USER</c>, never the password.</summary>
    public static string Describe(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return string.Create(CultureInfo.InvariantCulture, $"{builder.Host}:{builder.Port}/{builder.Database}")
                + (string.IsNullOrEmpty(builder.Username) ? string.Empty : " as " + builder.Username);
        }
        catch (ArgumentException)
        {
            return "(unreadable connection string)";
        }
    }
}
