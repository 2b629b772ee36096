using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Berth.Core.Signing;
using Berth.Signing.Keys;
using Berth.Signing.Trust;

namespace Berth.Application.Signing;

/// <summary>
/// A key or root certificate checked before it is trusted: what the trust API stores (<see cref="Pem"/> re-encoded
/// from what was read, so a stored entry always parses) and shows (<see cref="Fingerprint"/>: the key id, or the
/// certificate's SHA-256 fingerprint).
/// </summary>
public sealed record TrustMaterial(TrustKind Kind, string Pem, IReadOnlyList<string> Identities, string Fingerprint, string Description)
{
    /// <summary>
    /// Reads <paramref name="pem"/>: one <c>PUBLIC KEY</c> (ECDSA P-256/P-384, RSA of 2048 bits or more, Ed25519), or one
    /// X.509 CA certificate (a root; <paramref name="identities"/> then says whom it may vouch for: at least one rule,
    /// <c>*</c> for anyone). Null with <paramref name="field"/> and <paramref name="error"/> set when it cannot be trusted.
    /// </summary>
    public static TrustMaterial? TryRead(string? pem, IReadOnlyList<string>? identities, DateTimeOffset now, out string field, out string error)
    {
        field = "pem";
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(pem))
        {
            error = "a PEM public key (-----BEGIN PUBLIC KEY-----) or root certificate (-----BEGIN CERTIFICATE-----) is required";
            return null;
        }

        if (pem.Length > TrustLimits.MaxPemLength)
        {
            error = $"is longer than {TrustLimits.MaxPemLength} characters";
            return null;
        }

        var isCertificate = pem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal);
        var isKey = pem.Contains("-----BEGIN PUBLIC KEY-----", StringComparison.Ordinal);
        if (pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            error = "is a private key: trust takes the public key (NAME.pub), never the private one";
            return null;
        }

        if (isCertificate == isKey)
        {
            error = isKey
                ? "holds both a public key and a certificate: give one"
                : "is neither a PEM public key (-----BEGIN PUBLIC KEY-----) nor a certificate (-----BEGIN CERTIFICATE-----)";
            return null;
        }

        try
        {
            return isKey ? ReadKey(pem, identities, ref field, ref error) : ReadRoot(pem, identities, now, ref field, ref error);
        }
        catch (KeyFormatException ex)
        {
            error = ex.Message;
            return null;
        }
    }

    private static TrustMaterial? ReadKey(string pem, IReadOnlyList<string>? identities, ref string field, ref string error)
    {
        if (identities is { Count: > 0 })
        {
            field = "identities";
            error = "apply only to root certificates: a trusted key verifies whatever it signed";
            return null;
        }

        var key = SigningPublicKey.FromPem(pem);
        return new TrustMaterial(TrustKind.Key, key.ToPem(), [], key.KeyId, $"{key.Algorithm} public key");
    }

    private static TrustMaterial? ReadRoot(string pem, IReadOnlyList<string>? identities, DateTimeOffset now, ref string field, ref string error)
    {
        var certificates = Certificates.LoadPem(pem);
        try
        {
            if (certificates.Count != 1)
            {
                error = "holds more than one certificate: trust the root alone (intermediates come with each signature)";
                return null;
            }

            var root = certificates[0];
            if (root.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
            {
                error = "is not a CA certificate (basic constraints CA:TRUE): trust the root that issues signing certificates, or the signer's public key";
                return null;
            }

            if (root.NotAfter.ToUniversalTime() <= now.UtcDateTime)
            {
                error = $"expired on {root.NotAfter.ToUniversalTime():yyyy-MM-dd}: it can vouch for nothing";
                return null;
            }

            field = "identities";
            if (identities is not { Count: > 0 })
            {
                error = "a root certificate needs the identities it may vouch for ('*' for any certificate it issues; 'x509.subject: CN=…', 'email:…', 'uri:…')";
                return null;
            }

            if (identities.Count > TrustLimits.MaxIdentities || identities.Any(i => string.IsNullOrWhiteSpace(i) || i.Length > TrustLimits.MaxIdentityLength || i.Any(char.IsControl)))
            {
                error = $"at most {TrustLimits.MaxIdentities} rules of 1 to {TrustLimits.MaxIdentityLength} characters without control characters";
                return null;
            }

            var rules = identities.Select(i => i.Trim()).ToList();
            try
            {
                _ = IdentityConstraint.Parse(rules);
            }
            catch (FormatException ex)
            {
                error = ex.Message;
                return null;
            }

            var pemOut = PemEncoding.WriteString("CERTIFICATE", root.RawData) + "\n";
            var fingerprint = Convert.ToHexStringLower(SHA256.HashData(root.RawData));
            return new TrustMaterial(TrustKind.Root, pemOut, rules, fingerprint, $"root certificate {root.Subject}");
        }
        finally
        {
            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }
}
