using System.Text;
using System.Text.Json;
using Berth.Oci;
using Berth.Signing.Keys;

namespace Berth.Signing.Cosign;

/// <summary>
/// Makes cosign-compatible signatures: the simple-signing payload signed with a private key, and the signature manifest
/// in the tag scheme (stored under <see cref="CosignFormat.SignatureTag"/>, config as go-containerregistry writes it) or
/// as an OCI 1.1 referrer (subject set, artifact type <see cref="CosignFormat.ReferrerArtifactType"/>, empty config).
/// </summary>
public static class CosignSigner
{
    /// <summary>Signs the payload for <paramref name="dockerReference"/> (repository, without tag) and <paramref name="digest"/>.</summary>
    public static CosignSignature Sign(SigningPrivateKey key, string dockerReference, Digest digest)
    {
        ArgumentNullException.ThrowIfNull(key);
        var payload = SimpleSigningPayload.Create(dockerReference, digest);
        return new CosignSignature(payload, Convert.ToBase64String(key.Sign(payload)));
    }

    /// <summary>
    /// The signature manifest for <paramref name="signatures"/> (one layer each, in order). With <paramref name="subject"/>
    /// it is a referrer of that manifest; without, the tag-scheme manifest cosign writes.
    /// </summary>
    public static SignatureArtifact BuildManifest(IReadOnlyList<CosignSignature> signatures, Descriptor? subject = null)
    {
        ArgumentNullException.ThrowIfNull(signatures);
        if (signatures.Count == 0)
        {
            throw new ArgumentException("at least one signature", nameof(signatures));
        }

        var layers = signatures.Select(s => new ArtifactBlob(Digest.Compute(DigestAlgorithm.Sha256, s.Payload), s.Payload)).ToList();
        var config = subject is null ? TagSchemeConfig(layers) : Encoding.UTF8.GetBytes("{}");
        var configBlob = new ArtifactBlob(Digest.Compute(DigestAlgorithm.Sha256, config), config);

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", MediaTypes.OciManifest);
            if (subject is not null)
            {
                json.WriteString("artifactType", CosignFormat.ReferrerArtifactType);
            }

            json.WriteStartObject("config");
            json.WriteString("mediaType", subject is null ? MediaTypes.OciConfig : MediaTypes.OciEmpty);
            json.WriteNumber("size", config.Length);
            json.WriteString("digest", configBlob.Digest.ToString());
            json.WriteEndObject();
            json.WriteStartArray("layers");
            for (var i = 0; i < signatures.Count; i++)
            {
                json.WriteStartObject();
                json.WriteString("mediaType", CosignFormat.SimpleSigningMediaType);
                json.WriteNumber("size", layers[i].Content.Length);
                json.WriteString("digest", layers[i].Digest.ToString());
                json.WriteStartObject("annotations");
                if (signatures[i].CertificatePem is { } certificate)
                {
                    json.WriteString(CosignFormat.CertificateAnnotation, certificate);
                }

                if (signatures[i].ChainPem is { } chain)
                {
                    json.WriteString(CosignFormat.ChainAnnotation, chain);
                }

                json.WriteString(CosignFormat.SignatureAnnotation, signatures[i].SignatureBase64);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (subject is not null)
            {
                json.WriteStartObject("subject");
                json.WriteString("mediaType", subject.MediaType);
                json.WriteNumber("size", subject.Size);
                json.WriteString("digest", subject.Digest.ToString());
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        var manifest = buffer.ToArray();
        return new SignatureArtifact(manifest, Digest.Compute(DigestAlgorithm.Sha256, manifest), MediaTypes.OciManifest, [.. new[] { configBlob }.Concat(layers).DistinctBy(b => b.Digest)]);
    }

    /// <summary>go-containerregistry's config of an image whose layers are the payloads (cosign's config, 233 bytes for one).</summary>
    private static byte[] TagSchemeConfig(List<ArtifactBlob> layers)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("architecture", string.Empty);
            json.WriteString("created", "0001-01-01T00:00:00Z");
            json.WriteStartArray("history");
            foreach (var _ in layers)
            {
                json.WriteStartObject();
                json.WriteString("created", "0001-01-01T00:00:00Z");
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("os", string.Empty);
            json.WriteStartObject("rootfs");
            json.WriteString("type", "layers");
            json.WriteStartArray("diff_ids");
            foreach (var layer in layers)
            {
                json.WriteStringValue(layer.Digest.ToString());
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartObject("config");
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
