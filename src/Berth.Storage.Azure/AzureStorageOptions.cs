namespace Berth.Storage.Azure;

/// <summary>
/// Where the Azure Blob store keeps blobs and uploads (configuration section <see cref="Section"/>; the
/// <c>--storage azure://CONTAINER/PREFIX</c> URI sets <see cref="Container"/> and <see cref="Prefix"/>).
/// </summary>
public sealed class AzureStorageOptions
{
    /// <summary>The configuration section of this provider.</summary>
    public const string Section = "Berth:Storage:Azure";

    /// <summary>The environment variable read for <see cref="ConnectionString"/> when the configuration has none.</summary>
    public const string ConnectionStringVariable = "AZURE_STORAGE_CONNECTION_STRING";

    /// <summary>The blob container (it must exist; the server does not create it).</summary>
    public string? Container { get; set; }

    /// <summary>A folder inside the container (no leading or trailing slash; empty: the container's root).</summary>
    public string? Prefix { get; set; }

    /// <summary>
    /// The storage account's connection string (<c>AccountName=…;AccountKey=…;BlobEndpoint=…</c>, a SAS connection
    /// string, or <c>UseDevelopmentStorage=true</c>); from <see cref="ConnectionStringVariable"/> when unset.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Answer blob GETs with a 307 to a read-only SAS URL of the blob instead of sending the bytes (off by default).</summary>
    public bool Redirect { get; set; }

    /// <summary>How long a redirect's SAS URL stays valid.</summary>
    public TimeSpan RedirectExpiry { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>What was wrong with the <c>--storage</c> URI, reported by the validator (the URI is never echoed whole: it may hold a secret).</summary>
    internal string? LocationError { get; set; }

    /// <summary>
    /// Sets <see cref="Container"/> and <see cref="Prefix"/> from <c>azure://CONTAINER/PREFIX</c>, or records in
    /// <see cref="LocationError"/> why it cannot. The container is read from the text as written (<see cref="Uri"/> lower-cases hosts).
    /// </summary>
    internal void ApplyLocation(Uri location)
    {
        var text = location.OriginalString.Trim();
        const string scheme = "azure://";
        if (!text.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            LocationError = $"--storage: not an {scheme}CONTAINER/PREFIX URI";
            return;
        }

        var rest = text[scheme.Length..];
        var fragment = rest.IndexOf('#', StringComparison.Ordinal);
        if (fragment >= 0)
        {
            LocationError = "--storage: azure:// URIs take no #fragment";
            return;
        }

        var queryAt = rest.IndexOf('?', StringComparison.Ordinal);
        var query = queryAt >= 0 ? rest[(queryAt + 1)..] : string.Empty;
        var path = queryAt >= 0 ? rest[..queryAt] : rest;
        if (query.Length > 0)
        {
            // No query keys are known: the connection string carries the endpoint and credentials.
            var keys = query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)[0]).Select(Shown);
            LocationError = $"--storage: azure:// URIs take no query parameters (unknown: {string.Join(", ", keys)}); "
                + $"the endpoint and credentials come from {ConnectionStringVariable} or {Section}:ConnectionString";
            return;
        }

        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var container = slash >= 0 ? path[..slash] : path;
        if (container.Contains('@', StringComparison.Ordinal) || container.Contains(':', StringComparison.Ordinal))
        {
            // azure://name:key@container: never echo it, it may be a secret.
            LocationError = $"--storage: azure:// URIs take no user, password or port (credentials come from {ConnectionStringVariable})";
            return;
        }

        Container = Uri.UnescapeDataString(container);
        Prefix = slash >= 0 ? Uri.UnescapeDataString(path[(slash + 1)..]).Trim('/') : string.Empty;
    }

    private static string Shown(string text) =>
        string.Concat(text.Take(40).Select(c => char.IsControl(c) ? '?' : c));
}
