using Microsoft.Extensions.Options;
using Npgsql;

namespace Berth.Metadata.Postgres;

/// <summary>Start-up validation: one line naming <c>--metadata</c>, never echoing the password.</summary>
public sealed class PostgresMetadataOptionsValidator : IValidateOptions<PostgresMetadataOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresMetadataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail("--metadata postgres: no database given (postgres://USER@HOST:PORT/DB, an Npgsql connection string, or Berth:Metadata:Postgres:ConnectionString)");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail("--metadata: not an Npgsql connection string: " + ex.Message);
        }

        if (string.IsNullOrEmpty(builder.Host))
        {
            return ValidateOptionsResult.Fail("--metadata: the PostgreSQL connection names no host");
        }

        if (string.IsNullOrEmpty(builder.Database))
        {
            return ValidateOptionsResult.Fail("--metadata: the PostgreSQL connection names no database");
        }

        if (options.MaxPoolSize is < 2 or > 1000)
        {
            return ValidateOptionsResult.Fail("Berth:Metadata:Postgres:MaxPoolSize must be between 2 and 1000");
        }

        return options.CommandTimeout <= TimeSpan.Zero
            ? ValidateOptionsResult.Fail("Berth:Metadata:Postgres:CommandTimeout must be positive")
            : ValidateOptionsResult.Success;
    }
}
