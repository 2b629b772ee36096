using Berth.Oci;

namespace Berth.Signing.Cosign;

/// <summary>A blob a signature manifest refers to, to be pushed before the manifest.</summary>
public sealed record ArtifactBlob(Digest Digest, byte[] Content);
