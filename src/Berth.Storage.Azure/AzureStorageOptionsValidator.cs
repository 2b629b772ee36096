using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace Berth.Storage.Azure;

/// <summary>
/// Checks <see cref="AzureStorageOptions"/> at start-up without a network call (the <see cref="AzureStorageProbe"/> does
/// those): each failure is one line naming <c>--storage</c> and never echoes the connection string or its key.
/// </summary>
internal sealed class AzureStorageOptionsValidator : IValidateOptions<AzureStorageOptions>
{
    private const string Usage = "--storage azure://CONTAINER/PREFIX";

    public ValidateOptionsResult Validate(string? name, AzureStorageOptions options)
    {
        var failure = Check(options);
        return failure is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail("storage: azure: " + failure);
    }

    internal static string? Check(AzureStorageOptions options)
    {
        if (options.LocationError is { } location)
        {
            return location;
        }

        if (string.IsNullOrWhiteSpace(options.Container))
        {
            return $"no container ({Usage}, or {AzureStorageOptions.Section}:Container)";
        }

        if (!IsContainerName(options.Container))
        {
            return $"{Usage}: '{Shown(options.Container)}' is not a container name (3-63 lower-case letters, digits and single hyphens, starting with a letter or digit)";
        }

        if (PrefixError(options.Prefix) is { } prefix)
        {
            return $"{Usage}: the prefix {prefix}";
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return $"no connection string (set {AzureStorageOptions.ConnectionStringVariable} or {AzureStorageOptions.Section}:ConnectionString)";
        }

        BlobServiceClient client;
        try
        {
            client = AzureClients.CreateService(options.ConnectionString, AzureClients.StoreOptions());
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or UriFormatException)
        {
            // The parser's message may quote the string: say only where it came from.
            return $"the connection string (from {ConnectionStringSource(options)}) is malformed: expected AccountName=…;AccountKey=…;BlobEndpoint=… "
                + "or a SAS connection string (BlobEndpoint=…;SharedAccessSignature=…) or UseDevelopmentStorage=true";
        }

        if (options.Redirect && !client.CanGenerateAccountSasUri && !HasAccountKey(options.ConnectionString))
        {
            return $"Redirect needs an account key in the connection string to sign SAS URLs ({AzureStorageOptions.Section}:Redirect)";
        }

        if (options.RedirectExpiry <= TimeSpan.Zero || options.RedirectExpiry > TimeSpan.FromDays(7))
        {
            return $"{AzureStorageOptions.Section}:RedirectExpiry must be more than zero and at most 7 days";
        }

        return null;
    }

    private static string ConnectionStringSource(AzureStorageOptions options) =>
        options.ConnectionString == Environment.GetEnvironmentVariable(AzureStorageOptions.ConnectionStringVariable)
            ? AzureStorageOptions.ConnectionStringVariable
            : AzureStorageOptions.Section + ":ConnectionString";

    private static bool HasAccountKey(string connectionString) =>
        connectionString.Contains("AccountKey=", StringComparison.OrdinalIgnoreCase)
        || connectionString.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Azure's rule: 3-63 characters, lower-case letters, digits and hyphens, no leading, trailing or double hyphen.</summary>
    internal static bool IsContainerName(string name)
    {
        if (name.Length is < 3 or > 63 || name[0] == '-' || name[^1] == '-' || name.Contains("--", StringComparison.Ordinal))
        {
            return false;
        }

        return name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
    }

    /// <summary>Why a prefix cannot name a folder of blobs, or null: empty segments, dot segments, backslashes, control characters, or too long.</summary>
    internal static string? PrefixError(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix))
        {
            return null;
        }

        if (prefix.Length > 512)
        {
            return "is longer than 512 characters";
        }

        if (prefix.Any(char.IsControl) || prefix.Contains('\\', StringComparison.Ordinal))
        {
            return "holds a control character or a backslash";
        }

        if (prefix.StartsWith('/') || prefix.EndsWith('/') || prefix.Split('/').Any(s => s.Length == 0 || s == "." || s == ".."))
        {
            return $"'{Shown(prefix)}' has an empty, '.' or '..' segment";
        }

        return null;
    }

    private static string Shown(string text) => string.Concat(text.Take(80).Select(c => char.IsControl(c) ? '?' : c));
}
