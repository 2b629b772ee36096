using Berth.Testing.Servers;

namespace Berth.Migration.Tests;

/// <summary>
/// <see cref="MigrateCommandTests"/> into an S3 bucket on the shared radosgw (below a prefix, keys as the provider's
/// settings), and the S3 target's refusals.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
[RequiresServer(TestS3.Server, TestS3.EndpointVariable, TestS3.DefaultEndpoint)]
public sealed class MigrateToS3Tests(EmbeddedInstallation installation) : MigrateCommandTests(installation), IClassFixture<EmbeddedInstallation>
{
    protected override async Task<TargetStore> CreateTargetAsync() => await S3TargetStore.CreateAsync();

    [Fact]
    public async Task RunAsync_BucketDoesNotExist_OneLineNamingToStorageAndNothingWrittenToTheDatabase()
    {
        var database = await NewDatabaseAsync();
        var bucket = S3TargetStore.MissingBucketUri();

        var (code, _, error) = await RunAsync(["--data", NewSource(), "--to-metadata", database.Uri.ToString(), "--to-storage", bucket],
            storageSettings: MigratedInstallation.S3Credentials);

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("berth: --to-storage", line, StringComparison.Ordinal);
        Assert.Contains($"bucket '{bucket[5..bucket.IndexOf('/', 5)]}'", line, StringComparison.Ordinal);
        Assert.Contains("does not exist", line, StringComparison.Ordinal);
        Assert.DoesNotContain(TestS3.SecretKey, line, StringComparison.Ordinal);
        await using var connection = await OpenAsync(database);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"));
    }

    [Fact]
    public async Task RunAsync_DryRunBucketDoesNotExist_OneLineNamingToStorage()
    {
        var database = await NewDatabaseAsync();

        var bucket = S3TargetStore.MissingBucketUri();

        var (code, _, error) = await RunAsync(["--data", NewSource(), "--to-metadata", database.Uri.ToString(), "--to-storage", bucket, "--dry-run"],
            storageSettings: MigratedInstallation.S3Credentials);

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("berth: --to-storage", line, StringComparison.Ordinal);
        Assert.Contains($"bucket '{bucket[5..bucket.IndexOf('/', 5)]}'", line, StringComparison.Ordinal);
        Assert.Contains("does not exist", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WrongS3SecretKey_OneLineNamingToStorageWithoutTheKey()
    {
        var database = await NewDatabaseAsync();
        await using var target = await S3TargetStore.CreateAsync();
        var wrong = new Dictionary<string, string?>(MigratedInstallation.S3Credentials, StringComparer.OrdinalIgnoreCase)
        {
            ["Berth:Storage:S3:SecretAccessKey"] = "not-the-secret-key-0123456789",
        };

        var (code, _, error) = await RunAsync(["--data", NewSource(), "--to-metadata", database.Uri.ToString(), .. target.Arguments], storageSettings: wrong);

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("berth: --to-storage", line, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret-key", line, StringComparison.Ordinal);
        Assert.True(await target.IsUntouchedAsync());
        await using var connection = await OpenAsync(database);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"));
    }

    [Fact]
    public async Task RunAsync_WrongPostgresPassword_OneLineNamingToMetadataWithoutThePassword()
    {
        var database = await NewDatabaseAsync();
        await using var target = await S3TargetStore.CreateAsync();
        var uri = new UriBuilder(database.Uri) { Password = "Wr0ng-Pa55word-xyz" }.Uri.ToString();

        var (code, output, error) = await RunAsync(["--data", NewSource(), "--to-metadata", uri, .. target.Arguments], storageSettings: target.Settings);

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("berth: --to-metadata ", line, StringComparison.Ordinal);
        Assert.Contains("refused the user name or password", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Wr0ng-Pa55word-xyz", error + output, StringComparison.Ordinal);
        Assert.True(await target.IsUntouchedAsync());
    }
}
