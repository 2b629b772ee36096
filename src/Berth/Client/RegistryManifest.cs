using Berth.Oci;

namespace Berth.Client;

/// <summary>A manifest as the registry answered it: its bytes (null for a HEAD), digest, media type and size.</summary>
internal sealed record RegistryManifest(byte[]? Body, Digest Digest, string MediaType, long Size)
{
    /// <summary>The descriptor that names this manifest (a referrer's <c>subject</c>).</summary>
    public Descriptor Descriptor => new(MediaType, Digest, Size);
}
