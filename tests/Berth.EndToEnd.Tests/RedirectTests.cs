using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Web;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;
using Berth.Testing.Servers;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// Blob GETs redirected to the object store (issue 12 item 3): three nodes on one database and the same bucket and
/// prefix: R with <c>redirect=true</c> on the storage URI (presigned URLs valid 20 minutes, the default), S the same
/// with a 2-second lifetime, P without (the default). skopeo follows R's 307s and pulls byte-identical; a 307 goes only to
/// an authorized GET of a blob the repository holds, its Location is presigned on the S3 endpoint and expires; HEAD is
/// answered from the metadata, never redirected.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
[RequiresServer(TestS3.Server, TestS3.EndpointVariable, TestS3.DefaultEndpoint)]
public sealed class RedirectTests(RedirectTests.Cluster cluster) : IClassFixture<RedirectTests.Cluster>
{
    private const string Repository = "redirect/app";

    /// <summary>R, S and P, and an image pushed through R to <see cref="Repository"/>:v1.</summary>
    public sealed class Cluster() : ScaleOutCluster("redirect")
    {
        private TempDirectory? _work;

        public BerthProcess R { get; private set; } = null!;

        public BerthProcess S { get; private set; } = null!;

        public BerthProcess P { get; private set; } = null!;

        public TestImage Image { get; private set; } = null!;

        /// <summary>The image's first layer.</summary>
        public byte[] Layer { get; private set; } = null!;

        public string LayerDigest { get; private set; } = null!;

        public TempDirectory Work => _work!;

        protected override async Task StartNodesAsync()
        {
            var storage = Bucket.StorageUri("shared");
            R = await StartNodeAsync(storage + "&redirect=true"); // first: it creates the administrator
            var s = StartNodeAsync(storage + "&redirect=true", "--Berth:Storage:S3:RedirectExpiry=00:00:02");
            var p = StartNodeAsync(storage);
            (S, P) = (await s, await p);

            _work = new TempDirectory("redirect");
            Image = OciLayoutBuilder.RandomImage(_work.Sub("source"), "v1", layers: 2, bytesPerLayer: 2 * 1024 * 1024 + 17, seed: 31);
            LayerDigest = Image.Images.Single().Layers[0].Descriptor.Digest;
            Layer = await File.ReadAllBytesAsync(Image.BlobPath(LayerDigest));
            using var http = new RegistryHttp(R.BaseAddress);
            await http.PushImageAsync(Image, Repository, "v1", chunked: false);
        }

        public override async Task DisposeAsync()
        {
            await base.DisposeAsync();
            _work?.Dispose();
        }
    }

    private async Task RunAsync(Func<Task> test)
    {
        await cluster.EnsureStartedAsync();
        await cluster.WithLogsAsync(test);
    }

    /// <summary>A client signed in as the administrator that does not follow redirects.</summary>
    private static HttpClient NoRedirects(BerthProcess node, AuthenticationHeaderValue? authorization = null)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromMinutes(1) };
        client.DefaultRequestHeaders.Authorization = authorization ?? RegistryAuth.Basic(BerthProcess.AdminUser, BerthProcess.AdminPassword);
        return client;
    }

    [Fact]
    public Task Skopeo_PullThroughRedirectingNode_ByteIdenticalAndEveryBlobGetAnswered307() => RunAsync(async () =>
    {
        var pulled = cluster.Work.Sub($"pulled-{Guid.NewGuid():N}");
        var logBefore = cluster.R.Log.Length;
        await Skopeo.PullAsync($"{cluster.R.Host}/{Repository}:v1", pulled, "v1", all: false);
        ImageAssert.PulledIdentical(cluster.Image, pulled, "v1");

        // Every blob skopeo fetched (config and layers) was a GET answered 307: the bytes came from the store.
        var pull = cluster.R.Log[logBefore..].Split('\n');
        var built = cluster.Image.Images.Single();
        foreach (var blob in built.Layers.Select(l => l.Descriptor.Digest).Append(built.Config.Digest))
        {
            var answers = pull.Where(l => l.Contains($"GET /v2/{Repository}/blobs/{blob} ", StringComparison.Ordinal)).ToList();
            Assert.True(answers.Count > 0, $"no GET of {blob} in R's log while skopeo pulled");
            Assert.All(answers, line => Assert.Contains($"/blobs/{blob} 307 ", line, StringComparison.Ordinal));
        }
    });

    [Fact]
    public Task BlobGet_RedirectOn_307ToPresignedStoreUrlThatServesTheBytes() => RunAsync(async () =>
    {
        using var client = NoRedirects(cluster.R);
        using var response = await client.GetAsync($"/v2/{Repository}/blobs/{cluster.LayerDigest}");

        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        var location = response.Headers.Location!;
        var endpoint = new Uri(TestS3.Endpoint);
        Assert.Equal((endpoint.Scheme, endpoint.Host, endpoint.Port), (location.Scheme, location.Host, location.Port));
        Assert.Equal($"/{cluster.Bucket.Name}/shared/blobs/sha256/{cluster.LayerDigest[7..9]}/{cluster.LayerDigest[7..]}", location.AbsolutePath);
        var query = HttpUtility.ParseQueryString(location.Query);
        Assert.Equal("AWS4-HMAC-SHA256", query["X-Amz-Algorithm"]);
        Assert.StartsWith(TestS3.AccessKey + "/", query["X-Amz-Credential"], StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(query["X-Amz-Signature"]));
        Assert.InRange(int.Parse(query["X-Amz-Expires"]!, CultureInfo.InvariantCulture), 1195, 1205); // 20 minutes, the default (the SDK rounds)
        Assert.DoesNotContain(TestS3.SecretKey, location.ToString(), StringComparison.Ordinal);

        // The presigned URL serves the bytes to anyone holding it, without credentials.
        using var store = new HttpClient();
        Assert.Equal(cluster.Layer, await store.GetByteArrayAsync(location));

        // Without its signature, or with another one, the store refuses it: the bucket is not public.
        using (var unsigned = await store.GetAsync(location.GetLeftPart(UriPartial.Path)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        }

        var signature = query["X-Amz-Signature"]!;
        var forged = location.ToString().Replace(signature, (signature[0] == '0' ? "1" : "0") + signature[1..], StringComparison.Ordinal);
        using (var refused = await store.GetAsync(forged))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        // A range no byte of the blob satisfies is answered by the registry (416), not sent to the store.
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"/v2/{Repository}/blobs/{cluster.LayerDigest}");
        ranged.Headers.Range = new RangeHeaderValue(cluster.Layer.Length + 10, null);
        using var unsatisfiable = await client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
        Assert.Null(unsatisfiable.Headers.Location);
    });

    /// <summary>
    /// Unlike distribution, whose S3 driver answers a HEAD with a 307 to a presigned HEAD URL, Berth answers HEAD from
    /// its metadata (200, the size and digest), with no request to the store: cheaper, and a HEAD is never sent away.
    /// </summary>
    [Fact]
    public Task BlobHead_RedirectOn_200FromTheRegistryNeverRedirected() => RunAsync(async () =>
    {
        using var client = NoRedirects(cluster.R);
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{Repository}/blobs/{cluster.LayerDigest}"));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Null(head.Headers.Location);
        Assert.Equal(cluster.Layer.Length, head.Content.Headers.ContentLength);
        Assert.Equal(cluster.LayerDigest, head.Headers.GetValues("Docker-Content-Digest").Single());
    });

    [Fact]
    public Task BlobGet_Unauthorized_401BeforeAnyRedirect() => RunAsync(async () =>
    {
        var path = $"/v2/{Repository}/blobs/{cluster.LayerDigest}";
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = cluster.R.BaseAddress };
        using (var response = await anonymous.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Null(response.Headers.Location);
            Assert.StartsWith("Bearer realm=", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        using (var wrongPassword = NoRedirects(cluster.R, RegistryAuth.Basic(BerthProcess.AdminUser, "not-the-password")))
        using (var response = await wrongPassword.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Null(response.Headers.Location);
        }

        // A registry token for another repository: insufficient scope, no redirect.
        using var admin = NoRedirects(cluster.R);
        using var tokenResponse = await admin.GetAsync($"/token?service=berth&scope={Uri.EscapeDataString("repository:redirect/other:pull")}");
        await RegistryHttp.ExpectAsync(tokenResponse, HttpStatusCode.OK, "GET /token");
        var jwt = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        using (var otherScope = NoRedirects(cluster.R, new AuthenticationHeaderValue("Bearer", jwt)))
        using (var response = await otherScope.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Null(response.Headers.Location);
            Assert.Contains("insufficient_scope", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        // Authorized, but the blob is not in this repository (its bytes are in the bucket): 404, not a way round.
        using (var response = await admin.GetAsync($"/v2/redirect/other/blobs/{cluster.LayerDigest}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Null(response.Headers.Location);
        }

        var absent = Sha256Digest.Of("no such blob"u8.ToArray());
        using (var response = await admin.GetAsync($"/v2/{Repository}/blobs/{absent}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Null(response.Headers.Location);
        }
    });

    [Fact]
    public Task BlobGet_RedirectOff_200WithTheBytes() => RunAsync(async () =>
    {
        using var client = NoRedirects(cluster.P);
        using var response = await client.GetAsync($"/v2/{Repository}/blobs/{cluster.LayerDigest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal(cluster.Layer, await response.Content.ReadAsByteArrayAsync());
    });

    /// <summary>S signs for 2 seconds: the URL says so, and the store refuses it once they are over.</summary>
    [Fact]
    public Task PresignedUrl_ShortLifetime_RefusedByTheStoreAfterItExpires() => RunAsync(async () =>
    {
        using var client = NoRedirects(cluster.S);
        using var response = await client.GetAsync($"/v2/{Repository}/blobs/{cluster.LayerDigest}");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        var location = response.Headers.Location!;
        var query = HttpUtility.ParseQueryString(location.Query);
        var lifetime = TimeSpan.FromSeconds(int.Parse(query["X-Amz-Expires"]!, CultureInfo.InvariantCulture));
        Assert.InRange(lifetime, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)); // 2 s (the SDK rounds)
        var signedAt = DateTimeOffset.ParseExact(query["X-Amz-Date"]!, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

        // Past its lifetime (and a second for the clocks' rounding), the store refuses it.
        var wait = signedAt + lifetime + TimeSpan.FromSeconds(1.5) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        using var store = new HttpClient();
        using var expired = await store.GetAsync(location);
        Assert.Equal(HttpStatusCode.Forbidden, expired.StatusCode);
    });
}
