using System.Text;
using Berth.Oci;
using Berth.Signing.Tests.Support;

namespace Berth.Signing.Tests;

public sealed class SupplyChainArtifactsTests
{
    private static readonly string Blob = Digest.Compute(DigestAlgorithm.Sha256, "x"u8).ToString();

    [Theory]
    [InlineData(MediaTypes.OciConfig, "application/vnd.dsse.envelope.v1+json", true)] // cosign attestation (.att)
    [InlineData(MediaTypes.OciConfig, "text/spdx+json", true)] // cosign attach sbom
    [InlineData("application/vnd.cyclonedx+json", "application/vnd.cyclonedx+json", true)] // an SBOM referrer
    [InlineData(MediaTypes.OciConfig, "application/vnd.oci.image.layer.v1.tar+gzip", false)]
    [InlineData(MediaTypes.OciConfig, "application/vnd.oci.image.layer.v1.tar+zstd", false)]
    [InlineData("application/vnd.docker.container.image.v1+json", "application/vnd.docker.image.rootfs.diff.tar.gzip", false)]
    [InlineData("application/vnd.dev.cosign.artifact.sig.v1+json", "application/vnd.oci.image.layer.v1.tar", false)] // a signature type hiding a filesystem
    public void Manifest_IsDecidedByContent(string configType, string layerType, bool artifact)
    {
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"config\":{{\"mediaType\":\"{configType}\",\"digest\":\"{Blob}\",\"size\":1}}," +
            $"\"layers\":[{{\"mediaType\":\"{layerType}\",\"digest\":\"{Blob}\",\"size\":1}}]}}");

        Assert.Equal(artifact, SupplyChainArtifacts.IsSupplyChainArtifact(Manifest.TryParse(manifest, null, out _)!));
    }

    [Fact]
    public void ImageWithoutLayers_AndIndex_AreNotArtifacts()
    {
        var empty = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"config\":{{\"mediaType\":\"{MediaTypes.OciConfig}\",\"digest\":\"{Blob}\",\"size\":1}},\"layers\":[]}}");
        var index = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciIndex}\",\"manifests\":[]}}");

        Assert.False(SupplyChainArtifacts.IsSupplyChainArtifact(Manifest.TryParse(empty, null, out _)!));
        Assert.False(SupplyChainArtifacts.IsSupplyChainArtifact(Manifest.TryParse(index, null, out _)!));
    }
}
