using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Berth.Testing.Servers;

/// <summary>
/// The S3 server the suites share (tests/servers/up.sh starts a one-node Ceph with radosgw and exports its variables):
/// where it is and the keys of its test user. Pair with
/// <c>[RequiresServer(TestS3.Server, TestS3.EndpointVariable, TestS3.DefaultEndpoint)]</c>.
/// </summary>
public static class TestS3
{
    public const string Server = "S3 (radosgw)";
    public const string EndpointVariable = "BERTH_TEST_S3";
    public const string DefaultEndpoint = "127.0.0.1:7480";

    public static string Endpoint => "http://" + (Environment.GetEnvironmentVariable(EndpointVariable) is { Length: > 0 } e ? e : DefaultEndpoint);

    public static string AccessKey => Environment.GetEnvironmentVariable("BERTH_TEST_S3_ACCESS_KEY") is { Length: > 0 } k ? k : "ciaccess";

    public static string SecretKey => Environment.GetEnvironmentVariable("BERTH_TEST_S3_SECRET_KEY") is { Length: > 0 } k ? k : "cisecret";

    /// <summary>A client with full rights, for creating buckets and looking behind a store's back.</summary>
    public static IAmazonS3 CreateClient() => new AmazonS3Client(
        new BasicAWSCredentials(AccessKey, SecretKey),
        new AmazonS3Config
        {
            ServiceURL = Endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = TimeSpan.FromSeconds(60), // a stuck server fails the test instead of hanging the run
            MaxErrorRetry = 2,
        });

    /// <summary>Creates an empty bucket with a fresh name (<paramref name="hint"/> plus random letters).</summary>
    public static async Task<TestBucket> CreateBucketAsync(string hint)
    {
        var cleaned = new string(hint.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(30).ToArray());
        var name = "berth-" + (cleaned.Length > 0 ? cleaned + "-" : string.Empty) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));
        var client = CreateClient();
        try
        {
            await client.PutBucketAsync(new PutBucketRequest { BucketName = name });
        }
        catch
        {
            client.Dispose();
            throw;
        }

        return new TestBucket(name, client);
    }

    /// <summary>A throwaway bucket: dispose removes every object, pending multipart upload and the bucket itself.</summary>
    public sealed class TestBucket(string name, IAmazonS3 client) : IAsyncDisposable
    {
        public string Name { get; } = name;

        /// <summary>A client with full rights on the bucket.</summary>
        public IAmazonS3 Client { get; } = client;

        /// <summary>The bucket (below <paramref name="prefix"/>) as <c>--storage</c> takes it.</summary>
        public string StorageUri(string prefix = "") =>
            $"s3://{Name}/{prefix}?endpoint={Uri.EscapeDataString(Endpoint)}&region=us-east-1&path-style=true";

        /// <summary>The environment a server process needs to reach the bucket.</summary>
        public IReadOnlyDictionary<string, string> Environment { get; } = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
        };

        /// <summary>Every key below <paramref name="prefix"/>.</summary>
        public async Task<List<string>> KeysAsync(string prefix = "")
        {
            var keys = new List<string>();
            var request = new ListObjectsV2Request { BucketName = Name, Prefix = prefix };
            while (true)
            {
                var page = await Client.ListObjectsV2Async(request);
                keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
                if (page.IsTruncated != true)
                {
                    return keys;
                }

                request.ContinuationToken = page.NextContinuationToken;
            }
        }

        private int _disposed;

        /// <summary>Removes the bucket; a second call (a test that deleted the bucket, then its fixture) does nothing.</summary>
        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            try
            {
                foreach (var key in await KeysAsync())
                {
                    await Client.DeleteObjectAsync(Name, key);
                }

                var pending = await Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = Name });
                foreach (var upload in pending.MultipartUploads ?? [])
                {
                    await Client.AbortMultipartUploadAsync(Name, upload.Key, upload.UploadId);
                }

                await Client.DeleteBucketAsync(Name);
            }
            finally
            {
                Client.Dispose();
            }
        }
    }
}
