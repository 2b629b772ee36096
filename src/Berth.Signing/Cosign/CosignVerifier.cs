using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Berth.Oci;
using Berth.Signing.Keys;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Signing.Cosign;

/// <summary>
/// Verifies a cosign simple-signing signature manifest (tag scheme or referrer). Each layer of media type
/// <see cref="CosignFormat.SimpleSigningMediaType"/> is one signature: its payload bytes must hash to the layer's
/// digest, the annotation's signature must verify over them by a trusted key (or a certificate from the annotations
/// chaining to a trusted root, valid now, of an allowed identity), and the payload must be a cosign payload naming
/// exactly the digest being checked. Valid when any layer is.
/// </summary>
public static class CosignVerifier
{
    public static SignatureVerdict Verify(
        Manifest signatureManifest, IReadOnlyDictionary<Digest, ReadOnlyMemory<byte>> blobs, Digest subject, SignatureTrust trust, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(signatureManifest);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(trust);
        var verdicts = new List<SignatureVerdict>();
        foreach (var layer in signatureManifest.References.Where(l => l.MediaType == CosignFormat.SimpleSigningMediaType).Take(SigningLimits.MaxSignaturesPerDocument))
        {
            verdicts.Add(VerifyLayer(layer, blobs, subject, trust, now));
        }

        return SignatureVerdict.Combine(verdicts);
    }

    private static SignatureVerdict VerifyLayer(Descriptor layer, IReadOnlyDictionary<Digest, ReadOnlyMemory<byte>> blobs, Digest subject, SignatureTrust trust, DateTimeOffset now)
    {
        if (layer.Size > SigningLimits.MaxPayloadBytes)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, $"signature payload {layer.Digest} is larger than {SigningLimits.MaxPayloadBytes} bytes");
        }

        if (!blobs.TryGetValue(layer.Digest, out var payload))
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, $"signature payload {layer.Digest} is missing");
        }

        if (payload.Length > SigningLimits.MaxPayloadBytes || Digest.Compute(layer.Digest.Algorithm, payload.Span) != layer.Digest)
        {
            return SignatureVerdict.Invalid(SignatureFailure.BadSignature, $"signature payload does not match its descriptor digest {layer.Digest} (altered)");
        }

        string? signatureText = null, certificatePem = null, chainPem = null;
        if (layer.AnnotationsJson is not null)
        {
            using var annotations = JsonInput.TryParseObject(System.Text.Encoding.UTF8.GetBytes(layer.AnnotationsJson));
            if (annotations is not null)
            {
                signatureText = annotations.RootElement.String(CosignFormat.SignatureAnnotation);
                certificatePem = annotations.RootElement.String(CosignFormat.CertificateAnnotation);
                chainPem = annotations.RootElement.String(CosignFormat.ChainAnnotation);
            }
        }

        var signature = Base64Text.TryDecode(signatureText);
        if (signature is null || signature.Length == 0)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, $"layer {layer.Digest} has no base64 signature in {CosignFormat.SignatureAnnotation}");
        }

        X509Certificate2? certificate = null;
        IReadOnlyList<X509Certificate2> chain = [];
        try
        {
            if (!string.IsNullOrEmpty(certificatePem))
            {
                certificate = Certificates.LoadPem(certificatePem).FirstOrDefault()
                    ?? throw new KeyFormatException("no CERTIFICATE block");
                chain = string.IsNullOrEmpty(chainPem) ? [] : Certificates.LoadPem(chainPem);
            }
        }
        catch (KeyFormatException ex)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "signature certificate: " + ex.Message);
        }

        var bytes = payload.ToArray();
        var failure = SignerCheck.Check(key => key.VerifyData(bytes, signature), certificate, chain, default, trust, now, out var trustName);
        if (failure is not null)
        {
            return failure;
        }

        return CheckPayload(bytes, subject, trustName);
    }

    private static SignatureVerdict CheckPayload(byte[] payload, Digest subject, string trustName)
    {
        using var document = JsonInput.TryParseObject(payload);
        if (document is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the signed payload is not a JSON object");
        }

        var critical = document.RootElement.Object("critical");
        var type = critical?.String("type");
        var digest = critical?.Object("image")?.String("docker-manifest-digest");
        if (critical is null || type is null || digest is null)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the signed payload has no critical.type and critical.image.docker-manifest-digest");
        }

        if (!string.Equals(type, CosignFormat.PayloadType, StringComparison.OrdinalIgnoreCase))
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, $"the signed payload is of type '{type}', not a cosign image signature");
        }

        return digest == subject.ToString()
            ? SignatureVerdict.Valid(trustName, $"cosign signature by '{trustName}'")
            : SignatureVerdict.Invalid(SignatureFailure.WrongDigest, $"signature by '{trustName}' is for {digest}, not {subject}");
    }
}
