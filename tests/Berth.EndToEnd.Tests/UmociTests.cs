using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>umoci unpacks what was pulled from the registry into a root filesystem with the original files.</summary>
public sealed class UmociTests : IClassFixture<BerthServerFixture>
{
    private readonly BerthProcess _server;

    public UmociTests(BerthServerFixture fixture) => _server = fixture.Server;

    /// <summary><c>umoci unpack</c> of LAYOUT:TAG into BUNDLE (rootless when not root); returns BUNDLE/rootfs.</summary>
    public static async Task<string> UnpackAsync(string layout, string tag, string bundle)
    {
        string[] rootless = Environment.IsPrivilegedProcess ? [] : ["--rootless"];
        await ProcessRunner.RunCheckedAsync(ExternalTools.Umoci, ["unpack", .. rootless, "--image", $"{layout}:{tag}", bundle]);
        return Path.Combine(bundle, "rootfs");
    }

    [Fact]
    public async Task UmociUnpack_RandomImagePulledFromRegistry_FilesMatchTheGeneratedContent()
    {
        using var work = new TempDirectory("umoci-random");
        var image = OciLayoutBuilder.RandomImage(work.Sub("source"), "v1", layers: 2, bytesPerLayer: 1024 * 1024, seed: 6);
        var pulled = await RegistryRoundTrip.SkopeoAsync(_server, image, "e2e/umoci/random", "v1", work);

        var rootfs = await UnpackAsync(pulled, "v1", work.Sub("bundle"));

        foreach (var (path, digest) in image.Images.Single().Layers.SelectMany(l => l.Files))
        {
            var file = Path.Combine(rootfs, path);
            Assert.True(File.Exists(file), $"{path} is missing from the unpacked root filesystem");
            Assert.Equal(digest, Sha256Digest.OfFile(file));
        }
    }
}
