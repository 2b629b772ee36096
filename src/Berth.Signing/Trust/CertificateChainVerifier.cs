using System.Security.Cryptography.X509Certificates;
using Berth.Signing.Verification;

namespace Berth.Signing.Trust;

/// <summary>
/// Decides whether a signing certificate (with the intermediates the signature carries) chains to a trusted root,
/// every certificate being within its validity at the verification time, and is an identity that root may vouch for.
/// Offline: no revocation checks, no system roots (only the roots given), no timestamps.
/// </summary>
internal static class CertificateChainVerifier
{
    /// <summary>The root that vouches for <paramref name="leaf"/>, or the failure.</summary>
    public static (TrustedRoot? Root, SignatureVerdict? Failure) Verify(
        X509Certificate2 leaf, IReadOnlyList<X509Certificate2> intermediates, SignatureTrust trust, DateTimeOffset now)
    {
        if (intermediates.Count + 1 > SigningLimits.MaxChainLength)
        {
            return (null, SignatureVerdict.Invalid(SignatureFailure.CertificateNotChained, $"certificate chain longer than {SigningLimits.MaxChainLength}"));
        }

        if (trust.Roots.Count == 0)
        {
            return (null, SignatureVerdict.Invalid(SignatureFailure.CertificateNotChained, $"certificate '{leaf.Subject}' but no trusted root certificates"));
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        foreach (var root in trust.Roots)
        {
            chain.ChainPolicy.CustomTrustStore.Add(root.Certificate);
        }

        foreach (var intermediate in intermediates)
        {
            chain.ChainPolicy.ExtraStore.Add(intermediate);
        }

        var built = chain.Build(leaf);
        var statuses = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        var top = chain.ChainElements.Count > 0 ? chain.ChainElements[^1].Certificate : null;
        var matched = top is null ? null : trust.Roots.FirstOrDefault(r => r.Certificate.RawDataMemory.Span.SequenceEqual(top.RawDataMemory.Span));

        const X509ChainStatusFlags notChained = X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain
            | X509ChainStatusFlags.NotSignatureValid | X509ChainStatusFlags.InvalidBasicConstraints | X509ChainStatusFlags.Cyclic
            | X509ChainStatusFlags.NotValidForUsage | X509ChainStatusFlags.InvalidExtension | X509ChainStatusFlags.HasNotSupportedCriticalExtension;
        if (matched is null || (statuses & notChained) != 0)
        {
            return (null, SignatureVerdict.Invalid(SignatureFailure.CertificateNotChained, $"certificate '{leaf.Subject}' does not chain to a trusted root ({Describe(statuses)})"));
        }

        if ((statuses & (X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested)) != 0)
        {
            return (null, SignatureVerdict.Invalid(SignatureFailure.CertificateExpired, $"certificate '{leaf.Subject}' (valid {leaf.NotBefore:u} to {leaf.NotAfter:u}) or its chain is not valid at {now:u}"));
        }

        if (!built)
        {
            return (null, SignatureVerdict.Invalid(SignatureFailure.CertificateNotChained, $"certificate '{leaf.Subject}' does not chain to a trusted root ({Describe(statuses)})"));
        }

        if (!matched.Identity.Matches(leaf))
        {
            return (null, SignatureVerdict.Invalid(SignatureFailure.IdentityMismatch, $"certificate '{leaf.Subject}' chains to '{matched.Name}', which vouches only for {matched.Identity}"));
        }

        return (matched, null);
    }

    private static string Describe(X509ChainStatusFlags flags) => flags == X509ChainStatusFlags.NoError ? "no trusted root found" : flags.ToString();
}
