namespace Berth.Signing;

/// <summary>The signature formats read.</summary>
public enum SignatureFormat
{
    /// <summary>Not a signature manifest.</summary>
    None,

    /// <summary>cosign simple signing (tag scheme or referrer).</summary>
    Cosign,

    /// <summary>A sigstore bundle stored as a referrer.</summary>
    SigstoreBundle,

    /// <summary>A notation JWS signature stored as a referrer.</summary>
    Notation,
}
