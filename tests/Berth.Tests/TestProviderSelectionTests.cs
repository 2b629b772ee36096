using Berth.Core.Storage;
using Berth.Metadata.Sqlite;
using Berth.Storage.FileSystem;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests;

/// <summary>
/// The functional test servers (<see cref="BerthApplication"/>) take their providers from <c>BERTH_TEST_STORAGE</c>
/// and <c>BERTH_TEST_METADATA</c> through the server's catalog: unset is the embedded default, a bad value fails loudly.
/// </summary>
public sealed class TestProviderSelectionTests
{
    private static Func<string, string?> Environment(string? storage = null, string? metadata = null) => name => name switch
    {
        BerthApplication.StorageEnvironment => storage,
        BerthApplication.MetadataEnvironment => metadata,
        _ => null,
    };

    [Fact]
    public void ProviderSettings_Unset_NothingSoTheServerDefaultsApply()
    {
        Assert.Empty(BerthApplication.ProviderSettings(Environment()));
    }

    [Fact]
    public void ProviderSettings_KnownTypes_PassedAsTheServerOptions()
    {
        var settings = BerthApplication.ProviderSettings(Environment(storage: "FileSystem", metadata: "sqlite"));

        Assert.Equal("filesystem", settings[ProviderCatalog.StorageKey]);
        Assert.Equal("sqlite", settings[ProviderCatalog.MetadataKey]);
    }

    [Fact]
    public void ProviderSettings_SetButEmpty_TheDefaultAsForAnEmptyFlag()
    {
        var settings = BerthApplication.ProviderSettings(Environment(storage: "", metadata: " "));

        Assert.Equal(("filesystem", "sqlite"), (settings[ProviderCatalog.StorageKey], settings[ProviderCatalog.MetadataKey]));
    }

    [Theory]
    [InlineData("gcs", null, "BERTH_TEST_STORAGE=gcs: --storage gcs: unknown storage type (known: filesystem, s3, azure, s3://…, azure://…)")]
    [InlineData("gs://bucket", null, "BERTH_TEST_STORAGE=gs://bucket: --storage gs://bucket: no storage provider for gs:// URIs in this build (known: filesystem, s3, azure, s3://…, azure://…)")]
    [InlineData(null, "mysql", "BERTH_TEST_METADATA=mysql: --metadata mysql: unknown metadata type (known: sqlite, postgres, postgres://…, postgresql://…)")]
    public void ProviderSettings_UnknownValue_FailsNamingTheVariableInsteadOfFallingBack(string? storage, string? metadata, string expected)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => BerthApplication.ProviderSettings(Environment(storage, metadata)));

        Assert.Equal(expected, ex.Message);
    }

    [Fact]
    public async Task BerthApplication_DefaultProviders_ServesFromTheTemporaryDataFolder()
    {
        using var app = new BerthApplication(new Dictionary<string, string?>
        {
            [ProviderCatalog.StorageKey] = "filesystem",
            [ProviderCatalog.MetadataKey] = "sqlite",
        });
        using var client = app.CreateClient();

        using var response = await client.GetAsync(new Uri("/v2/", UriKind.Relative));

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(("filesystem", "sqlite"), (app.Storage, app.Metadata));
        Assert.IsType<FileSystemBlobStore>(app.Services.GetRequiredService<IBlobStore>());
        Assert.Equal(Path.Combine(app.DataPath, "berth.db"), app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SqliteMetadataOptions>>().Value.DatabasePath);
        Assert.True(Directory.Exists(Path.Combine(app.DataPath, "blobs")));
    }
}
