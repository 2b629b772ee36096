using System.Net;
using System.Net.Sockets;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Storage;
using Berth.Metadata.Sqlite;
using Berth.Storage.FileSystem;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Berth.Tests;

/// <summary>
/// Providers chosen from configuration (<see cref="ProviderCatalog"/>): type names and URIs, the defaults in the data
/// folder, each provider's own options section, and one line for every bad setting before anything listens.
/// </summary>
public sealed class ProviderCompositionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-providers-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Data => Path.Combine(_root, "data");

    private Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Berth:Data"] = Data,
            ["Berth:Listen"] = "http://127.0.0.1:0",
            ["Berth:AdminPassword"] = "providers-test-password",
            ["Berth:Auth:Passwords:Iterations"] = "1000",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task<(int Exit, string Error)> ServeAsync(Dictionary<string, string?> settings)
    {
        var error = new StringWriter();
        var exit = await ServerStartup.ServeAsync(settings, error, app => app.Lifetime.ApplicationStarted.Register(() => app.Lifetime.StopApplication()))
            .WaitAsync(TimeSpan.FromMinutes(1));
        return (exit, error.ToString());
    }

    [Theory]
    [InlineData(null, "filesystem")]
    [InlineData("", "filesystem")]
    [InlineData("filesystem", "filesystem")]
    [InlineData(" FileSystem ", "filesystem")]
    public void TryResolve_StorageTypeOrNothing_PicksThatProviderOrTheDefault(string? value, string expected)
    {
        Assert.True(ProviderCatalog.TryResolve(ProviderKind.Storage, value, out var choice, out var error), error);

        Assert.Equal((expected, ProviderKind.Storage, (Uri?)null), (choice.Provider.Type, choice.Provider.Kind, choice.Location));
    }

    [Theory]
    [InlineData("s3", null)]
    [InlineData("S3", null)]
    [InlineData("s3://my-bucket/some/prefix?endpoint=http://127.0.0.1:7480&region=us-east-1&path-style=true", "s3://my-bucket/some/prefix?endpoint=http://127.0.0.1:7480&region=us-east-1&path-style=true")]
    [InlineData("S3://my-bucket", "s3://my-bucket")]
    public void TryResolve_S3TypeOrUri_PicksTheS3ProviderWithTheUri(string value, string? location)
    {
        Assert.True(ProviderCatalog.TryResolve(ProviderKind.Storage, value, out var choice, out var error), error);

        Assert.Equal(("s3", ProviderKind.Storage), (choice.Provider.Type, choice.Provider.Kind));
        Assert.Equal(location is null ? null : new Uri(location), choice.Location);
    }

    [Theory]
    [InlineData(null, "sqlite")]
    [InlineData("SQLite", "sqlite")]
    public void TryResolve_MetadataTypeOrNothing_PicksThatProviderOrTheDefault(string? value, string expected)
    {
        Assert.True(ProviderCatalog.TryResolve(ProviderKind.Metadata, value, out var choice, out var error), error);

        Assert.Equal((expected, ProviderKind.Metadata), (choice.Provider.Type, choice.Provider.Kind));
    }

    [Theory]
    [InlineData(ProviderKind.Storage, "gcs", "--storage gcs: unknown storage type (known: filesystem, s3, azure, s3://…, azure://…)")]
    [InlineData(ProviderKind.Storage, "sqlite", "--storage sqlite: unknown storage type (known: filesystem, s3, azure, s3://…, azure://…)")]
    [InlineData(ProviderKind.Metadata, "filesystem", "--metadata filesystem: unknown metadata type (known: sqlite, postgres, postgres://…, postgresql://…)")]
    [InlineData(ProviderKind.Storage, "gs://bucket/prefix", "--storage gs://bucket/prefix: no storage provider for gs:// URIs in this build (known: filesystem, s3, azure, s3://…, azure://…)")]
    [InlineData(ProviderKind.Metadata, "mysql://user:secret-pw@db.example/berth", "--metadata mysql://user:***@db.example/berth: no metadata provider for mysql:// URIs in this build (known: sqlite, postgres, postgres://…, postgresql://…)")]
    [InlineData(ProviderKind.Storage, "://nothing", "--storage ://nothing: not a storage type or a URI (known: filesystem, s3, azure, s3://…, azure://…)")]
    [InlineData(ProviderKind.Storage, "file\nsystem", "--storage file?system: unknown storage type (known: filesystem, s3, azure, s3://…, azure://…)")]
    [InlineData(ProviderKind.Metadata, "sqlite\u0000x", "--metadata sqlite?x: unknown metadata type (known: sqlite, postgres, postgres://…, postgresql://…)")]
    public void TryResolve_UnknownTypeOrScheme_OneClearLineAndNoFallback(ProviderKind kind, string value, string expected)
    {
        Assert.False(ProviderCatalog.TryResolve(kind, value, out _, out var error));

        Assert.Equal(expected, error);
    }

    [Theory]
    [InlineData("postgres://berth:pw@db.example:5432/registry")]
    [InlineData("postgresql://db.example/registry")]
    [InlineData("Postgres")]
    public void TryResolve_PostgresUriOrType_PicksPostgres(string value)
    {
        Assert.True(ProviderCatalog.TryResolve(ProviderKind.Metadata, value, out var choice, out var error), error);

        Assert.Equal("postgres", choice.Provider.Type);
        Assert.Null(choice.ConnectionString);
    }

    [Fact]
    public void TryResolve_NpgsqlConnectionString_PicksPostgresWithTheStringAndNeverEchoesIt()
    {
        Assert.True(ProviderCatalog.TryResolve(ProviderKind.Metadata, "Host=db;Database=registry;Password=pw", out var choice, out var error), error);
        Assert.Equal(("postgres", "Host=db;Database=registry;Password=pw"), (choice.Provider.Type, choice.ConnectionString));

        Assert.False(ProviderCatalog.TryResolve(ProviderKind.Storage, "AccountName=x;AccountKey=secret-key", out _, out error));
        Assert.DoesNotContain("secret-key", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgres://u:p@h/db", "postgres://u:***@h/db")]
    [InlineData("postgres://u@h/db", "postgres://u@h/db")]
    [InlineData("s3://bucket/prefix?endpoint=http://h:1", "s3://bucket/prefix?endpoint=http://h:1")]
    [InlineData("x://u:p:q@h:5/db?a=b@c", "x://u:***@h:5/db?a=b@c")]
    [InlineData("sqlite", "sqlite")]
    public void HidePassword_UserInfoPasswordMasked(string value, string expected) =>
        Assert.Equal(expected, ProviderCatalog.HidePassword(value));

    [Fact]
    public async Task ServeAsync_PostgresNotListening_OneLineNamingMetadataWithoutThePassword()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var (exit, error) = await ServeAsync(Settings(("Berth:Metadata:Type", $"postgres://berth:hunter2-secret@127.0.0.1:{port}/registry")));

        Assert.Equal(1, exit);
        Assert.StartsWith($"berth: --metadata 127.0.0.1:{port}/registry as berth: cannot connect", error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void ChoiceRegister_UriValue_HandsTheUriToTheProvider()
    {
        // How issue 12's providers learn where to store (s3://bucket/prefix): the catalog passes the URI along.
        Uri? seen = null;
        var provider = new ProviderCatalog.Provider(ProviderKind.Storage, "fake", ["fake"], (_, _, uri) => seen = uri);

        new ProviderCatalog.Choice(provider, new Uri("fake://bucket/prefix")).Register(new ServiceCollection(), new ConfigurationBuilder().Build());

        Assert.Equal(new Uri("fake://bucket/prefix"), seen);
    }

    [Fact]
    public void Catalog_EveryKindHasADefaultAndTypesAreUnique()
    {
        Assert.Equal("filesystem", ProviderCatalog.All.First(p => p.Kind == ProviderKind.Storage).Type);
        Assert.Equal("sqlite", ProviderCatalog.All.First(p => p.Kind == ProviderKind.Metadata).Type);
        Assert.Equal(ProviderCatalog.All.Count, ProviderCatalog.All.Select(p => (p.Kind, p.Type)).Distinct().Count());
    }

    [Theory]
    [InlineData("--storage", "BERTH_STORAGE", "Berth:Storage:Type")]
    [InlineData("--metadata", "BERTH_METADATA", "Berth:Metadata:Type")]
    public void Resolve_ProviderOption_FromFlagEnvironmentOrConfigFile(string flag, string environment, string key)
    {
        var config = Path.Combine(_root, "berth.json");
        File.WriteAllText(config, $$"""{"{{flag[2..]}}": "from-file"}""");

        Assert.Equal("from-flag", ServeOptions.Resolve([flag, "from-flag"], _ => null)[key]);
        Assert.Equal("from-env", ServeOptions.Resolve([], name => name == environment ? "from-env" : null)[key]);
        Assert.Equal("from-file", ServeOptions.Resolve(["--config", config], _ => null)[key]);
    }

    [Theory]
    [InlineData("Berth:Storage:Type", "gcs", "--storage gcs: unknown storage type")]
    [InlineData("Berth:Metadata:Type", "mysql://db/berth", "--metadata mysql://db/berth: no metadata provider for mysql://")]
    public async Task ServeAsync_UnknownProvider_CommandLineErrorBeforeAnythingListensOrIsWritten(string key, string value, string expected)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        // A command-line mistake: Cli prints it as one line "berth: …" with exit code 2.
        var ex = await Assert.ThrowsAsync<CommandLineException>(() => ServeAsync(Settings((key, value), ("Berth:Listen", $"http://127.0.0.1:{port}"))));

        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.False(Directory.Exists(Data), "the data folder was created for a server that cannot start");
        using var again = new TcpListener(IPAddress.Loopback, port);
        again.Start();
    }

    [Fact]
    public async Task Build_Defaults_EmbeddedDataFolderLayout()
    {
        await using var app = Berth.Testing.MigratedServer.Build(Settings());

        Assert.Equal(Data, app.Services.GetRequiredService<IOptions<FileSystemStorageOptions>>().Value.RootPath);
        Assert.Equal(Path.Combine(Data, "berth.db"), app.Services.GetRequiredService<IOptions<SqliteMetadataOptions>>().Value.DatabasePath);
        Assert.IsType<FileSystemBlobStore>(app.Services.GetRequiredService<IBlobStore>());
        Assert.IsType<FileSystemBlobStore>(app.Services.GetRequiredService<IUploadStore>());
        Assert.IsType<SqliteMetadataStore>(app.Services.GetRequiredService<IRepositoryIndex>());
        Assert.IsAssignableFrom<IProjectStore>(app.Services.GetRequiredService<IProjectStore>());
        Assert.True(File.Exists(Path.Combine(Data, "berth.db")));
    }

    [Fact]
    public async Task Build_ProviderSections_OverrideTheDataFolderDefaults()
    {
        var blobs = Path.Combine(_root, "blobs-elsewhere");
        var database = Path.Combine(_root, "meta", "other.db");
        Directory.CreateDirectory(Path.GetDirectoryName(database)!);

        await using var app = Berth.Testing.MigratedServer.Build(Settings(
            ("Berth:Storage:Type", "filesystem"),
            ("Berth:Storage:FileSystem:RootPath", blobs),
            ("Berth:Metadata:Type", "sqlite"),
            ("Berth:Metadata:Sqlite:DatabasePath", database)));

        Assert.Equal(blobs, app.Services.GetRequiredService<IOptions<FileSystemStorageOptions>>().Value.RootPath);
        Assert.Equal(database, app.Services.GetRequiredService<IOptions<SqliteMetadataOptions>>().Value.DatabasePath);
        Assert.True(File.Exists(database));
    }

    [Fact]
    public async Task Build_S3Uri_UriWinsForWhatItStatesAndTheSectionSuppliesTheRest()
    {
        await using var app = Berth.Testing.MigratedServer.Build(Settings(
            ("Berth:Storage:Type", "s3://my-bucket/pre/fix?endpoint=http://127.0.0.1:9&region=eu-west-1&path-style=true"),
            ("Berth:Storage:S3:Bucket", "other-bucket"),
            ("Berth:Storage:S3:Region", "us-east-1"),
            ("Berth:Storage:S3:AccessKeyId", "section-key"),
            ("Berth:Storage:S3:SecretAccessKey", "section-secret"),
            ("Berth:Storage:S3:Redirect", "true")));

        var options = app.Services.GetRequiredService<IOptions<Berth.Storage.S3.S3StorageOptions>>().Value;
        Assert.Equal(
            ("my-bucket", "pre/fix", "http://127.0.0.1:9", "eu-west-1", true, "section-key", true),
            (options.Bucket, options.Prefix, options.Endpoint, options.Region, options.PathStyle, options.AccessKeyId, options.Redirect));
        Assert.IsType<Berth.Storage.S3.S3BlobStore>(app.Services.GetRequiredService<IBlobStore>());
        Assert.IsType<Berth.Storage.S3.S3BlobStore>(app.Services.GetRequiredService<IUploadStore>());
        Assert.Contains(app.Services.GetServices<Berth.Core.IProviderProbe>(), p => p.Setting == "--storage");
        Assert.False(Directory.Exists(Path.Combine(Data, "blobs")), "the S3 provider wrote blobs into the data folder");
    }

    [Fact]
    public async Task ServeAsync_S3UriWithAnUnknownQueryKey_OneLineNamingTheSetting()
    {
        var (exit, error) = await ServeAsync(Settings(("Berth:Storage:Type", "s3://my-bucket/prefix?region=us-east-1&colour=blue")));

        Assert.Equal(1, exit);
        Assert.Equal("berth: storage: s3: --storage: unknown query key 'colour' (known: endpoint, region, path-style, redirect)", error.TrimEnd('\n'));
    }

    [Fact]
    public async Task ServeAsync_StorageRootIsAFile_OneLineNamingTheProvider()
    {
        var file = Path.Combine(_root, "a-file");
        await File.WriteAllTextAsync(file, "not a folder");

        var (exit, error) = await ServeAsync(Settings(("Berth:Storage:FileSystem:RootPath", file)));

        Assert.Equal(1, exit);
        Assert.Equal($"berth: storage: filesystem: root path {file} is a file, not a folder", error.TrimEnd('\n'));
        Assert.Equal("not a folder", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task ServeAsync_StorageRootEmpty_OneLineNamingTheSetting()
    {
        var (exit, error) = await ServeAsync(Settings(("Berth:Storage:FileSystem:RootPath", " ")));

        Assert.Equal(1, exit);
        Assert.Equal("berth: storage: filesystem: root path is empty (set Berth:Storage:FileSystem:RootPath or --data)", error.TrimEnd('\n'));
    }

    private const string AzuriteConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;";

    [Fact]
    public void TryResolve_AzureUri_ChoosesTheAzureProviderWithTheUri()
    {
        Assert.True(ProviderCatalog.TryResolve(ProviderKind.Storage, "azure://registry/team", out var choice, out var error), error);

        Assert.Equal(("azure", new Uri("azure://registry/team")), (choice.Provider.Type, choice.Location));
    }

    [Fact]
    public async Task Build_AzureUri_ComposesTheAzureStoreWithItsContainerPrefixAndProbe()
    {
        await using var app = Berth.Testing.MigratedServer.Build(Settings(
            ("Berth:Storage:Type", "azure://registry/team/prod"),
            ("Berth:Storage:Azure:ConnectionString", AzuriteConnectionString)));

        var options = app.Services.GetRequiredService<IOptions<Berth.Storage.Azure.AzureStorageOptions>>().Value;
        Assert.Equal(("registry", "team/prod"), (options.Container, options.Prefix));
        Assert.IsType<Berth.Storage.Azure.AzureBlobStore>(app.Services.GetRequiredService<IBlobStore>());
        Assert.IsType<Berth.Storage.Azure.AzureBlobStore>(app.Services.GetRequiredService<IUploadStore>());
        Assert.Contains(app.Services.GetServices<Berth.Core.IProviderProbe>(), p => p.Setting == "--storage");
    }

    [Theory]
    [InlineData("azure://registry/p?endpoint=http://x", "berth: storage: azure: --storage: azure:// URIs take no query parameters (unknown: endpoint)")]
    [InlineData("azure://Registry/p", "berth: storage: azure: --storage azure://CONTAINER/PREFIX: 'Registry' is not a container name")]
    public async Task ServeAsync_AzureUriMistake_OneLineNamingStorage(string uri, string expected)
    {
        var (exit, error) = await ServeAsync(Settings(("Berth:Storage:Type", uri), ("Berth:Storage:Azure:ConnectionString", AzuriteConnectionString)));

        Assert.Equal(1, exit);
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("AccountKey", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeAsync_DatabasePathIsAFolder_OneLineNamingTheProvider()
    {
        var folder = Path.Combine(_root, "db-folder");
        Directory.CreateDirectory(folder);

        var (exit, error) = await ServeAsync(Settings(("Berth:Metadata:Sqlite:DatabasePath", folder)));

        Assert.Equal(1, exit);
        Assert.Equal($"berth: metadata: sqlite: database path {folder} is a folder, not a file", error.TrimEnd('\n'));
    }

    [Fact]
    public async Task ServeAsync_DatabasePathBelowAFile_OneLineNamingTheProvider()
    {
        var file = Path.Combine(_root, "a-file");
        await File.WriteAllTextAsync(file, "x");

        var (exit, error) = await ServeAsync(Settings(("Berth:Metadata:Sqlite:DatabasePath", Path.Combine(file, "berth.db"))));

        Assert.Equal(1, exit);
        Assert.Equal($"berth: metadata: sqlite: database path {Path.Combine(file, "berth.db")}: {file} is a file, not a folder", error.TrimEnd('\n'));
    }

    [Fact]
    public void FileSystemValidator_ReadOnlyFolder_SaysNotWritable()
    {
        // Root ignores permission bits, so the failure is made with a folder that cannot hold new entries for anyone:
        // /proc accepts no new files.
        var services = new ServiceCollection();
        services.AddFileSystemStorage(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Berth:Storage:FileSystem:RootPath"] = "/proc" }).Build());
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<FileSystemStorageOptions>>().Value);

        Assert.StartsWith("storage: filesystem: root path /proc is not writable (", Assert.Single(ex.Failures), StringComparison.Ordinal);
    }
}
