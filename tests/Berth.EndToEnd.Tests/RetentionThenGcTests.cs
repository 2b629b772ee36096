using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// Retention followed by garbage collection gives the disk back: images pushed by skopeo, a policy keeping the newest
/// one, a retention run, then a collection on a server started with a one-second grace window. The deleted images'
/// config and layer files are gone from the data folder; the kept image's stay and it still pulls byte-identical.
/// </summary>
public sealed class RetentionThenGcTests
{
    [Fact]
    public async Task RetentionThenGc_DeletedImagesBlobsLeaveTheDisk_KeptImagePullsByteIdentical()
    {
        await using var server = await BerthProcess.StartAsync("--gc-grace", "1s");
        using var work = new TempDirectory("skopeo-retention-gc");
        await using (var setup = ServerSetup.Open(server))
        {
            await setup.Access.ProjectAsync("lab");
        }

        var images = new List<TestImage>();
        for (var i = 1; i <= 3; i++)
        {
            var image = OciLayoutBuilder.RandomImage(work.Sub($"image{i}"), $"v{i}", layers: 2, bytesPerLayer: 256 * 1024, seed: (ulong)(1700 + i));
            images.Add(image);
            await Skopeo.PushAsync(image, $"{server.Host}/lab/app:v{i}");
            await Task.Delay(20); // distinct push times, in this order
        }

        var deletedBlobs = images.Take(2).SelectMany(Blobs).ToList();
        var keptBlobs = Blobs(images[2]).ToList();
        Assert.All(deletedBlobs.Concat(keptBlobs), d => Assert.True(File.Exists(BlobFile(server, d)), $"{d} was never written"));

        using var admin = new RegistryHttp(server.BaseAddress);
        using (var set = await admin.Client.PutAsJsonAsync("/api/v1/projects/lab/retention", new { rules = new[] { new { latestPushed = 1 } } }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using (var run = await admin.Client.PostAsJsonAsync("/api/v1/projects/lab/retention/runs", new { dryRun = false }))
        {
            Assert.Equal(HttpStatusCode.Created, run.StatusCode);
            using var json = JsonDocument.Parse(await run.Content.ReadAsStringAsync());
            Assert.Equal(2, json.RootElement.GetProperty("artifactsDeleted").GetInt64());
        }

        // Retention removes manifests, not bytes: until a collection the files are all still there.
        Assert.All(deletedBlobs, d => Assert.True(File.Exists(BlobFile(server, d)), $"{d} went before garbage collection"));

        await Task.Delay(TimeSpan.FromSeconds(1.5)); // past the grace window
        JsonElement report;
        using (var started = await admin.Client.PostAsJsonAsync("/api/v1/system/gc", new { dryRun = false }))
        {
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            var location = started.Headers.Location ?? throw new InvalidOperationException("no Location for the run");
            report = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement.Clone();
            for (var i = 0; i < 300 && report.GetProperty("state").GetString() == "running"; i++)
            {
                await Task.Delay(100);
                report = JsonDocument.Parse(await admin.Client.GetStringAsync(location)).RootElement.Clone();
            }
        }

        Assert.Equal("succeeded", report.GetProperty("state").GetString());
        Assert.True(report.GetProperty("blobsCollected").GetInt64() >= deletedBlobs.Count, report.ToString());
        Assert.True(report.GetProperty("bytesFreed").GetInt64() >= 4 * 256 * 1024, report.ToString());
        Assert.All(deletedBlobs, d => Assert.False(File.Exists(BlobFile(server, d)), $"{d} is still on disk after garbage collection"));
        Assert.All(keptBlobs, d => Assert.True(File.Exists(BlobFile(server, d)), $"{d} of the kept image was collected"));

        await Skopeo.PullAsync($"{server.Host}/lab/app:v3", work.Sub("pulled"), "v3", all: false);
        Assert.Equal(images[2].Root.Digest, Sha256Digest.Of(await Skopeo.InspectRawAsync($"{server.Host}/lab/app:v3")));
        foreach (var layer in images[2].Images[0].Layers)
        {
            Assert.Equal(layer.Descriptor.Digest, Sha256Digest.OfFile(OciLayout.BlobPath(work.Sub("pulled"), layer.Descriptor.Digest)));
        }
    }

    private static IEnumerable<string> Blobs(TestImage image) =>
        image.Images.SelectMany(i => i.Layers.Select(l => l.Descriptor.Digest).Append(i.Config.Digest));

    private static string BlobFile(BerthProcess server, string digest) =>
        Path.Combine(server.DataPath, "blobs", "sha256", digest[7..9], digest[7..]);
}
