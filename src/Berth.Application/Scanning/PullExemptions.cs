using Berth.Oci;

namespace Berth.Application.Scanning;

/// <summary>
/// Which manifests the vulnerability pull policy never gates, decided by type and content (never by tag name): an
/// image index (each platform manifest is gated when it is pulled), and a signature, attestation or SBOM manifest
/// (cosign, sigstore bundle, in-toto/DSSE, Notary, CycloneDX, SPDX by its artifact type, config media type or layer
/// media types) that carries no tar layer. A manifest with a tar layer is an image whatever its artifact type says.
/// </summary>
public static class PullExemptions
{
    /// <summary>Media type prefixes (compared case-insensitively, before any parameter) of signatures, attestations and SBOMs.</summary>
    private static readonly string[] SignatureTypePrefixes =
    [
        "application/vnd.dev.cosign.",     // cosign simplesigning layers, cosign artifact types
        "application/vnd.dev.sigstore.",   // sigstore bundles
        "application/vnd.in-toto",         // in-toto statements and attestations
        "application/vnd.dsse.",           // DSSE envelopes (cosign attestations)
        "application/vnd.cncf.notary.",    // Notary signatures
        "application/vnd.cyclonedx",       // CycloneDX SBOMs (+json, +xml)
        "application/spdx",                // SPDX SBOMs (+json)
        "text/spdx",
    ];

    /// <summary>True when <paramref name="manifest"/> (stored with <paramref name="mediaType"/>) is served whatever the policy.</summary>
    public static bool IsExempt(string mediaType, ReadOnlyMemory<byte> body)
    {
        if (MediaTypes.IsIndex(mediaType))
        {
            return true;
        }

        if (!MediaTypes.IsImageManifest(mediaType))
        {
            return false; // schema 1 and unknown documents are images or nothing we know: gated
        }

        var manifest = Manifest.TryParse(body, mediaType, out _);
        return manifest is { Kind: ManifestKind.Image } && IsSignatureArtifact(manifest);
    }

    /// <summary>True for an image manifest with no tar layer whose artifact type, config media type or a layer media type is a signature, attestation or SBOM type.</summary>
    public static bool IsSignatureArtifact(Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var known = IsSignatureType(manifest.ArtifactType) || IsSignatureType(manifest.Config?.MediaType);
        foreach (var layer in manifest.References)
        {
            if (IsTarLayer(layer.MediaType))
            {
                return false;
            }

            known |= IsSignatureType(layer.MediaType);
        }

        return known;
    }

    /// <summary>True for a signature, attestation or SBOM media type.</summary>
    public static bool IsSignatureType(string? mediaType)
    {
        if (string.IsNullOrEmpty(mediaType))
        {
            return false;
        }

        var type = BaseType(mediaType);
        foreach (var prefix in SignatureTypePrefixes)
        {
            if (type.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True for a file system layer: any OCI image layer type, any Docker rootfs type, or a type whose subtype has a
    /// <c>tar</c> word (<c>application/x-tar</c>, <c>…tar+gzip</c>).
    /// </summary>
    public static bool IsTarLayer(string? mediaType)
    {
        if (string.IsNullOrEmpty(mediaType))
        {
            return false;
        }

        var type = BaseType(mediaType);
        if (type.StartsWith("application/vnd.oci.image.layer.", StringComparison.OrdinalIgnoreCase) ||
            type.StartsWith("application/vnd.docker.image.rootfs.", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var slash = type.IndexOf('/');
        var subtype = slash < 0 ? type : type[(slash + 1)..];
        foreach (var range in subtype.SplitAny(".+-"))
        {
            if (subtype[range].Equals("tar", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static ReadOnlySpan<char> BaseType(string mediaType)
    {
        var semicolon = mediaType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? mediaType.AsSpan() : mediaType.AsSpan(0, semicolon)).Trim();
    }
}
