using System.Security.Cryptography.X509Certificates;
using Berth.Signing.Keys;
using Berth.Signing.Verification;

namespace Berth.Signing.Trust;

/// <summary>
/// The part every format shares: who made a signature. With a certificate: the signature must verify with the
/// certificate's key, and that key is either a trusted key or the certificate chains to a trusted root that may vouch
/// for it. Without one: a trusted key named by the hint (then it must verify: otherwise a bad signature), or any trusted
/// key that verifies it (none: an untrusted key).
/// </summary>
internal static class SignerCheck
{
    /// <summary>Null and the trusted name when a trusted signer made the signature; otherwise the failure.</summary>
    public static SignatureVerdict? Check(
        Func<SigningPublicKey, bool> verifies,
        X509Certificate2? certificate,
        IReadOnlyList<X509Certificate2> intermediates,
        ReadOnlySpan<byte> keyHint,
        SignatureTrust trust,
        DateTimeOffset now,
        out string trustName)
    {
        trustName = string.Empty;
        if (certificate is not null)
        {
            SigningPublicKey certificateKey;
            try
            {
                certificateKey = SigningPublicKey.FromCertificate(certificate);
            }
            catch (KeyFormatException ex)
            {
                return SignatureVerdict.Invalid(SignatureFailure.Malformed, "signing certificate: " + ex.Message);
            }

            if (!verifies(certificateKey))
            {
                return SignatureVerdict.Invalid(SignatureFailure.BadSignature, $"the signature does not verify with its certificate '{certificate.Subject}'");
            }

            if (trust.FindKey(certificateKey.KeyId) is { } trustedKey)
            {
                trustName = trustedKey.Name;
                return null;
            }

            var (root, failure) = CertificateChainVerifier.Verify(certificate, intermediates, trust, now);
            if (failure is not null)
            {
                return failure;
            }

            trustName = root!.Name;
            return null;
        }

        if (keyHint.Length == 32)
        {
            foreach (var key in trust.Keys)
            {
                if (key.Key.KeyHash.AsSpan().SequenceEqual(keyHint))
                {
                    if (!verifies(key.Key))
                    {
                        return SignatureVerdict.Invalid(SignatureFailure.BadSignature, $"the signature does not verify with the trusted key '{key.Name}' it names");
                    }

                    trustName = key.Name;
                    return null;
                }
            }
        }

        foreach (var key in trust.Keys)
        {
            if (verifies(key.Key))
            {
                trustName = key.Name;
                return null;
            }
        }

        return SignatureVerdict.Invalid(
            SignatureFailure.UntrustedKey,
            trust.Keys.Count == 0 ? "no trusted keys to verify the signature with" : "no trusted key verifies the signature (another key made it, or it was altered)");
    }
}
