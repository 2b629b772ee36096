using Berth.Oci;
using Berth.Signing.Cosign;
using Berth.Signing.Keys;
using Berth.Signing.Tests.Support;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Signing.Tests;

/// <summary>cosign simple-signing signatures whose signature bytes openssl made over a payload written per the published format.</summary>
public sealed class CosignOpenSslTests
{
    private static readonly Digest Image = Digest.Compute(DigestAlgorithm.Sha256, "image manifest"u8);

    [Theory]
    [InlineData("p256")]
    [InlineData("p384")]
    [InlineData("rsa")]
    [InlineData("ed25519")]
    public void Verify_OpenSslSignature_IsValid(string kind)
    {
        using var folder = new TempFolder();
        var (privatePath, publicPath) = OpenSslKeys.Generate(folder, kind, "signer");
        var payload = SimpleSigningPayload.Create("registry.example/team/app", Image);
        var signature = OpenSslKeys.Sign(folder, privatePath, payload, ed25519: kind == "ed25519");
        var artifact = CosignSigner.BuildManifest([new CosignSignature(payload, Convert.ToBase64String(signature))]);
        var trust = SignatureTrust.FromKeys(new TrustedKey("team-key", SigningPublicKey.FromPem(File.ReadAllText(publicPath))));

        var verdict = SignatureVerifier.Verify(artifact.Manifest, Blobs(artifact), Image, trust, TestData.Now);

        Assert.True(verdict.IsValid, verdict.ToString());
        Assert.Equal("team-key", verdict.TrustName);
    }

    [Fact]
    public void Verify_OpenSslSignatureOverAnotherDigest_IsWrongDigest()
    {
        using var folder = new TempFolder();
        var (privatePath, publicPath) = OpenSslKeys.Generate(folder, "p256", "signer");
        var payload = SimpleSigningPayload.Create("registry.example/team/app", TestData.RandomDigest());
        var artifact = CosignSigner.BuildManifest([new CosignSignature(payload, Convert.ToBase64String(OpenSslKeys.Sign(folder, privatePath, payload)))]);
        var trust = SignatureTrust.FromKeys(new TrustedKey("team-key", SigningPublicKey.FromPem(File.ReadAllText(publicPath))));

        var verdict = SignatureVerifier.Verify(artifact.Manifest, Blobs(artifact), Image, trust, TestData.Now);

        Assert.Equal(SignatureFailure.WrongDigest, verdict.Failure);
        Assert.Contains("team-key", verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_PayloadOfAnotherType_IsMalformed()
    {
        using var folder = new TempFolder();
        var (privatePath, publicPath) = OpenSslKeys.Generate(folder, "p256", "signer");
        var payload = System.Text.Encoding.UTF8.GetBytes($"{{\"critical\":{{\"identity\":{{\"docker-reference\":\"x\"}},\"image\":{{\"docker-manifest-digest\":\"{Image}\"}},\"type\":\"something else\"}},\"optional\":null}}");
        var artifact = CosignSigner.BuildManifest([new CosignSignature(payload, Convert.ToBase64String(OpenSslKeys.Sign(folder, privatePath, payload)))]);
        var trust = SignatureTrust.FromKeys(new TrustedKey("team-key", SigningPublicKey.FromPem(File.ReadAllText(publicPath))));

        Assert.Equal(SignatureFailure.Malformed, SignatureVerifier.Verify(artifact.Manifest, Blobs(artifact), Image, trust, TestData.Now).Failure);
    }

    [Fact]
    public void Verify_SeveralSignatures_ValidIfAnyIs()
    {
        using var folder = new TempFolder();
        var (privatePath, publicPath) = OpenSslKeys.Generate(folder, "p256", "signer");
        using var stranger = SigningPrivateKey.GenerateEcdsaP256();
        var payload = SimpleSigningPayload.Create("registry.example/team/app", Image);
        var artifact = CosignSigner.BuildManifest(
        [
            CosignSigner.Sign(stranger, "registry.example/team/app", Image),
            new CosignSignature(payload, Convert.ToBase64String(OpenSslKeys.Sign(folder, privatePath, payload))),
        ]);
        var trust = SignatureTrust.FromKeys(new TrustedKey("team-key", SigningPublicKey.FromPem(File.ReadAllText(publicPath))));

        var verdict = SignatureVerifier.Verify(artifact.Manifest, Blobs(artifact), Image, trust, TestData.Now);

        Assert.True(verdict.IsValid, verdict.ToString());
    }

    [Fact]
    public void SignAndVerify_Referrer_SubjectAndArtifactTypeSet()
    {
        using var key = SigningPrivateKey.GenerateEcdsaP256();
        var subject = new Descriptor(MediaTypes.OciManifest, Image, 1234);

        var artifact = CosignSigner.BuildManifest([CosignSigner.Sign(key, "registry.example/team/app", Image)], subject);
        var manifest = Manifest.TryParse(artifact.Manifest, MediaTypes.OciManifest, out var error);

        Assert.NotNull(manifest);
        Assert.Null(error);
        Assert.Equal(CosignFormat.ReferrerArtifactType, manifest.ArtifactType);
        Assert.Equal(Image, manifest.Subject!.Digest);
        Assert.Equal(SignatureFormat.Cosign, SignatureVerifier.Classify(manifest));
        var trust = SignatureTrust.FromKeys(new TrustedKey("mine", key.PublicKey));
        Assert.True(SignatureVerifier.Verify(manifest, Blobs(artifact), Image, trust, TestData.Now).IsValid);
        Assert.Equal(SignatureFailure.WrongDigest, SignatureVerifier.Verify(manifest, Blobs(artifact), TestData.RandomDigest(), trust, TestData.Now).Failure);
    }

    [Fact]
    public void Sign_BerthSignature_VerifiesWithOpenSsl()
    {
        using var folder = new TempFolder();
        using var key = SigningPrivateKey.GenerateEcdsaP256();
        var signature = CosignSigner.Sign(key, "registry.example/team/app", Image);
        var publicPath = folder.Write("k.pub", key.PublicKey.ToPem());
        var payloadPath = folder.Write("payload.json", signature.Payload);
        var signaturePath = folder.Write("payload.sig", Convert.FromBase64String(signature.SignatureBase64));

        var output = System.Text.Encoding.ASCII.GetString(Tool.OpenSsl(folder.Path, "dgst", "-sha256", "-verify", publicPath, "-signature", signaturePath, payloadPath));

        Assert.Contains("Verified OK", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sha256-f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268.sig", "sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268")]
    [InlineData("sha256-F20C.sig", null)]
    [InlineData("latest", null)]
    [InlineData("sha256-f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268.att", null)]
    public void SignatureTag_RoundTrips(string tag, string? digest)
    {
        Assert.Equal(digest, CosignFormat.DigestOfSignatureTag(tag)?.ToString());
        if (digest is not null)
        {
            Assert.Equal(tag, CosignFormat.SignatureTag(Digest.Parse(digest)));
        }
    }

    internal static Dictionary<Digest, ReadOnlyMemory<byte>> Blobs(SignatureArtifact artifact) =>
        artifact.Blobs.ToDictionary(b => b.Digest, b => (ReadOnlyMemory<byte>)b.Content);
}
