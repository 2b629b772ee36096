using Berth.Testing.Servers;

namespace Berth.Migration.Tests;

/// <summary><see cref="MigrateCommandTests"/> into an Azure Blob container on the shared Azurite (below a prefix).</summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
[RequiresServer(AzureTargetStore.Server, AzureTargetStore.EndpointVariable, AzureTargetStore.DefaultEndpoint)]
public sealed class MigrateToAzureTests(EmbeddedInstallation installation) : MigrateCommandTests(installation), IClassFixture<EmbeddedInstallation>
{
    protected override async Task<TargetStore> CreateTargetAsync() => await AzureTargetStore.CreateAsync();

    [Fact]
    public async Task RunAsync_ContainerDoesNotExist_OneLineNamingToStorageAndNothingWrittenToTheDatabase()
    {
        var database = await NewDatabaseAsync();
        var container = "berth-missing-" + Guid.NewGuid().ToString("N")[..12];
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase) { ["Berth:Storage:Azure:ConnectionString"] = AzureTargetStore.ConnectionString };

        var (code, _, error) = await RunAsync(["--data", NewSource(), "--to-metadata", database.Uri.ToString(), "--to-storage", $"azure://{container}/x"], storageSettings: settings);

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("berth: --to-storage", line, StringComparison.Ordinal);
        Assert.Contains(container, line, StringComparison.Ordinal);
        Assert.DoesNotContain("AccountKey", line, StringComparison.Ordinal);
        await using var connection = await OpenAsync(database);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"));
    }
}
