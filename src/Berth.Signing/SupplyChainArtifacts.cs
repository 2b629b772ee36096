using Berth.Oci;

namespace Berth.Signing;

/// <summary>
/// Tells signatures, attestations and SBOMs apart from runnable images by content, never by tag name, for a
/// "signed images only" policy that must keep them pullable so clients can verify: an image manifest none of whose
/// layers is an image layer (tar, compressed or not, OCI or Docker) and which either is a signature of a known format,
/// carries an artifact config, or has at least one (non-image) layer. Indexes and anything with a filesystem layer
/// are images.
/// </summary>
public static class SupplyChainArtifacts
{
    private const string DockerContainerConfig = "application/vnd.docker.container.image.v1+json";

    public static bool IsSupplyChainArtifact(Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (manifest.Kind != ManifestKind.Image || manifest.References.Any(l => IsImageLayer(l.MediaType)))
        {
            return false;
        }

        if (SignatureVerifier.Classify(manifest) != SignatureFormat.None)
        {
            return true;
        }

        var imageConfig = manifest.Config?.MediaType is MediaTypes.OciConfig or DockerContainerConfig;
        return !imageConfig || manifest.References.Count > 0;
    }

    /// <summary>OCI and Docker filesystem layer media types (any compression, non-distributable and foreign ones included).</summary>
    public static bool IsImageLayer(string? mediaType) =>
        mediaType is not null
        && (mediaType.StartsWith("application/vnd.oci.image.layer.", StringComparison.Ordinal)
            || mediaType.StartsWith("application/vnd.docker.image.rootfs.", StringComparison.Ordinal));
}
