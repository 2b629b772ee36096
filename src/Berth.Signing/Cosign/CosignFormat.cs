using Berth.Oci;

namespace Berth.Signing.Cosign;

/// <summary>The names cosign's "simple signing" signatures use.</summary>
public static class CosignFormat
{
    /// <summary>Media type of a signature layer: the simple-signing payload JSON.</summary>
    public const string SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json";

    /// <summary>Artifact type of a cosign signature stored as an OCI 1.1 referrer.</summary>
    public const string ReferrerArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json";

    public const string SignatureAnnotation = "dev.cosignproject.cosign/signature";
    public const string CertificateAnnotation = "dev.sigstore.cosign/certificate";
    public const string ChainAnnotation = "dev.sigstore.cosign/chain";

    /// <summary>The payload's <c>critical.type</c>.</summary>
    public const string PayloadType = "cosign container image signature";

    /// <summary>The tag cosign stores the signatures of <paramref name="digest"/> under: <c>sha256-&lt;hex&gt;.sig</c>.</summary>
    public static string SignatureTag(Digest digest) => $"{digest.AlgorithmName}-{digest.Hex}.sig";

    /// <summary>The digest a tag of the form <c>sha256-&lt;hex&gt;.sig</c> names, or null for any other tag.</summary>
    public static Digest? DigestOfSignatureTag(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (!tag.EndsWith(".sig", StringComparison.Ordinal))
        {
            return null;
        }

        var dash = tag.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && Digest.TryParse(string.Concat(tag.AsSpan(0, dash), ":", tag.AsSpan(dash + 1, tag.Length - dash - 1 - 4)), out var digest) ? digest : null;
    }
}
