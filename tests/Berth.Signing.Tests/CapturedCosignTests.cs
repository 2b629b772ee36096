using System.Text;
using Berth.Oci;
using Berth.Signing.Cosign;
using Berth.Signing.Keys;
using Berth.Signing.Tests.Support;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Signing.Tests;

/// <summary>Signatures made by cosign itself (captured from real signing runs, see tests/testdata/signing/SOURCES.md).</summary>
public sealed class CapturedCosignTests
{
    private static readonly Digest TagSchemeSubject = Digest.Parse("sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268");
    private static readonly Digest BundleSubject = Digest.Parse("sha256:d7d5640c741c60b47fa4b5530daa20a6469b55754a89dd42adbadadb59f9093c");

    private static SignatureTrust TagSchemeTrust => SignatureTrust.FromKeys(new TrustedKey("cosign-fixture", SigningPublicKey.FromPem(TestData.Text("cosign-tag-scheme.pub"))));

    private static SignatureTrust BundleTrust => SignatureTrust.FromKeys(new TrustedKey("cosign-bundle", SigningPublicKey.FromPem(TestData.Text("cosign-bundle.pub"))));

    [Fact]
    public void TagScheme_RealCosignSignature_IsValid()
    {
        var verdict = SignatureVerifier.Verify(TestData.Bytes("cosign-tag-scheme.manifest.json"), TestData.Blobs(TestData.Bytes("cosign-tag-scheme.payload.json")), TagSchemeSubject, TagSchemeTrust, TestData.Now);

        Assert.True(verdict.IsValid, verdict.ToString());
        Assert.Equal("cosign-fixture", verdict.TrustName);
    }

    [Fact]
    public void TagScheme_KeyId_IsSha256OfSubjectPublicKeyInfo()
    {
        var key = SigningPublicKey.FromPem(TestData.Text("cosign-tag-scheme.pub"));

        Assert.Equal("sha256:dc2bcfdb0402cd0845f59232655c3ab2a53d55849d4665579efe45c6cc753478", key.KeyId);
        Assert.Equal(KeyAlgorithm.EcdsaP256, key.Algorithm);
    }

    [Fact]
    public void TagScheme_OtherDigest_IsWrongDigest()
    {
        var verdict = SignatureVerifier.Verify(TestData.Bytes("cosign-tag-scheme.manifest.json"), TestData.Blobs(TestData.Bytes("cosign-tag-scheme.payload.json")), TestData.RandomDigest(), TagSchemeTrust, TestData.Now);

        Assert.Equal(SignatureFailure.WrongDigest, verdict.Failure);
    }

    [Fact]
    public void TagScheme_UntrustedKey_IsUntrustedKey()
    {
        using var other = SigningPrivateKey.GenerateEcdsaP256();
        var trust = SignatureTrust.FromKeys(new TrustedKey("other", other.PublicKey));

        var verdict = SignatureVerifier.Verify(TestData.Bytes("cosign-tag-scheme.manifest.json"), TestData.Blobs(TestData.Bytes("cosign-tag-scheme.payload.json")), TagSchemeSubject, trust, TestData.Now);

        Assert.Equal(SignatureFailure.UntrustedKey, verdict.Failure);
    }

    [Fact]
    public void TagScheme_TamperedPayloadBytes_IsBadSignature()
    {
        var manifest = TestData.Bytes("cosign-tag-scheme.manifest.json");
        var payload = TestData.Bytes("cosign-tag-scheme.payload.json");
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(payload).Replace("f20c4316", "f20c4317", StringComparison.Ordinal));
        var blobs = new Dictionary<Digest, ReadOnlyMemory<byte>> { [Digest.Compute(DigestAlgorithm.Sha256, payload)] = tampered };

        var verdict = SignatureVerifier.Verify(manifest, blobs, TagSchemeSubject, TagSchemeTrust, TestData.Now);

        Assert.Equal(SignatureFailure.BadSignature, verdict.Failure);
    }

    [Fact]
    public void TagScheme_TamperedPayloadWithRewrittenLayerDigest_IsRefused()
    {
        // The attacker rewrites the payload to name their image and fixes the layer digest: the signature no longer verifies.
        var payload = TestData.Bytes("cosign-tag-scheme.payload.json");
        var forged = SimpleSigningPayload.Create("localhost:15381/tobby/fixture", TestData.RandomDigest());
        var manifest = Encoding.UTF8.GetString(TestData.Bytes("cosign-tag-scheme.manifest.json"))
            .Replace(Digest.Compute(DigestAlgorithm.Sha256, payload).ToString(), Digest.Compute(DigestAlgorithm.Sha256, forged).ToString(), StringComparison.Ordinal)
            .Replace("\"size\":245", $"\"size\":{forged.Length}", StringComparison.Ordinal);

        var verdict = SignatureVerifier.Verify(Encoding.UTF8.GetBytes(manifest), TestData.Blobs(forged), TagSchemeSubject, TagSchemeTrust, TestData.Now);

        Assert.False(verdict.IsValid);
        Assert.Equal(SignatureFailure.UntrustedKey, verdict.Failure);
    }

    [Fact]
    public void TagScheme_TamperedSignatureAnnotation_IsRefused()
    {
        var manifest = Encoding.UTF8.GetString(TestData.Bytes("cosign-tag-scheme.manifest.json")).Replace("MEUCIEB+pz4s", "MEUCIEB+pz4t", StringComparison.Ordinal);

        var verdict = SignatureVerifier.Verify(Encoding.UTF8.GetBytes(manifest), TestData.Blobs(TestData.Bytes("cosign-tag-scheme.payload.json")), TagSchemeSubject, TagSchemeTrust, TestData.Now);

        Assert.False(verdict.IsValid);
        Assert.Equal(SignatureFailure.UntrustedKey, verdict.Failure);
    }

    [Fact]
    public void TagScheme_PayloadMissing_IsMalformed()
    {
        var verdict = SignatureVerifier.Verify(TestData.Bytes("cosign-tag-scheme.manifest.json"), TestData.Blobs(), TagSchemeSubject, TagSchemeTrust, TestData.Now);

        Assert.Equal(SignatureFailure.Malformed, verdict.Failure);
    }

    [Fact]
    public void SimpleSigningPayload_IsByteForByteCosigns()
    {
        Assert.Equal(
            TestData.Bytes("cosign-tag-scheme.payload.json"),
            SimpleSigningPayload.Create("localhost:15381/tobby/fixture", TagSchemeSubject));
    }

    [Fact]
    public void BuildManifest_TagScheme_ConfigIsCosigns()
    {
        var payload = TestData.Bytes("cosign-tag-scheme.payload.json");
        var artifact = CosignSigner.BuildManifest([new CosignSignature(payload, "MEUCIEB+pz4s+9yxG+Om/bukeAfwloKFEISUhxLvIYlP02P8AiEAz1oNkilC+cprxcrEHqN0vxM+zvP34ikHFzi8e7Sevls=")]);

        // cosign's config blob for this payload is sha256:2122b6ad… (233 bytes), as the captured manifest names it.
        Assert.Equal("sha256:2122b6ad0794d3fdae43a4b477cf1d95d4a38d3c5f10631e199676039b876e37", artifact.Blobs[0].Digest.ToString());
        Assert.Equal(233, artifact.Blobs[0].Content.Length);
        var captured = Manifest.TryParse(TestData.Bytes("cosign-tag-scheme.manifest.json"), MediaTypes.OciManifest, out _)!;
        var built = Manifest.TryParse(artifact.Manifest, MediaTypes.OciManifest, out _)!;
        Assert.Equal(captured.Config, built.Config);
        Assert.Equal(captured.References[0].Digest, built.References[0].Digest);
        Assert.Equal(MediaTypes.OciManifest, artifact.MediaType);
        Assert.Equal(Digest.Compute(DigestAlgorithm.Sha256, artifact.Manifest), artifact.ManifestDigest);
    }

    [Fact]
    public void Bundle_RealCosignDsseBundle_IsValid()
    {
        var verdict = SignatureVerifier.Verify(TestData.Bytes("cosign-bundle.manifest.json"), TestData.Blobs(TestData.Bytes("cosign-bundle.sigstore.json")), BundleSubject, BundleTrust, TestData.Now);

        Assert.True(verdict.IsValid, verdict.ToString());
        Assert.Equal("cosign-bundle", verdict.TrustName);
    }

    [Fact]
    public void Bundle_IsClassifiedAsSigstoreBundle_AndItsLayerIsToFetch()
    {
        var manifest = Manifest.TryParse(TestData.Bytes("cosign-bundle.manifest.json"), MediaTypes.OciManifest, out _)!;

        Assert.Equal(SignatureFormat.SigstoreBundle, SignatureVerifier.Classify(manifest));
        Assert.Equal("sha256:adbf6372367b1d18204f9a60675cdd31c26e60b5cb664b937a69c448cfab6512", Assert.Single(SignatureVerifier.BlobsToFetch(manifest)).Digest.ToString());
    }

    [Fact]
    public void Bundle_UntrustedKey_IsUntrustedKey()
    {
        using var other = SigningPrivateKey.GenerateEcdsaP256();

        var verdict = SignatureVerifier.Verify(TestData.Bytes("cosign-bundle.manifest.json"), TestData.Blobs(TestData.Bytes("cosign-bundle.sigstore.json")), BundleSubject, SignatureTrust.FromKeys(new TrustedKey("other", other.PublicKey)), TestData.Now);

        Assert.Equal(SignatureFailure.UntrustedKey, verdict.Failure);
    }

    [Fact]
    public void Bundle_ReferrerOfAnotherDigest_IsWrongDigest()
    {
        var verdict = SignatureVerifier.Verify(TestData.Bytes("cosign-bundle.manifest.json"), TestData.Blobs(TestData.Bytes("cosign-bundle.sigstore.json")), TestData.RandomDigest(), BundleTrust, TestData.Now);

        Assert.Equal(SignatureFailure.WrongDigest, verdict.Failure);
    }

    [Fact]
    public void Bundle_ForgedSignatureWithTheTrustedHint_IsBadSignature()
    {
        // Re-sign nothing: flip one byte of the DSSE signature and serve the bundle under its new digest.
        var bundle = Encoding.UTF8.GetString(TestData.Bytes("cosign-bundle.sigstore.json")).Replace("MEUCIH+d22hy", "MEUCIH+d22hz", StringComparison.Ordinal);

        var verdict = Sigstore.SigstoreBundleVerifier.Verify(Encoding.UTF8.GetBytes(bundle), BundleSubject, BundleTrust, TestData.Now);

        Assert.Equal(SignatureFailure.BadSignature, verdict.Failure);
    }

    [Fact]
    public void Bundle_AlteredBlob_IsBadSignature()
    {
        var manifest = TestData.Bytes("cosign-bundle.manifest.json");
        var blob = TestData.Bytes("cosign-bundle.sigstore.json");
        var altered = blob.ToArray();
        altered[altered.Length / 2] ^= 1;
        var blobs = new Dictionary<Digest, ReadOnlyMemory<byte>> { [Digest.Compute(DigestAlgorithm.Sha256, blob)] = altered };

        var verdict = SignatureVerifier.Verify(manifest, blobs, BundleSubject, BundleTrust, TestData.Now);

        Assert.Equal(SignatureFailure.BadSignature, verdict.Failure);
    }
}
