using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Berth.Storage.Azure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

[assembly: TestFramework(Berth.Testing.Servers.ServerAwareTestFramework.TypeName, Berth.Testing.Servers.ServerAwareTestFramework.AssemblyName)]

namespace Berth.Storage.Azure.Tests;

/// <summary>
/// The Azurite the tests use (<c>BERTH_TEST_AZURITE</c>, host:port) with its well-known development account, and one
/// container with a random name per test class, deleted at the end.
/// </summary>
public sealed class AzuriteContainer : IAsyncLifetime
{
    /// <summary>Azurite's published development account key (not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public static string Endpoint => Environment.GetEnvironmentVariable("BERTH_TEST_AZURITE") is { Length: > 0 } value ? value : "127.0.0.1:10000";

    public static string ConnectionString(string? key = null, string? endpoint = null) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key ?? AccountKey};BlobEndpoint=http://{endpoint ?? Endpoint}/devstoreaccount1;";

    public string Name { get; } = "berth-test-" + Guid.NewGuid().ToString("N")[..12];

    public BlobContainerClient Client { get; } = null!;

    public AzuriteContainer()
    {
        Client = new BlobServiceClient(ConnectionString()).GetBlobContainerClient(Name);
    }

    public async Task InitializeAsync() => await Client.CreateIfNotExistsAsync();

    public async Task DisposeAsync() => await Client.DeleteIfExistsAsync();

    public AzureStorageOptions Options(string prefix, bool redirect = false) => new()
    {
        Container = Name,
        Prefix = prefix,
        ConnectionString = ConnectionString(),
        Redirect = redirect,
    };

    public AzureBlobStore Store(string prefix, bool redirect = false) =>
        new(Microsoft.Extensions.Options.Options.Create(Options(prefix, redirect)), NullLogger<AzureBlobStore>.Instance, TimeProvider.System);

    /// <summary>Every blob name under <paramref name="prefix"/> (uncommitted blocks are not blobs).</summary>
    public async Task<List<string>> NamesAsync(string prefix)
    {
        var names = new List<string>();
        await foreach (var item in Client.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }))
        {
            names.Add(item.Name);
        }

        return names;
    }

    public async Task DeleteUnderAsync(string prefix)
    {
        foreach (var name in await NamesAsync(prefix))
        {
            var blob = Client.GetBlobClient(name);
            try
            {
                await blob.GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);
            }
            catch (RequestFailedException)
            {
            }

            await blob.DeleteIfExistsAsync();
        }
    }
}
