using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>podman pulls from and pushes to the registry (vfs storage in a temporary root; no containers are run).</summary>
public sealed class PodmanTests : IClassFixture<BerthServerFixture>
{
    private readonly BerthProcess _server;

    public PodmanTests(BerthServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task PodmanPull_RandomImage_ImageIdIsConfigDigestAndDiffIdsMatch()
    {
        using var work = new TempDirectory("podman-pull");
        var image = OciLayoutBuilder.RandomImage(work.Sub("source"), "v1", layers: 2, bytesPerLayer: 1024 * 1024, seed: 3);
        var reference = $"{_server.Host}/e2e/podman/pull:v1";
        await Skopeo.PushAsync(image, reference);
        using var podman = new PodmanStore();

        var id = await podman.PullAsync(reference);

        var built = image.Images.Single();
        Assert.Equal(built.Config.Digest, "sha256:" + id);
        Assert.Equal(built.Layers.Select(l => l.DiffId), await podman.DiffIdsAsync(reference));
    }

    [Fact]
    public async Task PodmanPush_FromLocalStorageToAnotherRepository_RegistryServesReportedDigestWithSameDiffIds()
    {
        using var work = new TempDirectory("podman-push");
        var image = OciLayoutBuilder.RandomImage(work.Sub("source"), "v1", layers: 2, bytesPerLayer: 1024 * 1024, seed: 4);
        var source = $"{_server.Host}/e2e/podman/source:v1";
        var destination = $"{_server.Host}/e2e/podman/pushed:v2";
        await Skopeo.PushAsync(image, source);
        using var podman = new PodmanStore();
        await podman.PullAsync(source);

        var reported = await podman.PushAsync(source, destination);

        // The registry serves the manifest podman says it pushed ...
        Assert.Equal(reported, Sha256Digest.Of(await Skopeo.InspectRawAsync(destination)));
        await ImageAssert.ManifestDigestHeaderAsync(_server, "e2e/podman/pushed", "v2", reported, OciMediaTypes.ImageManifest);
        // ... for the same image content: podman may re-compress layers, but the uncompressed layers must be the source's.
        var built = image.Images.Single();
        Assert.Equal(built.Layers.Select(l => l.DiffId), OciLayout.DiffIds(await Skopeo.InspectConfigRawAsync(destination)));

        // And what it pushed pulls back intact: every blob hashes to its name and every layer to its diff_id.
        var pulled = work.Sub("pulled");
        await Skopeo.PullAsync(destination, pulled, "v2", all: false);
        Assert.Equal(reported, OciLayout.FindTag(pulled, "v2").Digest);
        foreach (var blob in Directory.GetFiles(Path.Combine(pulled, "blobs", "sha256")))
        {
            Assert.Equal("sha256:" + Path.GetFileName(blob), Sha256Digest.OfFile(blob));
        }

        ImageAssert.LayersMatchDiffIds(pulled, reported);
    }

    [Fact]
    public async Task PodmanPull_TwoPlatformIndexWithArchArm64_GetsTheArm64Image()
    {
        using var work = new TempDirectory("podman-index");
        var index = OciLayoutBuilder.MultiPlatformIndex(work.Sub("source"), "multi", bytesPerLayer: 512 * 1024, seed: 5);
        var reference = $"{_server.Host}/e2e/podman/multi:multi";
        await Skopeo.PushAsync(index, reference);
        using var podman = new PodmanStore();

        var id = await podman.PullAsync(reference, "--arch", "arm64", "--variant", "v8");

        var arm64 = index.Images.Single(i => i.Platform.Architecture == "arm64");
        Assert.Equal(arm64.Config.Digest, "sha256:" + id);
        Assert.Equal(arm64.Layers.Select(l => l.DiffId), await podman.DiffIdsAsync(reference));
    }
}
