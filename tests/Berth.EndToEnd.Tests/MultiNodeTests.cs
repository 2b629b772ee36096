using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;
using Berth.Testing.Servers;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// Two <c>berth serve</c> processes, A and B, on one PostgreSQL database and one radosgw bucket with a shared
/// <c>--token-key-dir</c>, as behind a load balancer (issue 12): any node serves any request, an upload begun on one is
/// finished on the other (also after the first is killed mid-chunk), a registry token issued by one is accepted by the
/// other, a token revoked through one is refused by the other within 5 seconds, and <c>/readyz</c> says when a node's
/// bucket is gone. Tests that kill a node or take its bucket away start a node of their own.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
[RequiresServer(TestS3.Server, TestS3.EndpointVariable, TestS3.DefaultEndpoint)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MultiNodeTests(MultiNodeTests.Cluster cluster) : IClassFixture<MultiNodeTests.Cluster>
{
    private const int Chunk = 1024 * 1024;

    /// <summary>Nodes A and B (<see cref="ScaleOutCluster.Nodes"/> 0 and 1).</summary>
    public sealed class Cluster() : ScaleOutCluster("multinode")
    {
        public BerthProcess A => Nodes[0];

        public BerthProcess B => Nodes[1];

        protected override async Task StartNodesAsync()
        {
            await StartNodeAsync();
            await StartNodeAsync();
        }
    }

    private BerthProcess A => cluster.A;

    private BerthProcess B => cluster.B;

    private async Task RunAsync(Func<Task> test)
    {
        await cluster.EnsureStartedAsync();
        await cluster.WithLogsAsync(test);
    }

    [Fact]
    public Task Skopeo_PushThroughAPullThroughB_ByteIdentical() => RunAsync(async () =>
    {
        using var work = new TempDirectory("multinode-skopeo");
        var image = OciLayoutBuilder.MultiPlatformIndex(work.Sub("source"), "multi", bytesPerLayer: 6 * Chunk + 4321, seed: 12);
        await Skopeo.PushAsync(image, $"{A.Host}/cluster/app:multi");

        var served = await Skopeo.InspectRawAsync($"{B.Host}/cluster/app:multi");
        Assert.Equal(image.Root.Digest, Sha256Digest.Of(served));
        var pulled = work.Sub("pulled");
        await Skopeo.PullAsync($"{B.Host}/cluster/app:multi", pulled, "multi", all: true);
        ImageAssert.PulledIdentical(image, pulled, "multi");
    });

    /// <summary>
    /// skopeo sends each blob in one PATCH, so the chunked push is done over HTTP: chunks of 2 MiB + 1 (under S3's 5 MiB
    /// part minimum, and not aligned with anything) through A, then skopeo pulls through B.
    /// </summary>
    [Fact]
    public Task ChunkedHttpPushThroughA_SkopeoPullThroughB_ByteIdentical() => RunAsync(async () =>
    {
        using var work = new TempDirectory("multinode-chunked");
        var image = OciLayoutBuilder.RandomImage(work.Sub("source"), "chunked", layers: 2, bytesPerLayer: 7 * Chunk + 333, seed: 13);
        using (var a = new RegistryHttp(A.BaseAddress))
        {
            await a.PushImageAsync(image, "cluster/chunked", "v1", chunked: true, chunkSize: 2 * Chunk + 1);
        }

        Assert.Contains("PATCH /v2/cluster/chunked/blobs/uploads/", A.Log, StringComparison.Ordinal);
        var pulled = work.Sub("pulled");
        await Skopeo.PullAsync($"{B.Host}/cluster/chunked:v1", pulled, "chunked", all: false);
        ImageAssert.PulledIdentical(image, pulled, "chunked");
    });

    [Fact]
    public Task ChunkedUpload_BegunOnA_FinishedOnB() => RunAsync(async () =>
    {
        var blob = DeterministicRandom.Bytes(21, "a-then-b", 7 * Chunk + 99);
        var digest = Sha256Digest.Of(blob);
        using var a = new RegistryHttp(A.BaseAddress);
        using var b = new RegistryHttp(B.BaseAddress);

        var upload = await a.StartUploadAsync("cluster/chunks");
        upload = await a.PatchAsync(upload, blob.AsMemory(0, 3 * Chunk), 0);
        upload = await b.PatchAsync(OnNode(upload, B), blob.AsMemory(3 * Chunk, 1), 3 * Chunk); // one byte
        upload = await a.PatchAsync(OnNode(upload, A), blob.AsMemory(3 * Chunk + 1, 2 * Chunk), 3 * Chunk + 1);

        // B knows what A acknowledged: a chunk at the offset B last saw is refused with where the upload really is.
        using (var stale = new HttpRequestMessage(HttpMethod.Patch, OnNode(upload, B)) { Content = RegistryHttp.Chunk(blob.AsMemory(3 * Chunk + 1, Chunk), 3 * Chunk + 1) })
        using (var refused = await b.Client.SendAsync(stale))
        {
            Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, refused.StatusCode);
            Assert.Equal($"0-{5 * Chunk}", RegistryHttp.RangeHeader(refused));
        }

        await b.CompleteAsync(OnNode(upload, B), digest, blob.AsMemory(5 * Chunk + 1), 5 * Chunk + 1);

        foreach (var node in new[] { a, b })
        {
            var bytes = await node.Client.GetByteArrayAsync($"/v2/cluster/chunks/blobs/{digest}");
            Assert.True(bytes.AsSpan().SequenceEqual(blob), "the blob read back differs");
        }

        // Finished on B, the upload is gone on A too.
        using var finished = await a.Client.GetAsync(OnNode(upload, A));
        Assert.Equal(HttpStatusCode.NotFound, finished.StatusCode);
    });

    /// <summary>
    /// A node (its own, K, so A and B stay up for the other tests) is killed with SIGKILL while a chunk is half sent and
    /// it holds the upload's lock object in the bucket. The client asks B where the upload stands (the acknowledged
    /// offset: the half chunk is not part of it), and appends there; B refuses with 416 while the dead node's lock lease
    /// runs (3 s on K, <c>Berth:Storage:S3:UploadLockLease</c>; 30 s by default), then takes it over.
    /// </summary>
    [Fact]
    public Task ChunkedUpload_NodeKilledMidChunk_ClientFinishesOnB() => RunAsync(async () =>
    {
        var lease = TimeSpan.FromSeconds(3);
        var k = await cluster.StartNodeAsync(null, $"--Berth:Storage:S3:UploadLockLease={lease:c}");
        var blob = DeterministicRandom.Bytes(22, "killed", 9 * Chunk + 7);
        var digest = Sha256Digest.Of(blob);
        Uri upload;
        using (var onK = new RegistryHttp(k.BaseAddress))
        {
            upload = await onK.StartUploadAsync("cluster/killed");
            upload = await onK.PatchAsync(upload, blob.AsMemory(0, 6 * Chunk), 0);

            using var stalling = new UploadRestartTests.StallingContent(blob.AsMemory(6 * Chunk, 2 * Chunk), 6 * Chunk, sendBeforeStall: Chunk);
            using var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = stalling };
            var inFlight = onK.Client.SendAsync(request);
            await stalling.Stalled.WaitAsync(TimeSpan.FromSeconds(30));
            var id = upload.AbsolutePath.TrimEnd('/').Split('/')[^1];
            Assert.True(await WaitForKeyAsync(cluster.Bucket, $"uploads/{id}/lock", TimeSpan.FromSeconds(20)), "K never took the upload's lock");
            Assert.False(inFlight.IsCompleted, "the stalled chunk should still be in flight when K is killed");

            k.Kill();
            stalling.Abort();
            await Assert.ThrowsAnyAsync<Exception>(() => inFlight);
        }

        using var b = new RegistryHttp(B.BaseAddress);
        var onB = OnNode(upload, B);
        using (var status = await b.Client.GetAsync(onB))
        {
            await RegistryHttp.ExpectAsync(status, HttpStatusCode.NoContent, "upload status on B");
            Assert.Equal($"0-{6 * Chunk - 1}", RegistryHttp.RangeHeader(status)); // the unacknowledged half chunk is not part of it
        }

        // The client resumes at the acknowledged offset, retrying while the dead node's lease runs.
        var clock = Stopwatch.StartNew();
        var refusals = 0;
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Patch, onB) { Content = RegistryHttp.Chunk(blob.AsMemory(6 * Chunk, 2 * Chunk), 6 * Chunk) };
            using var response = await b.Client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                Assert.Equal($"0-{8 * Chunk - 1}", RegistryHttp.RangeHeader(response));
                onB = new Uri(B.BaseAddress, response.Headers.Location!);
                break;
            }

            await RegistryHttp.ExpectAsync(response, HttpStatusCode.RequestedRangeNotSatisfiable, "PATCH on B while K's lease runs");
            refusals++;
            Assert.True(clock.Elapsed < lease + TimeSpan.FromSeconds(15), $"B still refuses the upload {clock.Elapsed.TotalSeconds:0.0} s after K died (lease {lease.TotalSeconds} s)");
            await Task.Delay(250);
        }

        await b.CompleteAsync(onB, digest, blob.AsMemory(8 * Chunk), 8 * Chunk);
        var bytes = await b.Client.GetByteArrayAsync($"/v2/cluster/killed/blobs/{digest}");
        Assert.True(bytes.AsSpan().SequenceEqual(blob), $"the blob read back differs (B refused {refusals} times before taking over)");
        using var a = new RegistryHttp(A.BaseAddress);
        Assert.Equal(digest, Sha256Digest.Of(await a.Client.GetByteArrayAsync($"/v2/cluster/killed/blobs/{digest}")));
    });

    [Fact]
    public Task AccessToken_RevokedThroughA_RefusedByBWithin5Seconds() => RunAsync(async () =>
    {
        using var adminA = new RegistryHttp(A.BaseAddress);
        using var create = await adminA.Client.PostAsJsonAsync("/api/v1/tokens", new { name = "ci-revoked", scope = "pull,push" });
        await RegistryHttp.ExpectAsync(create, HttpStatusCode.Created, "create token on A");
        var created = JsonDocument.Parse(await create.Content.ReadAsStringAsync()).RootElement;
        var secret = created.GetProperty("token").GetString()!;
        var id = created.GetProperty("id").GetInt64();

        // B accepts the token as a password, and issues a registry token for a push with it.
        using var withToken = new RegistryHttp(B.BaseAddress, BerthProcess.AdminUser, secret);
        using (var ok = await withToken.Client.GetAsync("/v2/"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var jwt = await RegistryTokenAsync(withToken.Client, "repository:cluster/revoked:pull,push");
        using var bearer = BearerClient(B, jwt);
        using (var push = await bearer.PostAsync("/v2/cluster/revoked/blobs/uploads/", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, push.StatusCode);
        }

        using (var revoke = await adminA.Client.DeleteAsync($"/api/v1/tokens/{id}"))
        {
            await RegistryHttp.ExpectAsync(revoke, HttpStatusCode.NoContent, "revoke on A");
        }

        // Then B refuses the token, and a push with the registry token it issued (a write checks the binding as it is now).
        var clock = Stopwatch.StartNew();
        var basicRefused = TimeSpan.Zero;
        var bearerRefused = TimeSpan.Zero;
        while (basicRefused == TimeSpan.Zero || bearerRefused == TimeSpan.Zero)
        {
            if (basicRefused == TimeSpan.Zero)
            {
                using var probe = await withToken.Client.GetAsync("/v2/");
                if (probe.StatusCode == HttpStatusCode.Unauthorized)
                {
                    basicRefused = clock.Elapsed;
                }
            }

            if (bearerRefused == TimeSpan.Zero)
            {
                using var push = await bearer.PostAsync("/v2/cluster/revoked/blobs/uploads/", null);
                if (push.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    bearerRefused = clock.Elapsed;
                }
                else
                {
                    Assert.Equal(HttpStatusCode.Accepted, push.StatusCode);
                }
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5),
                $"B still accepts the revoked token after {clock.Elapsed.TotalSeconds:0.0} s (as a password: {(basicRefused == TimeSpan.Zero ? "yes" : "no")}, its registry token for a push: {(bearerRefused == TimeSpan.Zero ? "yes" : "no")})");
            await Task.Delay(100);
        }
    });

    [Fact]
    public Task RegistryToken_IssuedByA_AcceptedByB() => RunAsync(async () =>
    {
        using var admin = new RegistryHttp(A.BaseAddress);
        var blob = DeterministicRandom.Bytes(23, "bearer", 4096);
        var digest = Sha256Digest.Of(blob);
        var jwt = await RegistryTokenAsync(admin.Client, "repository:cluster/bearer:pull,push");

        using var onB = BearerClient(B, jwt);
        using (var body = new ByteArrayContent(blob))
        {
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var push = await onB.PostAsync($"/v2/cluster/bearer/blobs/uploads/?digest={digest}", body);
            await RegistryHttp.ExpectAsync(push, HttpStatusCode.Created, "push on B with A's token");
        }

        Assert.Equal(blob, await onB.GetByteArrayAsync($"/v2/cluster/bearer/blobs/{digest}"));

        // The grant is what A signed: another repository is refused on B.
        using (var other = await onB.GetAsync($"/v2/cluster/app/blobs/{digest}"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode);
        }

        // A token whose signature was tampered with is refused by B.
        var parts = jwt.Split('.');
        var signature = parts[2].ToCharArray();
        signature[10] = signature[10] == 'A' ? 'B' : 'A';
        using var forged = BearerClient(B, $"{parts[0]}.{parts[1]}.{new string(signature)}");
        using var refused = await forged.GetAsync($"/v2/cluster/bearer/blobs/{digest}");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    });

    [Fact]
    public Task Readyz_BothNodes_Ready() => RunAsync(async () =>
    {
        foreach (var node in new[] { A, B })
        {
            using var http = new HttpClient { BaseAddress = node.BaseAddress };
            using var ready = await http.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }
    });

    /// <summary>A node of its own on a bucket of its own; the bucket is deleted under it.</summary>
    [Fact]
    public Task Readyz_NodeWhoseBucketIsDeleted_503NamingStorage() => RunAsync(async () =>
    {
        var bucket = await cluster.CreateBucketAsync();
        var node = await cluster.StartNodeAsync(bucket.StorageUri("gone"));
        using var http = new HttpClient { BaseAddress = node.BaseAddress };
        using (var ready = await http.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        await bucket.DisposeAsync(); // every object, then the bucket

        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var ready = await http.GetAsync("/readyz");
            if (ready.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal("unavailable", body.GetProperty("status").GetString());
                var storage = body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("setting").GetString() == "--storage");
                Assert.Equal("failed", storage.GetProperty("status").GetString());
                Assert.Contains(bucket.Name, storage.GetProperty("reason").GetString(), StringComparison.Ordinal);
                var metadata = body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("setting").GetString() == "--metadata");
                Assert.Equal("ok", metadata.GetProperty("status").GetString());
                break;
            }

            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "/readyz still answers 200 10 s after the bucket was deleted");
            await Task.Delay(200);
        }

        // The other nodes are not concerned.
        using var a = new HttpClient { BaseAddress = A.BaseAddress };
        using var stillReady = await a.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, stillReady.StatusCode);
    });

    [Fact]
    public Task Serve_S3EndpointNotAnswering_OneLineNamingStorage() => RunAsync(async () =>
    {
        var result = await ServeAsync($"s3://{cluster.Bucket.Name}/?endpoint=http://127.0.0.1:{ClosedPort()}&region=us-east-1&path-style=true");

        OperationsTests.OneLineFailure(result, "--storage");
        Assert.Contains("does not answer", result.StandardError, StringComparison.Ordinal);
    });

    [Fact]
    public Task Serve_MissingBucket_OneLineNamingStorage() => RunAsync(async () =>
    {
        var missing = cluster.Bucket.Name + "-missing";
        var result = await ServeAsync(cluster.Bucket.StorageUri().Replace(cluster.Bucket.Name, missing, StringComparison.Ordinal));

        OperationsTests.OneLineFailure(result, "--storage");
        Assert.Contains($"bucket '{missing}'", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("does not exist", result.StandardError, StringComparison.Ordinal);
    });

    /// <summary><c>berth serve</c> on the cluster's database with <paramref name="storage"/>, expected to stop at start-up.</summary>
    private async Task<ProcessResult> ServeAsync(string storage)
    {
        using var work = new TempDirectory("multinode-refused");
        var environment = new Dictionary<string, string?>(cluster.Bucket.Environment.ToDictionary(e => e.Key, e => (string?)e.Value))
        {
            ["BERTH_ADMIN_PASSWORD"] = BerthProcess.AdminPassword,
        };
        return await OperationsTests.BerthAsync(work.Path, environment,
            "serve", "--listen", $"http://127.0.0.1:{ClosedPort()}", "--data", work.Sub("data"),
            "--metadata", cluster.Database.Uri.ToString(), "--storage", storage, "--token-key-dir", cluster.KeyFolder);
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A registry token from the Docker token endpoint (<c>GET /token</c>) of the client's node.</summary>
    private static async Task<string> RegistryTokenAsync(HttpClient client, string scope)
    {
        using var response = await client.GetAsync($"/token?service=berth&scope={Uri.EscapeDataString(scope)}");
        await RegistryHttp.ExpectAsync(response, HttpStatusCode.OK, $"GET /token {scope}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
    }

    private static HttpClient BearerClient(BerthProcess node, string jwt)
    {
        var client = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromMinutes(1) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", jwt);
        return client;
    }

    private static async Task<bool> WaitForKeyAsync(TestS3.TestBucket bucket, string suffix, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if ((await bucket.KeysAsync()).Any(k => k.EndsWith(suffix, StringComparison.Ordinal)))
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    /// <summary>The same upload URL (path and query) on another node.</summary>
    private static Uri OnNode(Uri upload, BerthProcess node) => new(node.BaseAddress, upload.PathAndQuery);
}
