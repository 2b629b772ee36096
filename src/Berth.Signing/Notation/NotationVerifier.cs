using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Berth.Oci;
using Berth.Signing.Keys;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Signing.Notation;

/// <summary>
/// Verifies a notation JWS envelope (JSON serialization): the protected header (alg, crit naming only understood
/// headers, content type, signing scheme <c>notary.x509</c> or <c>notary.x509.signingAuthority</c>, expiry), the
/// signature over <c>protected.payload</c> with the leaf of the <c>x5c</c> chain, the chain to a trusted root with each
/// certificate valid now and the leaf an identity the root may vouch for, and the payload's
/// <c>targetArtifact.digest</c> equal to the digest being checked. Timestamp countersignatures are not checked.
/// </summary>
public static class NotationVerifier
{
    private static readonly HashSet<string> UnderstoodCritical = new(StringComparer.Ordinal)
    {
        "io.cncf.notary.signingScheme",
        "io.cncf.notary.expiry",
        "io.cncf.notary.authenticSigningTime",
    };

    public static SignatureVerdict Verify(ReadOnlyMemory<byte> envelope, Digest subject, SignatureTrust trust, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(trust);
        using var document = JsonInput.TryParseObject(envelope);
        if (document is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the notation envelope is not a JSON object (or larger than 1 MiB)");
        }

        var root = document.RootElement;
        var protectedText = root.String("protected");
        var payloadText = root.String("payload");
        var signature = Base64Text.TryDecode(root.String("signature"));
        var protectedBytes = Base64Text.TryDecode(protectedText);
        var payload = Base64Text.TryDecode(payloadText);
        var x5c = root.Object("header")?.Array("x5c");
        if (protectedText is null || payloadText is null || signature is null || protectedBytes is null || payload is null || x5c is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the notation envelope needs protected, payload, signature and header.x5c");
        }

        using var header = JsonInput.TryParseObject(protectedBytes);
        if (header is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the protected header is not a JSON object");
        }

        var alg = header.RootElement.String("alg");
        var scheme = header.RootElement.String("io.cncf.notary.signingScheme");
        var crit = header.RootElement.Array("crit");
        if (alg is null || scheme is not ("notary.x509" or "notary.x509.signingAuthority") || crit is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the protected header needs alg, crit and io.cncf.notary.signingScheme notary.x509");
        }

        if (header.RootElement.String("cty") is { } cty && cty != NotationFormat.PayloadContentType)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, $"the payload content type is '{cty}'");
        }

        foreach (var name in crit.Value.EnumerateArray())
        {
            if (name.ValueKind != System.Text.Json.JsonValueKind.String || !UnderstoodCritical.Contains(name.GetString()!))
            {
                return SignatureVerdict.Invalid(SignatureFailure.Malformed, $"the protected header marks '{name}' critical, which is not understood");
            }
        }

        var certificates = new List<X509Certificate2>();
        try
        {
            foreach (var element in x5c.Value.EnumerateArray())
            {
                if (certificates.Count == SigningLimits.MaxChainLength)
                {
                    return SignatureVerdict.Invalid(SignatureFailure.CertificateNotChained, $"certificate chain longer than {SigningLimits.MaxChainLength}");
                }

                var der = element.ValueKind == System.Text.Json.JsonValueKind.String ? Base64Text.TryDecode(element.GetString()) : null;
                certificates.Add(Certificates.Load(der ?? throw new KeyFormatException("x5c entry is not base64")));
            }
        }
        catch (KeyFormatException ex)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "x5c: " + ex.Message);
        }

        if (certificates.Count == 0)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "x5c is empty");
        }

        var signingInput = Encoding.ASCII.GetBytes(protectedText + "." + payloadText);
        var failure = SignerCheck.Check(key => key.VerifyJws(alg, signingInput, signature), certificates[0], certificates[1..], default, trust, now, out var trustName);
        if (failure is not null)
        {
            return failure;
        }

        if (header.RootElement.String("io.cncf.notary.expiry") is { } expiry)
        {
            if (!DateTimeOffset.TryParse(expiry, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expires))
            {
                return SignatureVerdict.Invalid(SignatureFailure.Malformed, $"io.cncf.notary.expiry '{expiry}' is not a time");
            }

            if (expires < now)
            {
                return SignatureVerdict.Invalid(SignatureFailure.CertificateExpired, $"the signature expired at {expires:u}");
            }
        }

        using var target = JsonInput.TryParseObject(payload);
        var digest = target?.RootElement.Object("targetArtifact")?.String("digest");
        if (digest is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the payload has no targetArtifact.digest");
        }

        return digest == subject.ToString()
            ? SignatureVerdict.Valid(trustName, $"notation signature by '{certificates[0].Subject}' under '{trustName}'")
            : SignatureVerdict.Invalid(SignatureFailure.WrongDigest, $"notation signature under '{trustName}' is for {digest}, not {subject}");
    }
}
