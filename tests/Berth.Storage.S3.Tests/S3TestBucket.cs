using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Berth.Core.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Storage.S3.Tests;

/// <summary>
/// A bucket with a random name on the test S3 server (<c>BERTH_TEST_S3</c>, keys <c>BERTH_TEST_S3_ACCESS_KEY</c> /
/// <c>_SECRET_KEY</c>), created by the first test of a class that uses it and deleted with everything in it at the end.
/// Each test works below its own random prefix.
/// </summary>
public sealed class S3TestBucket : IAsyncDisposable
{
    private readonly SemaphoreSlim _create = new(1, 1);
    private readonly List<IDisposable> _owned = [];
    private IAmazonS3? _admin;

    public string Name { get; } = "berth-test-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    public static string Endpoint => "http://" + (Environment.GetEnvironmentVariable("BERTH_TEST_S3") is { Length: > 0 } e ? e : "127.0.0.1:7480");

    public static string AccessKey => Environment.GetEnvironmentVariable("BERTH_TEST_S3_ACCESS_KEY") is { Length: > 0 } k ? k : "ciaccess";

    public static string SecretKey => Environment.GetEnvironmentVariable("BERTH_TEST_S3_SECRET_KEY") is { Length: > 0 } k ? k : "cisecret";

    /// <summary>Options for the store below <paramref name="prefix"/> of this bucket.</summary>
    public S3StorageOptions Options(string prefix) => new()
    {
        Bucket = Name,
        Prefix = prefix,
        Endpoint = Endpoint,
        Region = "us-east-1",
        PathStyle = true,
        AccessKeyId = AccessKey,
        SecretAccessKey = SecretKey,
    };

    /// <summary>A client with full rights on the bucket, for looking behind the store's back.</summary>
    public IAmazonS3 Admin => _admin ?? throw new InvalidOperationException("the bucket is not created yet");

    public async Task EnsureCreatedAsync()
    {
        await _create.WaitAsync();
        try
        {
            if (_admin is null)
            {
                var admin = S3Bucket.CreateClient(Options(string.Empty));
                await admin.PutBucketAsync(new PutBucketRequest { BucketName = Name });
                _admin = admin;
            }
        }
        finally
        {
            _create.Release();
        }
    }

    /// <summary>A new store instance (as another process or node would open it) below <paramref name="prefix"/>.</summary>
    public S3BlobStore OpenStore(string prefix, TimeProvider? clock = null, Action<S3StorageOptions>? configure = null)
    {
        var options = Options(prefix);
        configure?.Invoke(options);
        var bucket = new S3Bucket(S3Bucket.CreateClient(options), options, ownsClient: true);
        lock (_owned)
        {
            _owned.Add(bucket);
        }

        return new S3BlobStore(bucket, clock ?? TimeProvider.System, NullLogger<S3BlobStore>.Instance);
    }

    /// <summary>Every key below <paramref name="prefix"/>.</summary>
    public async Task<List<string>> KeysAsync(string prefix)
    {
        var keys = new List<string>();
        var request = new ListObjectsV2Request { BucketName = Name, Prefix = prefix };
        while (true)
        {
            var page = await Admin.ListObjectsV2Async(request);
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            if (page.IsTruncated != true)
            {
                return keys;
            }

            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    /// <summary>Removes every object and pending multipart upload below <paramref name="prefix"/>.</summary>
    public async Task DeleteAllAsync(string prefix)
    {
        if (_admin is null)
        {
            return;
        }

        foreach (var key in await KeysAsync(prefix))
        {
            await Admin.DeleteObjectAsync(Name, key);
        }

        var pending = await Admin.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = Name, Prefix = prefix });
        foreach (var upload in pending.MultipartUploads ?? [])
        {
            await Admin.AbortMultipartUploadAsync(Name, upload.Key, upload.UploadId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_owned)
        {
            foreach (var owned in _owned)
            {
                owned.Dispose();
            }

            _owned.Clear();
        }

        if (_admin is not null)
        {
            await DeleteAllAsync(string.Empty);
            await _admin.DeleteBucketAsync(Name);
            _admin.Dispose();
        }

        _create.Dispose();
    }
}
