using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Berth.Core.Gc;
using Berth.Core.Storage;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit.Abstractions;

namespace Berth.Api.Tests;

/// <summary>
/// The garbage collection stress test of issue 13: several clients push images with shared and random layers for at
/// least a minute (HEAD-then-skip as docker does, monolithic and chunked uploads, re-pushes of stored layers, mounts from
/// other repositories) and delete some of their images, while the server collects garbage every second with a
/// one-second grace window, on the real clock; some clients are slow (their blobs outlive the window before the manifest). A client retries an upload refused because its digest was being
/// collected, and a manifest PUT refused with MANIFEST_BLOB_UNKNOWN after uploading its blobs again, as registry clients
/// do. Afterwards every manifest whose PUT succeeded (and that the test did not delete) pulls byte-identical with all
/// its blobs, and after one more collection past the window every blob left in the store is referenced. Runs on the
/// embedded default; on PostgreSQL and S3 when BERTH_TEST_METADATA/BERTH_TEST_STORAGE say so (tests/servers/up.sh).
/// BERTH_GC_STRESS_SECONDS changes the duration (default 60).
/// </summary>
[Collection(nameof(GarbageCollectionStressTests))]
[CollectionDefinition(nameof(GarbageCollectionStressTests), DisableParallelization = true)]
public sealed class GarbageCollectionStressTests(ITestOutputHelper output)
{
    private const int Clients = 6;
    private const int SharedLayers = 30;
    private static readonly string[] Repositories = ["stress/a", "stress/b", "stress/c"];

    private sealed record Image(string Repository, string Tag, byte[] Manifest, string Digest, IReadOnlyList<byte[]> Blobs);

    private sealed class Counters
    {
        public long Pushed;
        public long ManifestRetries;
        public long UploadRetries;
        public long Mounts;
        public long HeadSkips;
        public long Deleted;
    }

    [Fact]
    public async Task Push_WhileGcRunsEverySecond_LosesNoSuccessfulPush()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("BERTH_GC_STRESS_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 60;
        using var app = new BerthApplication(new Dictionary<string, string?>
        {
            ["Berth:GcGrace"] = "00:00:01",
            ["Berth:GcInterval"] = "00:00:01",
        })
        {
            // The real clock: the collector runs on its schedule, and the metadata's times meet the store's.
            ConfigureTestServices = services =>
            {
                services.RemoveAll<TimeProvider>();
                services.AddSingleton(TimeProvider.System);
            },
        };
        using var probe = app.CreateClient();
        var shared = Enumerable.Range(0, SharedLayers).Select(i => TestImages.Bytes(2048 + i, 9000 + i)).ToArray();
        var live = new ConcurrentDictionary<string, Image>(StringComparer.Ordinal);
        var counters = new Counters();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var watch = Stopwatch.StartNew();

        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(() => ClientLoopAsync(app, c, shared, live, counters, stop.Token))).ToArray();
        await Task.WhenAll(clients);
        watch.Stop();

        var collector = app.Services.GetRequiredService<GarbageCollector>();
        var runs = collector.History.Select(r => r.Report(withBlobs: false)).ToList();
        output.WriteLine($"{watch.Elapsed.TotalSeconds:0}s: {counters.Pushed} manifests pushed, {counters.Deleted} deleted, {live.Count} live; "
            + $"{counters.ManifestRetries} manifest PUTs retried after MANIFEST_BLOB_UNKNOWN, {counters.UploadRetries} uploads retried, "
            + $"{counters.Mounts} mounts, {counters.HeadSkips} uploads skipped after HEAD; last runs collected {runs.Sum(r => r.BlobsCollected)} blobs");
        Assert.True(counters.Pushed >= Clients * 5, $"only {counters.Pushed} manifests were pushed");
        Assert.True(runs.Count >= Math.Min(GarbageCollector.HistorySize, seconds / 3), $"only {runs.Count} collections ran");
        Assert.All(runs, r => Assert.NotEqual(GcRunState.Failed, r.State));

        // Every manifest whose PUT succeeded pulls byte-identical, blobs included (the collector still runs).
        foreach (var image in live.Values)
        {
            await AssertPullsAsync(probe, image);
        }

        // Past the window and one more run: what is left in the store is referenced by a live manifest.
        var referenced = live.Values.SelectMany(i => i.Blobs).Select(TestImages.Sha256).ToHashSet(StringComparer.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        await WaitForAFullRunAsync(collector);
        var store = app.Services.GetRequiredService<IBlobStore>();
        var left = new List<string>();
        await foreach (var blob in store.ListAsync(CancellationToken.None))
        {
            left.Add(blob.Digest.ToString());
        }

        var unreferenced = left.Where(d => !referenced.Contains(d)).ToList();
        Assert.True(unreferenced.Count == 0, $"{unreferenced.Count} unreferenced blobs older than the window remain, e.g. {unreferenced.FirstOrDefault()}");
        Assert.Equal(referenced.Count, left.Count); // and nothing referenced is missing

        foreach (var image in live.Values)
        {
            await AssertPullsAsync(probe, image);
        }
    }

    /// <summary>Waits until a run that started after this call has ended (the schedule runs one every second).</summary>
    private static async Task WaitForAFullRunAsync(GarbageCollector collector)
    {
        var after = DateTimeOffset.UtcNow;
        for (var i = 0; i < 300; i++)
        {
            if (collector.History.Select(r => r.Report(withBlobs: false)).Any(r => r.StartedAt > after && r.State == GcRunState.Succeeded))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("no garbage collection run ended within 30 s");
    }

    private static async Task AssertPullsAsync(HttpClient client, Image image)
    {
        using var manifest = await client.GetAsync($"/v2/{image.Repository}/manifests/{image.Tag}");
        Assert.True(manifest.StatusCode == HttpStatusCode.OK, $"{image.Repository}:{image.Tag} answers {(int)manifest.StatusCode}");
        Assert.Equal(image.Manifest, await manifest.Content.ReadAsByteArrayAsync());
        foreach (var blob in image.Blobs)
        {
            var digest = TestImages.Sha256(blob);
            using var pull = await client.GetAsync($"/v2/{image.Repository}/blobs/{digest}");
            Assert.True(pull.StatusCode == HttpStatusCode.OK, $"blob {digest} of {image.Repository}:{image.Tag} answers {(int)pull.StatusCode}");
            Assert.Equal(blob, await pull.Content.ReadAsByteArrayAsync());
        }
    }

    private static async Task ClientLoopAsync(BerthApplication app, int client, byte[][] shared, ConcurrentDictionary<string, Image> live, Counters counters,
        CancellationToken stop)
    {
        using var http = app.CreateClient();
        var random = new Random(client * 7919);
        var mine = new List<Image>();
        for (var iteration = 0; !stop.IsCancellationRequested; iteration++)
        {
            var repository = Repositories[random.Next(Repositories.Length)];
            var config = TestImages.Config($"client-{client}-{iteration}");
            var layers = new List<byte[]> { shared[random.Next(SharedLayers)], shared[random.Next(SharedLayers)], TestImages.Bytes(random.Next(100, 40_000), random.Next()) };
            layers = layers.DistinctBy(TestImages.Sha256).ToList();
            var body = TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, config), layers.Select(l => TestDescriptor.Of(TestImages.OciLayer, l)));
            var tag = $"c{client}-{iteration}";
            var image = new Image(repository, tag, body, TestImages.Sha256(body), [config, .. layers]);

            var stored = false;
            for (var attempt = 0; attempt < 8 && !stored; attempt++)
            {
                foreach (var blob in image.Blobs)
                {
                    // After a refusal the client uploads every blob again, without asking first.
                    await PushBlobAsync(http, repository, blob, random, allowSkip: attempt == 0, counters);
                }

                if (attempt == 0 && random.Next(8) == 0)
                {
                    // A slow client: its blobs, unreferenced yet, outlive the window before the manifest comes.
                    await Task.Delay(1500, CancellationToken.None);
                }

                using var put = await http.PutManifestAsync(repository, tag, body, TestImages.OciManifest);
                if (put.StatusCode == HttpStatusCode.Created)
                {
                    stored = true;
                }
                else
                {
                    var error = await put.ReadErrorAsync();
                    Assert.True(put.StatusCode == HttpStatusCode.BadRequest && error.Code == "MANIFEST_BLOB_UNKNOWN",
                        $"manifest PUT answered {(int)put.StatusCode} {error.Code}: {error.Message}");
                    Interlocked.Increment(ref counters.ManifestRetries);
                }
            }

            Assert.True(stored, $"{repository}:{tag} could not be pushed in 8 attempts");
            Interlocked.Increment(ref counters.Pushed);
            live[$"{repository}:{tag}"] = image;
            mine.Add(image);

            // Every third image, delete an older one of this client: its random layers become garbage.
            if (iteration % 3 == 2 && mine.Count > 2)
            {
                var victim = mine[random.Next(mine.Count - 1)];
                mine.Remove(victim);
                live.TryRemove($"{victim.Repository}:{victim.Tag}", out _);
                using var delete = await http.DeleteAsync($"/v2/{victim.Repository}/manifests/{victim.Digest}");
                Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
                Interlocked.Increment(ref counters.Deleted);
            }
        }
    }

    /// <summary>One blob, the way one of several clients would: HEAD and skip, mount, monolithic or chunked; retried when refused as being collected.</summary>
    private static async Task PushBlobAsync(HttpClient http, string repository, byte[] blob, Random random, bool allowSkip, Counters counters)
    {
        var digest = TestImages.Sha256(blob);
        var way = random.Next(4);
        if (allowSkip && way == 0)
        {
            using var head = await http.SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}");
            if (head.StatusCode == HttpStatusCode.OK)
            {
                Interlocked.Increment(ref counters.HeadSkips);
                return;
            }
        }

        for (var attempt = 0; attempt < 10; attempt++)
        {
            HttpResponseMessage response;
            if (way == 1)
            {
                var from = Repositories[random.Next(Repositories.Length)];
                using var mount = await http.PostAsync($"/v2/{repository}/blobs/uploads/?mount={digest}&from={from}", null);
                if (mount.StatusCode == HttpStatusCode.Created)
                {
                    Interlocked.Increment(ref counters.Mounts);
                    return;
                }

                Assert.Equal(HttpStatusCode.Accepted, mount.StatusCode); // not there: a normal upload in the session it started
                response = await PutInSessionAsync(http, mount.Headers.Location!.OriginalString, digest, blob);
            }
            else if (way == 2)
            {
                using var start = await http.PostAsync($"/v2/{repository}/blobs/uploads/", null);
                Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
                var location = start.Headers.Location!.OriginalString;
                var half = blob.Length / 2;
                using (var patch = await http.SendAsync(HttpMethod.Patch, location, blob[..half], ("Content-Type", "application/octet-stream")))
                {
                    Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
                    location = patch.Headers.Location!.OriginalString;
                }

                response = await PutInSessionAsync(http, location, digest, blob[half..]);
            }
            else
            {
                response = await http.PostAsync($"/v2/{repository}/blobs/uploads/?digest={digest}", new ByteArrayContent(blob));
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    return;
                }

                var error = await response.ReadErrorAsync();
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest && error.Code == "BLOB_UPLOAD_INVALID",
                    $"upload of {digest} answered {(int)response.StatusCode} {error.Code}: {error.Message}");
                Interlocked.Increment(ref counters.UploadRetries);
            }
        }

        Assert.Fail($"upload of {digest} refused 10 times");
    }

    private static Task<HttpResponseMessage> PutInSessionAsync(HttpClient http, string location, string digest, byte[] rest)
    {
        var separator = location.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        return http.SendAsync(HttpMethod.Put, $"{location}{separator}digest={digest}", rest, ("Content-Type", "application/octet-stream"));
    }
}
