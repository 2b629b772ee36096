using Berth.Storage.S3;
using Berth.Testing;
using Berth.Testing.Servers;

namespace Berth.Migration.Tests;

/// <summary>
/// An <see cref="EmbeddedInstallation"/> migrated with <c>berth admin migrate</c> to a throwaway PostgreSQL database
/// and a throwaway S3 bucket (below a prefix), then a server started on exactly those two (as
/// <c>berth serve --metadata postgres://… --storage s3://…</c> would be) with its clock at the source's last instant, and
/// what clients see of it recorded the way the source's was, before any test changes it. Built once per test class.
/// </summary>
public sealed class MigratedInstallation : IAsyncLifetime
{
    private readonly List<string> _folders = [];

    public EmbeddedInstallation Source { get; } = new();

    public TestPostgres.TestDatabase Database { get; private set; } = null!;

    public TestS3.TestBucket Bucket { get; private set; } = null!;

    /// <summary>The key prefix in the bucket the migration wrote below.</summary>
    public const string Prefix = "registry";

    /// <summary>The source data folder that was migrated.</summary>
    public string SourceFolder { get; private set; } = null!;

    /// <summary>The migration's exit code, standard output and standard error.</summary>
    public (int Code, string Output, string Error) Migration { get; private set; }

    /// <summary>The server on the migrated database and bucket; null when the migration failed.</summary>
    public BerthApplication? Server { get; private set; }

    /// <summary>Its catalog and tags lists, taken before any test ran (<see cref="ServerObservation.ListingsAsync"/>).</summary>
    public List<string> Listings { get; private set; } = [];

    /// <summary>What every source credential could do on it, taken before any test ran.</summary>
    public List<string> Access { get; private set; } = [];

    /// <summary>The target store's credentials as the provider's configuration takes them (never in the URI).</summary>
    public static Dictionary<string, string?> S3Credentials => new(StringComparer.OrdinalIgnoreCase)
    {
        [S3StorageOptions.Section + ":" + nameof(S3StorageOptions.AccessKeyId)] = TestS3.AccessKey,
        [S3StorageOptions.Section + ":" + nameof(S3StorageOptions.SecretAccessKey)] = TestS3.SecretKey,
    };

    public async Task InitializeAsync()
    {
        await Source.InitializeAsync();
        SourceFolder = Source.NewSource(_folders);
        Database = await TestPostgres.CreateDatabaseAsync(nameof(MigratedInstallation));
        Bucket = await TestS3.CreateBucketAsync("migrated");
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await MigrateCommand.RunAsync(
            ["--data", SourceFolder, "--to-metadata", Database.Uri.ToString(), "--to-storage", Bucket.StorageUri(Prefix)],
            output, error, errorIsTerminal: false, CancellationToken.None, storageSettings: S3Credentials);
        Migration = (code, output.ToString(), error.ToString());
        if (code != 0)
        {
            return;
        }

        var settings = S3Credentials;
        settings[ProviderCatalog.MetadataKey] = Database.Uri.ToString();
        settings[ProviderCatalog.StorageKey] = Bucket.StorageUri(Prefix);
        Server = new BerthApplication(settings);
        Server.Clock.SetUtcNow(Source.ObservedAt);
        Listings = await ServerObservation.ListingsAsync(Server);
        Access = await ServerObservation.AccessAsync(Server, Source.Credentials);
    }

    public async Task DisposeAsync()
    {
        Server?.Dispose();
        await Source.DisposeAsync();
        if (Database is not null)
        {
            await Database.DisposeAsync();
        }

        if (Bucket is not null)
        {
            await Bucket.DisposeAsync();
        }

        foreach (var folder in _folders)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }
}
