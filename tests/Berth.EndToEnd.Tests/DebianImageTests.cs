using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>A real Debian root filesystem (debootstrap + umoci, built once per run) through skopeo, umoci and podman.</summary>
[Collection(DebianImageCollection.Name)]
public sealed class DebianImageTests : IClassFixture<BerthServerFixture>
{
    private readonly BerthProcess _server;
    private readonly TestImage _image;

    public DebianImageTests(DebianImageFixture debian, BerthServerFixture fixture)
    {
        _image = debian.Image;
        _server = fixture.Server;
    }

    [Fact]
    public async Task SkopeoCopy_DebianRootFilesystemImage_RoundTripsByteIdentical()
    {
        using var work = new TempDirectory("debian-skopeo");

        var pulled = await RegistryRoundTrip.SkopeoAsync(_server, _image, "e2e/debian/skopeo", DebianImageFixture.Tag, work);

        ImageAssert.LayersMatchDiffIds(pulled, _image.Root.Digest);
    }

    [Fact]
    public async Task UmociUnpack_DebianImagePulledFromRegistry_HasEtcDebianVersion()
    {
        using var work = new TempDirectory("debian-umoci");
        var pulled = await RegistryRoundTrip.SkopeoAsync(_server, _image, "e2e/debian/umoci", DebianImageFixture.Tag, work);

        var rootfs = await UmociTests.UnpackAsync(pulled, DebianImageFixture.Tag, work.Sub("bundle"));

        var version = Path.Combine(rootfs, "etc", "debian_version");
        Assert.True(File.Exists(version), "/etc/debian_version is missing from the unpacked Debian image");
        Assert.StartsWith("12.", (await File.ReadAllTextAsync(version)).Trim(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(rootfs, "usr", "bin", "dpkg")), "/usr/bin/dpkg is missing from the unpacked Debian image");
    }

    [Fact]
    public async Task PodmanPullThenPush_DebianImage_PushedDigestServedAndDiffIdsUnchanged()
    {
        using var work = new TempDirectory("debian-podman");
        var source = $"{_server.Host}/e2e/debian/podman-source:{DebianImageFixture.Tag}";
        var destination = $"{_server.Host}/e2e/debian/podman-pushed:{DebianImageFixture.Tag}";
        await Skopeo.PushAsync(_image, source);
        using var podman = new PodmanStore();

        var id = await podman.PullAsync(source);
        var reported = await podman.PushAsync(source, destination);

        var built = _image.Images.Single();
        Assert.Equal(built.Config.Digest, "sha256:" + id);
        Assert.Equal(built.Layers.Select(l => l.DiffId), await podman.DiffIdsAsync(source));
        Assert.Equal(reported, Sha256Digest.Of(await Skopeo.InspectRawAsync(destination)));
        Assert.Equal(built.Layers.Select(l => l.DiffId), OciLayout.DiffIds(await Skopeo.InspectConfigRawAsync(destination)));
    }
}
