using System.Text;
using Berth.Oci;
using Berth.Signing.Cosign;
using Berth.Signing.Keys;
using Berth.Signing.Notation;
using Berth.Signing.Sigstore;
using Berth.Signing.Tests.Support;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Signing.Tests;

/// <summary>Garbage, oversized and misleading input: always a verdict naming the problem, never an exception.</summary>
public sealed class HostileInputTests
{
    private static readonly Digest Image = Digest.Compute(DigestAlgorithm.Sha256, "hostile"u8);
    private static readonly SigningPrivateKey Key = SigningPrivateKey.GenerateEcdsaP256();
    private static readonly SignatureTrust Trust = SignatureTrust.FromKeys(new TrustedKey("k", Key.PublicKey));

    public static TheoryData<string> GarbageDocuments => new()
    {
        string.Empty,
        "null",
        "[]",
        "\"string\"",
        "{",
        "{}",
        "{\"mediaType\":5}",
        "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\"}",
        "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":{\"publicKey\":{}},\"dsseEnvelope\":{\"payload\":\"!!\",\"payloadType\":\"x\",\"signatures\":[]}}",
        "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":{\"certificate\":{\"rawBytes\":\"AAAA\"}},\"messageSignature\":{}}",
        "{\"payload\":\"e30\",\"protected\":\"e30\",\"header\":{\"x5c\":[]},\"signature\":\"AA\"}",
        "{\"payload\":\"e30\",\"protected\":\"bm90IGpzb24\",\"header\":{\"x5c\":[\"AAAA\"]},\"signature\":\"AA\"}",
        new string('[', 10000),
    };

    [Theory]
    [MemberData(nameof(GarbageDocuments))]
    public void Bundle_Garbage_IsMalformedVerdict(string document)
    {
        var verdict = SigstoreBundleVerifier.Verify(Encoding.UTF8.GetBytes(document), Image, Trust, DateTimeOffset.UtcNow);

        Assert.False(verdict.IsValid);
    }

    [Theory]
    [MemberData(nameof(GarbageDocuments))]
    public void Notation_Garbage_IsMalformedVerdict(string document)
    {
        var verdict = NotationVerifier.Verify(Encoding.UTF8.GetBytes(document), Image, Trust, DateTimeOffset.UtcNow);

        Assert.False(verdict.IsValid);
    }

    [Theory]
    [MemberData(nameof(GarbageDocuments))]
    public void SignatureManifest_Garbage_IsRefused(string document)
    {
        var verdict = SignatureVerifier.Verify(Encoding.UTF8.GetBytes(document), TestData.Blobs(), Image, Trust, DateTimeOffset.UtcNow);

        Assert.False(verdict.IsValid);
    }

    [Fact]
    public void SignatureTagPointingAtAnImage_IsNoSignature()
    {
        // A sha256-<hex>.sig tag that points at an ordinary image: decided by content, not by the tag name.
        var image = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"config\":{{\"mediaType\":\"{MediaTypes.OciConfig}\",\"digest\":\"{Image}\",\"size\":2}}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{Image}\",\"size\":2}}]}}");

        var verdict = SignatureVerifier.Verify(image, TestData.Blobs(), Image, Trust, DateTimeOffset.UtcNow);

        Assert.Equal(SignatureFailure.NoSignature, verdict.Failure);
    }

    [Fact]
    public void CosignPayload_LargerThanOneMiB_IsRefusedBeforeHashing()
    {
        var huge = new byte[SigningLimits.MaxPayloadBytes + 1];
        var artifact = CosignSigner.BuildManifest([new CosignSignature(huge, Convert.ToBase64String(Key.Sign(huge)))]);
        var manifest = Manifest.TryParse(artifact.Manifest, MediaTypes.OciManifest, out _)!;

        var verdict = SignatureVerifier.Verify(manifest, CosignOpenSslTests.Blobs(artifact), Image, Trust, DateTimeOffset.UtcNow);

        Assert.Equal(SignatureFailure.Malformed, verdict.Failure);
        Assert.Empty(SignatureVerifier.BlobsToFetch(manifest));
    }

    [Fact]
    public void Bundle_LargerThanOneMiB_IsMalformed()
    {
        var huge = Encoding.UTF8.GetBytes("{\"mediaType\":\"" + new string('a', SigningLimits.MaxPayloadBytes) + "\"}");

        Assert.Equal(SignatureFailure.Malformed, SigstoreBundleVerifier.Verify(huge, Image, Trust, DateTimeOffset.UtcNow).Failure);
    }

    [Fact]
    public void CosignSignature_NotBase64_IsMalformed()
    {
        var payload = SimpleSigningPayload.Create("r/a", Image);
        var artifact = CosignSigner.BuildManifest([new CosignSignature(payload, "%%% not base64 %%%")]);

        Assert.Equal(SignatureFailure.Malformed, SignatureVerifier.Verify(artifact.Manifest, CosignOpenSslTests.Blobs(artifact), Image, Trust, DateTimeOffset.UtcNow).Failure);
    }

    [Fact]
    public void CosignSignature_ValidOverGarbagePayload_IsMalformed()
    {
        var payload = "not json at all"u8.ToArray();
        var artifact = CosignSigner.BuildManifest([new CosignSignature(payload, Convert.ToBase64String(Key.Sign(payload)))]);

        Assert.Equal(SignatureFailure.Malformed, SignatureVerifier.Verify(artifact.Manifest, CosignOpenSslTests.Blobs(artifact), Image, Trust, DateTimeOffset.UtcNow).Failure);
    }

    [Fact]
    public void NoTrustAtAll_IsUntrustedKey()
    {
        var artifact = CosignSigner.BuildManifest([CosignSigner.Sign(Key, "r/a", Image)]);

        var verdict = SignatureVerifier.Verify(artifact.Manifest, CosignOpenSslTests.Blobs(artifact), Image, SignatureTrust.Empty, DateTimeOffset.UtcNow);

        Assert.Equal(SignatureFailure.UntrustedKey, verdict.Failure);
        Assert.Contains("no trusted keys", verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Index_IsNoSignature()
    {
        var index = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciIndex}\",\"manifests\":[]}}");

        Assert.Equal(SignatureFailure.NoSignature, SignatureVerifier.Verify(index, TestData.Blobs(), Image, Trust, DateTimeOffset.UtcNow).Failure);
    }
}
