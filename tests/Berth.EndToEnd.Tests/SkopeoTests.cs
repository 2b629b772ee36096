using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>skopeo copies images to the registry and back; digests and every blob must survive unchanged.</summary>
public sealed class SkopeoTests : IClassFixture<BerthServerFixture>
{
    private readonly BerthProcess _server;

    public SkopeoTests(BerthServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task SkopeoCopy_RandomThreeLayerImage_RoundTripsByteIdentical()
    {
        using var work = new TempDirectory("skopeo-random");
        var image = OciLayoutBuilder.RandomImage(work.Sub("source"), "v1", layers: 3, bytesPerLayer: 1536 * 1024, seed: 1);

        var pulled = await RegistryRoundTrip.SkopeoAsync(_server, image, "e2e/skopeo/random", "v1", work);

        ImageAssert.LayersMatchDiffIds(pulled, image.Root.Digest);
        Assert.Equal(3 + 2, Directory.GetFiles(Path.Combine(pulled, "blobs", "sha256")).Length);
    }

    [Fact]
    public async Task SkopeoCopyAll_TwoPlatformIndex_RoundTripsIndexAndBothImagesByteIdentical()
    {
        using var work = new TempDirectory("skopeo-index");
        var index = OciLayoutBuilder.MultiPlatformIndex(work.Sub("source"), "multi", bytesPerLayer: 768 * 1024, seed: 2);
        Assert.Equal(index.Images[0].Layers[0].Descriptor, index.Images[1].Layers[0].Descriptor); // the shared layer

        var pulled = await RegistryRoundTrip.SkopeoAsync(_server, index, "e2e/skopeo/multi", "multi", work);

        // index + 2 manifests + 2 configs + 3 distinct layers (one shared)
        Assert.Equal(8, Directory.GetFiles(Path.Combine(pulled, "blobs", "sha256")).Length);
        foreach (var image in index.Images)
        {
            ImageAssert.LayersMatchDiffIds(pulled, image.Manifest.Digest);
            await ImageAssert.ManifestDigestHeaderAsync(_server, "e2e/skopeo/multi", image.Manifest.Digest, image.Manifest.Digest, image.Manifest.MediaType);
        }
    }
}
