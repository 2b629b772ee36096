using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;

namespace Berth.Storage.Azure;

/// <summary>
/// Client construction with bounded retries. The SDK's defaults retry three times with up to 100 s per try and no
/// connect timeout of their own (the kernel's, about two minutes): an unreachable endpoint would hang a request, a
/// start-up or a <c>/readyz</c> for minutes. Here a connection attempt gives up after 3 s and a request is tried at most
/// three times with short delays, so an unreachable endpoint fails within about 10 s; the probe tries once.
/// </summary>
internal static class AzureClients
{
    /// <summary>One connection pool for every client of the process (clients are cheap; handlers are not).</summary>
    private static readonly HttpClientTransport Transport = new(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(3),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    });

    /// <summary>For the store: a transient failure is retried twice, quickly.</summary>
    public static BlobClientOptions StoreOptions()
    {
        var options = new BlobClientOptions { Transport = Transport };
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(300);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        // Per try, covering a 4 MiB block upload on a slow link and a 100 MiB server-side block copy.
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
        return options;
    }

    /// <summary>For the probe: one try, a short timeout; its caller bounds the whole check.</summary>
    public static BlobClientOptions ProbeOptions()
    {
        var options = new BlobClientOptions { Transport = Transport };
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
        return options;
    }

    /// <summary>Parses the connection string (FormatException, ArgumentException when malformed) into a service client.</summary>
    public static BlobServiceClient CreateService(string connectionString, BlobClientOptions options) => new(connectionString, options);

    /// <summary>The container the options name.</summary>
    public static BlobContainerClient CreateContainer(AzureStorageOptions options, BlobClientOptions clientOptions) =>
        CreateService(options.ConnectionString ?? string.Empty, clientOptions).GetBlobContainerClient(options.Container);

    /// <summary>The endpoint as messages show it: scheme, host, port and path, never a SAS query.</summary>
    public static string Show(Uri uri) => uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
}
