using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Berth.Oci;
using Berth.Signing.Keys;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Signing.Sigstore;

/// <summary>
/// Verifies a sigstore bundle (v0.1, v0.2, v0.3) offline against a trusted key (named by the public key hint or not) or
/// a certificate chaining to a trusted root: a <c>messageSignature</c> whose message digest is the image digest, or a
/// <c>dsseEnvelope</c> (PAE) carrying an in-toto statement with a subject of the image digest. Transparency-log entries
/// and timestamps are ignored: keyless (Fulcio) signatures need the internet and are not supported offline.
/// </summary>
public static class SigstoreBundleVerifier
{
    public static SignatureVerdict Verify(ReadOnlyMemory<byte> bundle, Digest subject, SignatureTrust trust, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(trust);
        using var document = JsonInput.TryParseObject(bundle);
        if (document is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the sigstore bundle is not a JSON object (or larger than 1 MiB)");
        }

        var root = document.RootElement;
        if (!SigstoreBundleFormat.IsBundleMediaType(root.String("mediaType")))
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, $"unknown sigstore bundle media type '{root.String("mediaType")}'");
        }

        var material = root.Object("verificationMaterial");
        if (material is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the sigstore bundle has no verificationMaterial");
        }

        X509Certificate2? certificate = null;
        var chain = new List<X509Certificate2>();
        byte[]? hint = null;
        try
        {
            if (material.Value.Object("certificate")?.String("rawBytes") is { } raw)
            {
                certificate = Certificates.Load(Base64Text.TryDecode(raw) ?? throw new KeyFormatException("certificate is not base64"));
            }
            else if (material.Value.Object("x509CertificateChain")?.Array("certificates") is { } certificates)
            {
                foreach (var element in certificates.EnumerateArray())
                {
                    if (chain.Count + 1 > SigningLimits.MaxChainLength)
                    {
                        return SignatureVerdict.Invalid(SignatureFailure.CertificateNotChained, $"certificate chain longer than {SigningLimits.MaxChainLength}");
                    }

                    var der = Base64Text.TryDecode(element.String("rawBytes")) ?? throw new KeyFormatException("certificate is not base64");
                    chain.Add(Certificates.Load(der));
                }

                certificate = chain.Count > 0 ? chain[0] : throw new KeyFormatException("empty certificate chain");
                chain.RemoveAt(0);
            }
            else if (material.Value.Object("publicKey") is { } publicKey)
            {
                hint = Base64Text.TryDecode(publicKey.String("hint"));
            }
            else
            {
                return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the sigstore bundle names no public key or certificate");
            }
        }
        catch (KeyFormatException ex)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "sigstore bundle certificate: " + ex.Message);
        }

        if (root.Object("messageSignature") is { } message)
        {
            return VerifyMessageSignature(message, certificate, chain, hint, subject, trust, now);
        }

        if (root.Object("dsseEnvelope") is { } envelope)
        {
            return VerifyDsse(envelope, certificate, chain, hint, subject, trust, now);
        }

        return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the sigstore bundle has neither messageSignature nor dsseEnvelope");
    }

    private static SignatureVerdict VerifyMessageSignature(
        JsonElement message, X509Certificate2? certificate, List<X509Certificate2> chain, byte[]? hint, Digest subject, SignatureTrust trust, DateTimeOffset now)
    {
        var digestElement = message.Object("messageDigest");
        var algorithm = digestElement?.String("algorithm");
        var digest = Base64Text.TryDecode(digestElement?.String("digest"));
        var signature = Base64Text.TryDecode(message.String("signature"));
        if (algorithm != "SHA2_256" || digest is not { Length: 32 } || signature is null || signature.Length == 0)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the message signature needs a SHA2_256 messageDigest and a signature");
        }

        var failure = SignerCheck.Check(key => key.VerifySha256Hash(digest, signature), certificate, chain, hint, trust, now, out var trustName);
        if (failure is not null)
        {
            return failure;
        }

        var signed = Digest.FromHash(DigestAlgorithm.Sha256, digest);
        return signed == subject
            ? SignatureVerdict.Valid(trustName, $"sigstore bundle (message signature) by '{trustName}'")
            : SignatureVerdict.Invalid(SignatureFailure.WrongDigest, $"sigstore bundle by '{trustName}' signs {signed}, not {subject}");
    }

    private static SignatureVerdict VerifyDsse(
        JsonElement envelope, X509Certificate2? certificate, List<X509Certificate2> chain, byte[]? hint, Digest subject, SignatureTrust trust, DateTimeOffset now)
    {
        var payloadType = envelope.String("payloadType");
        var payload = Base64Text.TryDecode(envelope.String("payload"));
        var signatures = envelope.Array("signatures");
        if (payloadType is null || payload is null || signatures is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the DSSE envelope needs payloadType, payload and signatures");
        }

        var pae = PreAuthenticationEncoding(payloadType, payload);
        var verdicts = new List<SignatureVerdict>();
        foreach (var entry in signatures.Value.EnumerateArray().Take(SigningLimits.MaxSignaturesPerDocument))
        {
            var signature = Base64Text.TryDecode(entry.String("sig"));
            if (signature is null || signature.Length == 0)
            {
                verdicts.Add(SignatureVerdict.Invalid(SignatureFailure.Malformed, "a DSSE signature is not base64"));
                continue;
            }

            var failure = SignerCheck.Check(key => key.VerifyData(pae, signature), certificate, chain, hint, trust, now, out var trustName);
            verdicts.Add(failure ?? CheckStatement(payloadType, payload, subject, trustName));
        }

        return SignatureVerdict.Combine(verdicts);
    }

    private static SignatureVerdict CheckStatement(string payloadType, byte[] payload, Digest subject, string trustName)
    {
        if (payloadType != SigstoreBundleFormat.InTotoPayloadType)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, $"the DSSE payload is '{payloadType}', not an in-toto statement");
        }

        using var statement = JsonInput.TryParseObject(payload);
        var subjects = statement?.RootElement.Array("subject");
        if (subjects is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the in-toto statement has no subject");
        }

        var named = new List<string>();
        foreach (var entry in subjects.Value.EnumerateArray().Take(SigningLimits.MaxSignaturesPerDocument))
        {
            if (entry.Object("digest")?.String(subject.AlgorithmName) is { } hex)
            {
                if (hex == subject.Hex)
                {
                    return SignatureVerdict.Valid(trustName, $"sigstore bundle (DSSE in-toto statement) by '{trustName}'");
                }

                named.Add(subject.AlgorithmName + ":" + hex);
            }
        }

        return SignatureVerdict.Invalid(SignatureFailure.WrongDigest, $"sigstore bundle by '{trustName}' names {(named.Count == 0 ? "no digest" : string.Join(", ", named))}, not {subject}");
    }

    /// <summary>DSSE's PAE: <c>"DSSEv1" SP len(type) SP type SP len(body) SP body</c>, lengths in ASCII decimal.</summary>
    internal static byte[] PreAuthenticationEncoding(string payloadType, byte[] payload)
    {
        var type = Encoding.UTF8.GetBytes(payloadType);
        var header = Encoding.ASCII.GetBytes($"DSSEv1 {type.Length} ");
        var middle = Encoding.ASCII.GetBytes($" {payload.Length} ");
        return [.. header, .. type, .. middle, .. payload];
    }
}
