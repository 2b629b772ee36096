using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>Retention seen by a real client: after a run keeping the 2 most recently pushed tags, skopeo lists only those and pulls them.</summary>
public sealed class RetentionTests : IClassFixture<BerthServerFixture>
{
    private readonly BerthProcess _server;

    public RetentionTests(BerthServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task Run_KeepingTheTwoLatest_SkopeoListsOnlyThoseAndPullsThem()
    {
        using var work = new TempDirectory("skopeo-retention");
        await using (var setup = ServerSetup.Open(_server))
        {
            await setup.Access.ProjectAsync("retain");
        }

        var images = new List<TestImage>();
        for (var i = 1; i <= 4; i++)
        {
            var image = OciLayoutBuilder.RandomImage(work.Sub($"image{i}"), $"v{i}", layers: 1, bytesPerLayer: 64 * 1024, seed: (ulong)(1400 + i));
            images.Add(image);
            await Skopeo.PushAsync(image, $"{_server.Host}/retain/app:v{i}");
            await Task.Delay(20); // distinct push times, in this order
        }

        using var admin = new RegistryHttp(_server.BaseAddress);
        using (var set = await admin.Client.PutAsJsonAsync("/api/v1/projects/retain/retention", new { rules = new[] { new { latestPushed = 2 } } }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using (var dry = await admin.Client.PostAsJsonAsync("/api/v1/projects/retain/retention/runs", new { dryRun = true }))
        {
            Assert.Equal(HttpStatusCode.Created, dry.StatusCode);
            using var json = JsonDocument.Parse(await dry.Content.ReadAsStringAsync());
            Assert.Equal(new[] { images[0].Root.Digest, images[1].Root.Digest }.Order(StringComparer.Ordinal),
                json.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("digest").GetString()!).Order(StringComparer.Ordinal));
        }

        Assert.Equal(["v1", "v2", "v3", "v4"], await ListTagsAsync());

        using (var run = await admin.Client.PostAsJsonAsync("/api/v1/projects/retain/retention/runs", new { dryRun = false }))
        {
            Assert.Equal(HttpStatusCode.Created, run.StatusCode);
            using var json = JsonDocument.Parse(await run.Content.ReadAsStringAsync());
            Assert.Equal(2, json.RootElement.GetProperty("artifactsDeleted").GetInt64());
            Assert.True(json.RootElement.GetProperty("bytesFreed").GetInt64() > 2 * 64 * 1024);
        }

        await ServerSetup.WaitForServerCachesAsync();
        Assert.Equal(["v3", "v4"], await ListTagsAsync());
        foreach (var (tag, image) in new[] { ("v3", images[2]), ("v4", images[3]) })
        {
            var layout = work.Sub("pulled-" + tag);
            await Skopeo.PullAsync($"{_server.Host}/retain/app:{tag}", layout, tag, all: false);
            Assert.Equal(image.Root.Digest, Sha256Digest.Of(await Skopeo.InspectRawAsync($"{_server.Host}/retain/app:{tag}")));
        }

        var gone = await ProcessRunner.RunAsync(ExternalTools.Skopeo,
            ["--insecure-policy", "inspect", "--raw", "--tls-verify=false", $"docker://{_server.Host}/retain/app:v1"], environment: RegistryAuth.Environment);
        Assert.True(gone.ExitCode != 0, gone.Describe());
    }

    private async Task<List<string>> ListTagsAsync()
    {
        var listed = await Skopeo.RunAsync("list-tags", "--tls-verify=false", $"docker://{_server.Host}/retain/app");
        using var json = JsonDocument.Parse(listed.StandardOutputText);
        return json.RootElement.GetProperty("Tags").EnumerateArray().Select(t => t.GetString()!).Order(StringComparer.Ordinal).ToList();
    }
}
