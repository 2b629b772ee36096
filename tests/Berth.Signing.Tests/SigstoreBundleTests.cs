using System.Security.Cryptography;
using System.Text;
using Berth.Oci;
using Berth.Signing.Keys;
using Berth.Signing.Sigstore;
using Berth.Signing.Tests.Support;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Signing.Tests;

/// <summary>Bundles made offline by npm's @sigstore/sign (key pair, no transparency log), keys by openssl.</summary>
public sealed class SigstoreBundleTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [SigstoreFact]
    public void MessageSignature_OverTheManifest_IsValid()
    {
        var (manifest, digest) = ImageManifest();
        var (privatePath, publicPath, trust) = Key("p256");

        var bundle = SigstoreModules.MakeBundle(_folder, "message", privatePath, publicPath, manifest, Hint(publicPath));
        var verdict = SigstoreBundleVerifier.Verify(bundle, digest, trust, DateTimeOffset.UtcNow);

        Assert.True(verdict.IsValid, verdict.ToString());
        Assert.Equal("bundle-key", verdict.TrustName);
    }

    [SigstoreFact]
    public void MessageSignature_OfAnotherManifest_IsWrongDigest()
    {
        var (manifest, _) = ImageManifest();
        var (privatePath, publicPath, trust) = Key("p256");

        var bundle = SigstoreModules.MakeBundle(_folder, "message", privatePath, publicPath, manifest, null);

        Assert.Equal(SignatureFailure.WrongDigest, SigstoreBundleVerifier.Verify(bundle, TestData.RandomDigest(), trust, DateTimeOffset.UtcNow).Failure);
    }

    [SigstoreFact]
    public void MessageSignature_Rsa_IsValid()
    {
        var (manifest, digest) = ImageManifest();
        var (privatePath, publicPath, trust) = Key("rsa");

        var bundle = SigstoreModules.MakeBundle(_folder, "message", privatePath, publicPath, manifest, null);

        Assert.True(SigstoreBundleVerifier.Verify(bundle, digest, trust, DateTimeOffset.UtcNow).IsValid);
    }

    [SigstoreFact]
    public void Dsse_InTotoStatementNamingTheImage_IsValid()
    {
        var (_, digest) = ImageManifest();
        var (privatePath, publicPath, trust) = Key("p256");

        var bundle = SigstoreModules.MakeBundle(_folder, "dsse", privatePath, publicPath, Statement(digest), Hint(publicPath));
        var verdict = SigstoreBundleVerifier.Verify(bundle, digest, trust, DateTimeOffset.UtcNow);

        Assert.True(verdict.IsValid, verdict.ToString());
    }

    [SigstoreFact]
    public void Dsse_Ed25519_IsValid()
    {
        var (_, digest) = ImageManifest();
        var (privatePath, publicPath, trust) = Key("ed25519");

        var bundle = SigstoreModules.MakeBundle(_folder, "dsse", privatePath, publicPath, Statement(digest), null);

        Assert.True(SigstoreBundleVerifier.Verify(bundle, digest, trust, DateTimeOffset.UtcNow).IsValid);
    }

    [SigstoreFact]
    public void Dsse_StatementAboutAnotherImage_IsWrongDigest()
    {
        var (_, digest) = ImageManifest();
        var (privatePath, publicPath, trust) = Key("p256");

        var bundle = SigstoreModules.MakeBundle(_folder, "dsse", privatePath, publicPath, Statement(TestData.RandomDigest()), null);

        Assert.Equal(SignatureFailure.WrongDigest, SigstoreBundleVerifier.Verify(bundle, digest, trust, DateTimeOffset.UtcNow).Failure);
    }

    [SigstoreFact]
    public void Dsse_TamperedPayload_IsRefused()
    {
        var (_, digest) = ImageManifest();
        var (privatePath, publicPath, trust) = Key("p256");
        var bundle = Encoding.UTF8.GetString(SigstoreModules.MakeBundle(_folder, "dsse", privatePath, publicPath, Statement(TestData.RandomDigest()), Hint(publicPath)));
        using var json = System.Text.Json.JsonDocument.Parse(bundle);
        var payload = json.RootElement.GetProperty("dsseEnvelope").GetProperty("payload").GetString()!;

        var tampered = bundle.Replace(payload, Convert.ToBase64String(Statement(digest)), StringComparison.Ordinal);
        var verdict = SigstoreBundleVerifier.Verify(Encoding.UTF8.GetBytes(tampered), digest, trust, DateTimeOffset.UtcNow);

        Assert.Equal(SignatureFailure.BadSignature, verdict.Failure);
    }

    [SigstoreFact]
    public void Bundle_UntrustedKey_IsUntrustedKey()
    {
        var (manifest, digest) = ImageManifest();
        var (privatePath, publicPath, _) = Key("p256");
        var (_, _, otherTrust) = Key("p256");

        var bundle = SigstoreModules.MakeBundle(_folder, "message", privatePath, publicPath, manifest, Hint(publicPath));

        Assert.Equal(SignatureFailure.UntrustedKey, SigstoreBundleVerifier.Verify(bundle, digest, otherTrust, DateTimeOffset.UtcNow).Failure);
    }

    [Fact]
    public void SigstoreModules_WhenMissingUnderCi_FailsWithTheInstallLine()
    {
        // The skip reason (and the CI failure) names the exact install line.
        Assert.Contains("@sigstore/sign@5.1.0", SigstoreModules.InstallLine, StringComparison.Ordinal);
    }

    private static (byte[] Manifest, Digest Digest) ImageManifest()
    {
        var manifest = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"annotations\":{{\"n\":\"{Guid.NewGuid()}\"}}}}");
        return (manifest, Digest.Compute(DigestAlgorithm.Sha256, manifest));
    }

    private static byte[] Statement(Digest digest) => Encoding.UTF8.GetBytes(
        $"{{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{{\"name\":\"image\",\"digest\":{{\"sha256\":\"{digest.Hex}\"}}}}],\"predicateType\":\"https://sigstore.dev/cosign/sign/v1\",\"predicate\":{{}}}}");

    private (string PrivatePath, string PublicPath, SignatureTrust Trust) Key(string kind)
    {
        var (privatePath, publicPath) = OpenSslKeys.Generate(_folder, kind, "bundle-" + Guid.NewGuid().ToString("N")[..8]);
        return (privatePath, publicPath, SignatureTrust.FromKeys(new TrustedKey("bundle-key", SigningPublicKey.FromPem(File.ReadAllText(publicPath)))));
    }

    /// <summary>cosign's hint: base64 of SHA-256 over the SubjectPublicKeyInfo DER, computed here with openssl's DER.</summary>
    private string Hint(string publicPath) =>
        Convert.ToBase64String(SHA256.HashData(Tool.OpenSsl(_folder.Path, "pkey", "-pubin", "-in", publicPath, "-outform", "DER")));
}
