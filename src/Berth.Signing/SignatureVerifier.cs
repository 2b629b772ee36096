using Berth.Oci;
using Berth.Signing.Cosign;
using Berth.Signing.Notation;
using Berth.Signing.Sigstore;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Signing;

/// <summary>
/// The entry point for a registry or client: recognise a signature manifest (cosign, sigstore bundle, notation), say
/// which blobs to fetch for it, and verify it for a digest. The caller fetches the blobs (the library checks their
/// digests) and combines the verdicts of all signature manifests of a digest with <see cref="SignatureVerdict.Combine"/>.
/// </summary>
public static class SignatureVerifier
{
    /// <summary>Which signature format <paramref name="manifest"/> is, decided by artifact type and layer media types (never by tag).</summary>
    public static SignatureFormat Classify(Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (manifest.Kind != ManifestKind.Image)
        {
            return SignatureFormat.None;
        }

        if (manifest.References.Count > 0 && manifest.References.All(l => l.MediaType == CosignFormat.SimpleSigningMediaType))
        {
            return SignatureFormat.Cosign;
        }

        if (manifest.ArtifactType == NotationFormat.ArtifactType)
        {
            return SignatureFormat.Notation;
        }

        if (SigstoreBundleFormat.IsBundleMediaType(manifest.EffectiveArtifactType)
            || (manifest.References.Count > 0 && manifest.References.All(l => SigstoreBundleFormat.IsBundleMediaType(l.MediaType))))
        {
            return SignatureFormat.SigstoreBundle;
        }

        return SignatureFormat.None;
    }

    /// <summary>The layers to fetch before verifying (signature payloads, bundles, envelopes), at most the per-document limit.</summary>
    public static IReadOnlyList<Descriptor> BlobsToFetch(Manifest manifest) => Classify(manifest) switch
    {
        SignatureFormat.Cosign => [.. manifest.References.Where(l => l.MediaType == CosignFormat.SimpleSigningMediaType && l.Size <= SigningLimits.MaxPayloadBytes).Take(SigningLimits.MaxSignaturesPerDocument)],
        SignatureFormat.SigstoreBundle => [.. manifest.References.Where(l => SigstoreBundleFormat.IsBundleMediaType(l.MediaType) && l.Size <= SigningLimits.MaxPayloadBytes).Take(SigningLimits.MaxSignaturesPerDocument)],
        SignatureFormat.Notation => [.. manifest.References.Where(l => l.MediaType == NotationFormat.JwsMediaType && l.Size <= SigningLimits.MaxPayloadBytes).Take(SigningLimits.MaxSignaturesPerDocument)],
        _ => [],
    };

    /// <summary>
    /// Verifies one signature manifest for <paramref name="subject"/>. <paramref name="blobs"/> holds the bytes of the
    /// layers <see cref="BlobsToFetch"/> named (a missing or altered one is a failure, never an exception). A referrer
    /// whose <c>subject</c> is another digest is <see cref="SignatureFailure.WrongDigest"/>; a manifest that is no
    /// signature is <see cref="SignatureFailure.NoSignature"/>. Certificates are checked against <paramref name="now"/>.
    /// </summary>
    public static SignatureVerdict Verify(
        Manifest signatureManifest, IReadOnlyDictionary<Digest, ReadOnlyMemory<byte>> blobs, Digest subject, SignatureTrust trust, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(signatureManifest);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(trust);
        var format = Classify(signatureManifest);
        if (format == SignatureFormat.None)
        {
            return SignatureVerdict.Invalid(SignatureFailure.NoSignature, "the manifest is not a signature of a known format");
        }

        if (signatureManifest.Subject is { } referred && referred.Digest != subject)
        {
            return SignatureVerdict.Invalid(SignatureFailure.WrongDigest, $"the signature refers to {referred.Digest}, not {subject}");
        }

        if (format == SignatureFormat.Cosign)
        {
            return CosignVerifier.Verify(signatureManifest, blobs, subject, trust, now);
        }

        var verdicts = new List<SignatureVerdict>();
        foreach (var layer in BlobsToFetch(signatureManifest))
        {
            if (!blobs.TryGetValue(layer.Digest, out var content))
            {
                verdicts.Add(SignatureVerdict.Invalid(SignatureFailure.Malformed, $"signature blob {layer.Digest} is missing"));
                continue;
            }

            if (content.Length > SigningLimits.MaxPayloadBytes || Digest.Compute(layer.Digest.Algorithm, content.Span) != layer.Digest)
            {
                verdicts.Add(SignatureVerdict.Invalid(SignatureFailure.BadSignature, $"signature blob does not match its descriptor digest {layer.Digest} (altered)"));
                continue;
            }

            verdicts.Add(format == SignatureFormat.Notation
                ? NotationVerifier.Verify(content, subject, trust, now)
                : SigstoreBundleVerifier.Verify(content, subject, trust, now));
        }

        return verdicts.Count == 0
            ? SignatureVerdict.Invalid(SignatureFailure.Malformed, $"the {format} signature manifest has no readable signature layer")
            : SignatureVerdict.Combine(verdicts);
    }

    /// <summary><see cref="Verify(Manifest, IReadOnlyDictionary{Digest, ReadOnlyMemory{byte}}, Digest, SignatureTrust, DateTimeOffset)"/> over the manifest's bytes.</summary>
    public static SignatureVerdict Verify(
        ReadOnlyMemory<byte> signatureManifest, IReadOnlyDictionary<Digest, ReadOnlyMemory<byte>> blobs, Digest subject, SignatureTrust trust, DateTimeOffset now)
    {
        if (signatureManifest.Length > SigningLimits.MaxPayloadBytes)
        {
            return SignatureVerdict.Invalid(SignatureFailure.Malformed, "the signature manifest is larger than 1 MiB");
        }

        var manifest = Manifest.TryParse(signatureManifest, contentType: null, out var error);
        return manifest is null
            ? SignatureVerdict.Invalid(SignatureFailure.Malformed, "the signature manifest cannot be read: " + error)
            : Verify(manifest, blobs, subject, trust, now);
    }
}
