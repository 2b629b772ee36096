using System.Net;
using System.Text.Json;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;
using Berth.Testing.Servers;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// A node whose PostgreSQL goes away (a relay in front of the database, stopped and started again): requests that need
/// the database answer 503 <c>UNAVAILABLE</c> with <c>Retry-After</c> instead of a 500, <c>/readyz</c> says 503, and once
/// the database is back the node serves again without a restart.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
[RequiresServer(TestS3.Server, TestS3.EndpointVariable, TestS3.DefaultEndpoint)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StoreOutageTests(StoreOutageTests.Cluster cluster) : IClassFixture<StoreOutageTests.Cluster>
{
    /// <summary>The database and bucket only: the test starts its node behind the relay.</summary>
    public sealed class Cluster() : ScaleOutCluster("outage")
    {
        protected override Task StartNodesAsync() => Task.CompletedTask;
    }

    [Fact]
    public async Task Database_GoneAndBack_503UnavailableMeanwhileThenServesAgain()
    {
        await cluster.EnsureStartedAsync();
        var database = cluster.Database.Uri;
        var relay = new SourceAddressRelay(database.Port, IPAddress.Loopback);
        var port = relay.Port;
        try
        {
            var node = await cluster.StartNodeOnAsync(new UriBuilder(database) { Port = port }.Uri);
            await cluster.WithLogsAsync(async () =>
            {
                using var work = new TempDirectory("outage");
                var image = OciLayoutBuilder.RandomImage(work.Sub("source"), "v1", layers: 1, bytesPerLayer: 4096, seed: 31);
                using var http = new RegistryHttp(node.BaseAddress);
                await http.PushImageAsync(image, "outage/app", "v1", chunked: false);

                await relay.DisposeAsync(); // the database is gone: refused connections, pooled ones cut
                foreach (var (method, path) in new[] { (HttpMethod.Get, "/v2/outage/app/tags/list"), (HttpMethod.Post, "/v2/outage/app/blobs/uploads/"), (HttpMethod.Get, "/v2/_catalog") })
                {
                    using var response = await http.Client.SendAsync(new HttpRequestMessage(method, path));
                    var body = await response.Content.ReadAsStringAsync();
                    Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{method} {path}: {(int)response.StatusCode} {body}");
                    using var json = JsonDocument.Parse(body);
                    Assert.Equal("UNAVAILABLE", json.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
                    Assert.Contains("cannot reach", json.RootElement.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
                    Assert.NotNull(response.Headers.RetryAfter);
                }

                using (var projects = await http.Client.GetAsync("/api/v1/projects"))
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, projects.StatusCode);
                    Assert.Equal("application/problem+json", projects.Content.Headers.ContentType?.MediaType);
                    Assert.Contains("cannot reach", await projects.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                }

                using (var ready = await http.Client.GetAsync("/readyz"))
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                }

                Assert.DoesNotContain("Unhandled error", node.Log, StringComparison.Ordinal);
                Assert.Contains("Store unreachable", node.Log, StringComparison.Ordinal);

                // Back on the same address: the node serves again on its own, within a few seconds.
                relay = new SourceAddressRelay(database.Port, IPAddress.Loopback, port);
                var deadline = DateTime.UtcNow.AddSeconds(20);
                HttpStatusCode status;
                do
                {
                    using var tags = await http.Client.GetAsync("/v2/outage/app/tags/list");
                    status = tags.StatusCode;
                    if (status != HttpStatusCode.OK)
                    {
                        await Task.Delay(250);
                    }
                }
                while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);

                Assert.Equal(HttpStatusCode.OK, status);
                using var manifest = await http.Client.GetAsync("/v2/outage/app/manifests/v1");
                Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
            });
        }
        finally
        {
            await relay.DisposeAsync();
        }
    }
}
