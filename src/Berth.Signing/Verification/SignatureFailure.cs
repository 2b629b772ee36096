namespace Berth.Signing.Verification;

/// <summary>
/// Why a signature does not vouch for an image. Ordered from least to most specific: when several signatures are
/// present and none is valid, the verdict names the failure that got furthest (see <see cref="SignatureVerdict.Combine"/>).
/// </summary>
public enum SignatureFailure
{
    /// <summary>No signature of a known format exists for the digest.</summary>
    NoSignature = 0,

    /// <summary>The signature document is not in the format it claims (bad JSON, base64, ASN.1, oversized, ...).</summary>
    Malformed = 1,

    /// <summary>No trusted key or root verifies the signature (signed by another key, or altered where no key id says which key was meant).</summary>
    UntrustedKey = 2,

    /// <summary>The signature does not verify with the key it names, or its payload does not match its descriptor digest.</summary>
    BadSignature = 3,

    /// <summary>The signing certificate does not chain to a trusted root (or the chain is too long).</summary>
    CertificateNotChained = 4,

    /// <summary>A certificate of the chain is outside its validity at verification time.</summary>
    CertificateExpired = 5,

    /// <summary>The certificate chains to a trusted root, but its subject or SANs are not among those the root may vouch for.</summary>
    IdentityMismatch = 6,

    /// <summary>A trusted signature, but over another digest than the one being checked.</summary>
    WrongDigest = 7,
}
