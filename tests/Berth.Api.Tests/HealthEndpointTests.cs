using System.Net;
using System.Text.Json;
using Berth.Core;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Tests;

/// <summary><c>/healthz</c> and <c>/readyz</c> for load balancers: no credentials, one check per provider, 503 when one fails.</summary>
public sealed class HealthEndpointTests
{
    // The server probes every provider once at start-up (and refuses to start when one fails): these fail only once
    // armed, after the test server has started.
    private sealed class FailingProbe(string reason) : IProviderProbe
    {
        public volatile bool Armed;
        public int Calls;

        public string Setting => "--storage";

        public Task<string?> ProbeAsync(CancellationToken cancellationToken)
        {
            if (!Armed)
            {
                return Task.FromResult<string?>(null);
            }

            Interlocked.Increment(ref Calls);
            return Task.FromResult<string?>(reason);
        }
    }

    private sealed class HangingProbe : IProviderProbe
    {
        public volatile bool Armed;

        public string Setting => "--metadata";

        public async Task<string?> ProbeAsync(CancellationToken cancellationToken)
        {
            if (Armed)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return null;
        }
    }

    [Fact]
    public async Task Healthz_Anonymous_200()
    {
        using var app = new BerthApplication();
        using var client = app.CreateAnonymousClient();

        using var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Readyz_EmbeddedDefault_200WithACheckPerProvider()
    {
        using var app = new BerthApplication();
        using var client = app.CreateAnonymousClient();

        using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("ready", body.GetProperty("status").GetString());
        var checks = body.GetProperty("checks").EnumerateArray().Select(c => (c.GetProperty("setting").GetString(), c.GetProperty("status").GetString())).ToList();
        Assert.Contains(("--storage", "ok"), checks);
        Assert.Contains(("--metadata", "ok"), checks);
    }

    [Fact]
    public async Task Readyz_AProbeFails_503NamingTheSettingAndReason_HeadToo()
    {
        var failing = new FailingProbe("bucket 'registry' does not exist");
        using var app = new BerthApplication { ConfigureTestServices = s => s.AddSingleton<IProviderProbe>(failing) };
        using var client = app.CreateAnonymousClient();
        failing.Armed = true;

        using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/readyz"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, head.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("unavailable", body.GetProperty("status").GetString());
        var failed = Assert.Single(body.GetProperty("checks").EnumerateArray(), c => c.GetProperty("status").GetString() == "failed");
        Assert.Equal("--storage", failed.GetProperty("setting").GetString());
        Assert.Equal("bucket 'registry' does not exist", failed.GetProperty("reason").GetString());

        // The liveness answer does not depend on the stores.
        using var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Readyz_ManyPollsWithinASecond_ProbesRunOnce()
    {
        var failing = new FailingProbe("down");
        using var app = new BerthApplication { ConfigureTestServices = s => s.AddSingleton<IProviderProbe>(failing) };
        using var client = app.CreateAnonymousClient();
        failing.Armed = true;

        await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var r = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        }));

        // The test server's clock stands still: the first answer is reused.
        Assert.Equal(1, failing.Calls);
        app.Clock.Advance(TimeSpan.FromSeconds(2));
        using var later = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(2, failing.Calls);
    }

    [Fact]
    public async Task Readyz_ProbeHangs_503WithinTheProbeTimeout()
    {
        var hanging = new HangingProbe();
        using var app = new BerthApplication { ConfigureTestServices = s => s.AddSingleton<IProviderProbe>(hanging) };
        using var client = app.CreateAnonymousClient();
        hanging.Armed = true;

        using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("no answer within", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
