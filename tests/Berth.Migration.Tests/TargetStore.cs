using System.Security.Cryptography;
using Amazon.S3.Model;
using Berth.Testing.Servers;

namespace Berth.Migration.Tests;

/// <summary>
/// The blob store a migration test copies into, as <c>--to-storage</c> names it, and a look behind its back: the
/// committed blobs by digest, the upload leftovers, and a way to damage one blob.
/// </summary>
public abstract class TargetStore : IAsyncDisposable
{
    /// <summary>The command-line arguments naming the store (<c>--to-storage …</c>, and its path when it has one).</summary>
    public abstract IReadOnlyList<string> Arguments { get; }

    /// <summary>Provider settings the store needs besides the arguments (credentials); null for none.</summary>
    public virtual IReadOnlyDictionary<string, string?>? Settings => null;

    /// <summary>Every committed blob's bytes, by digest.</summary>
    public abstract Task<Dictionary<string, byte[]>> BlobsAsync();

    /// <summary>What is left of uploads (files, objects, pending multipart uploads): nothing after a migration.</summary>
    public abstract Task<IReadOnlyList<string>> UploadLeftoversAsync();

    /// <summary>Nothing at all was written (a dry run, a refused migration).</summary>
    public abstract Task<bool> IsUntouchedAsync();

    /// <summary>Overwrites the committed blob <paramref name="digest"/> with <paramref name="bytes"/> (same size: a damaged copy).</summary>
    public abstract Task ReplaceAsync(string digest, byte[] bytes);

    public abstract ValueTask DisposeAsync();
}

/// <summary>A folder of the filesystem provider (<c>--to-storage filesystem --to-storage-path DIR</c>), not created in advance.</summary>
public sealed class FileTargetStore : TargetStore
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "berth-migration-target-" + Guid.NewGuid().ToString("N"));

    public override IReadOnlyList<string> Arguments => ["--to-storage", "filesystem", "--to-storage-path", Path];

    public override Task<Dictionary<string, byte[]>> BlobsAsync() =>
        Task.FromResult(EmbeddedInstallation.BlobFiles(Path).ToDictionary(f => f.Key, f => File.ReadAllBytes(f.Value), StringComparer.Ordinal));

    public override Task<IReadOnlyList<string>> UploadLeftoversAsync()
    {
        var uploads = System.IO.Path.Combine(Path, "uploads");
        IReadOnlyList<string> left = Directory.Exists(uploads) ? Directory.EnumerateFileSystemEntries(uploads).ToList() : [];
        return Task.FromResult(left);
    }

    public override Task<bool> IsUntouchedAsync() => Task.FromResult(!Directory.Exists(Path));

    public override Task ReplaceAsync(string digest, byte[] bytes) => File.WriteAllBytesAsync(EmbeddedInstallation.BlobFiles(Path)[digest], bytes);

    public override ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>A throwaway bucket on the shared radosgw, below a prefix (<c>--to-storage s3://BUCKET/PREFIX?…</c>); keys as settings.</summary>
public sealed class S3TargetStore(TestS3.TestBucket bucket) : TargetStore
{
    public const string Prefix = "target";

    public static async Task<S3TargetStore> CreateAsync() => new(await TestS3.CreateBucketAsync("migrate"));

    public TestS3.TestBucket Bucket { get; } = bucket;

    public override IReadOnlyList<string> Arguments => ["--to-storage", Bucket.StorageUri(Prefix)];

    public override IReadOnlyDictionary<string, string?>? Settings => MigratedInstallation.S3Credentials;

    public override async Task<Dictionary<string, byte[]>> BlobsAsync()
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var key in await Bucket.KeysAsync(Prefix + "/blobs/"))
        {
            var parts = key.Split('/');
            using var read = await Bucket.Client.GetObjectAsync(Bucket.Name, key);
            using var bytes = new MemoryStream();
            await read.ResponseStream.CopyToAsync(bytes);
            result[parts[^3] + ":" + parts[^1]] = bytes.ToArray();
        }

        return result;
    }

    public override async Task<IReadOnlyList<string>> UploadLeftoversAsync()
    {
        var left = new List<string>(await Bucket.KeysAsync(Prefix + "/uploads/"));
        var pending = await Bucket.Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = Bucket.Name });
        left.AddRange((pending.MultipartUploads ?? []).Select(u => "multipart upload of " + u.Key));
        return left;
    }

    public override async Task<bool> IsUntouchedAsync() => (await Bucket.KeysAsync()).Count == 0;

    public override async Task ReplaceAsync(string digest, byte[] bytes)
    {
        var hex = digest[(digest.IndexOf(':', StringComparison.Ordinal) + 1)..];
        await Bucket.Client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = Bucket.Name,
            Key = $"{Prefix}/blobs/{digest[..digest.IndexOf(':', StringComparison.Ordinal)]}/{hex[..2]}/{hex}",
            InputStream = new MemoryStream(bytes),
        });
    }

    public override ValueTask DisposeAsync() => Bucket.DisposeAsync();

    /// <summary>A bucket name nobody created.</summary>
    public static string MissingBucketUri() =>
        $"s3://berth-missing-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}/x?endpoint={Uri.EscapeDataString(TestS3.Endpoint)}&region=us-east-1&path-style=true";
}

/// <summary>
/// A throwaway container on the shared Azurite (<c>BERTH_TEST_AZURITE</c>, its well-known development account), below a
/// prefix (<c>--to-storage azure://CONTAINER/PREFIX</c>); the connection string as a setting.
/// </summary>
public sealed class AzureTargetStore : TargetStore
{
    public const string Server = "Azurite";
    public const string EndpointVariable = "BERTH_TEST_AZURITE";
    public const string DefaultEndpoint = "127.0.0.1:10000";
    public const string Prefix = "target";

    /// <summary>Azurite's published development account key (not a secret).</summary>
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private AzureTargetStore(Azure.Storage.Blobs.BlobContainerClient container) => Container = container;

    public static string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};BlobEndpoint=http://{(Environment.GetEnvironmentVariable(EndpointVariable) is { Length: > 0 } e ? e : DefaultEndpoint)}/devstoreaccount1;";

    public static async Task<AzureTargetStore> CreateAsync()
    {
        var container = new Azure.Storage.Blobs.BlobServiceClient(ConnectionString).GetBlobContainerClient("berth-migrate-" + Guid.NewGuid().ToString("N")[..12]);
        await container.CreateAsync();
        return new AzureTargetStore(container);
    }

    public Azure.Storage.Blobs.BlobContainerClient Container { get; }

    public override IReadOnlyList<string> Arguments => ["--to-storage", $"azure://{Container.Name}/{Prefix}"];

    public override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
    {
        ["Berth:Storage:Azure:ConnectionString"] = ConnectionString,
    };

    public override async Task<Dictionary<string, byte[]>> BlobsAsync()
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in await NamesAsync(Prefix + "/blobs/"))
        {
            var parts = name.Split('/');
            var content = await Container.GetBlobClient(name).DownloadContentAsync();
            result[parts[^3] + ":" + parts[^1]] = content.Value.Content.ToArray();
        }

        return result;
    }

    public override async Task<IReadOnlyList<string>> UploadLeftoversAsync() => await NamesAsync(Prefix + "/uploads/");

    public override async Task<bool> IsUntouchedAsync() => (await NamesAsync(string.Empty)).Count == 0;

    public override async Task ReplaceAsync(string digest, byte[] bytes)
    {
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        var hex = digest[(colon + 1)..];
        await Container.GetBlobClient($"{Prefix}/blobs/{digest[..colon]}/{hex[..2]}/{hex}").UploadAsync(new BinaryData(bytes), overwrite: true);
    }

    public override async ValueTask DisposeAsync() => await Container.DeleteIfExistsAsync();

    private async Task<List<string>> NamesAsync(string prefix)
    {
        var names = new List<string>();
        await foreach (var item in Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix }))
        {
            names.Add(item.Name);
        }

        return names;
    }
}
