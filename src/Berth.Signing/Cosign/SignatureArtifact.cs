using Berth.Oci;

namespace Berth.Signing.Cosign;

/// <summary>A signature manifest ready to push: its bytes, digest and media type, and the distinct blobs (config, layers) it needs first.</summary>
public sealed record SignatureArtifact(byte[] Manifest, Digest ManifestDigest, string MediaType, IReadOnlyList<ArtifactBlob> Blobs);
