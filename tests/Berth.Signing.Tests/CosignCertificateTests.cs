using System.Security.Cryptography.X509Certificates;
using Berth.Oci;
using Berth.Signing.Cosign;
using Berth.Signing.Tests.Support;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Signing.Tests;

/// <summary>cosign signatures carrying a certificate and chain (annotations), all made by openssl.</summary>
public sealed class CosignCertificateTests : IDisposable
{
    private static readonly Digest Image = Digest.Compute(DigestAlgorithm.Sha256, "image"u8);
    private readonly TempFolder _folder = new();
    private readonly OpenSslCertificates _ca;

    public CosignCertificateTests()
    {
        _ca = new OpenSslCertificates(_folder);
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Verify_LeafChainingToTrustedRoot_IsValid()
    {
        var verdict = VerifyWith(SignedBy("ci@example.com"), Trust(IdentityConstraint.Parse(["email:ci@example.com"])));

        Assert.True(verdict.IsValid, verdict.ToString());
        Assert.Equal("team-root", verdict.TrustName);
    }

    [Fact]
    public void Verify_SubjectConstraint_MatchesAsNotationDoes()
    {
        var artifact = SignedBy("ci@example.com");

        Assert.True(VerifyWith(artifact, Trust(IdentityConstraint.Parse(["x509.subject: O=Berth Test, C=US"]))).IsValid);
        Assert.Equal(SignatureFailure.IdentityMismatch, VerifyWith(artifact, Trust(IdentityConstraint.Parse(["x509.subject: C=US, O=Someone Else"]))).Failure);
    }

    [Fact]
    public void Verify_OtherIdentity_IsIdentityMismatch()
    {
        var verdict = VerifyWith(SignedBy("intruder@example.com"), Trust(IdentityConstraint.Parse(["email:ci@example.com", "uri:https://ci.example.com/*"])));

        Assert.Equal(SignatureFailure.IdentityMismatch, verdict.Failure);
    }

    [Fact]
    public void Verify_UriWildcard_Matches()
    {
        var verdict = VerifyWith(SignedBy(null, san: "URI:https://ci.example.com/pipelines/42"), Trust(IdentityConstraint.Parse(["uri:https://ci.example.com/*"])));

        Assert.True(verdict.IsValid, verdict.ToString());
    }

    [Fact]
    public void Verify_AfterTheLeafExpired_IsCertificateExpired()
    {
        var verdict = VerifyWith(SignedBy("ci@example.com", days: 1), Trust(IdentityConstraint.Any), DateTimeOffset.UtcNow.AddDays(3));

        Assert.Equal(SignatureFailure.CertificateExpired, verdict.Failure);
    }

    [Fact]
    public void Verify_OtherRoot_IsNotChained()
    {
        using var otherFolder = new TempFolder();
        var other = new OpenSslCertificates(otherFolder, "other");

        var verdict = VerifyWith(SignedBy("ci@example.com"), SignatureTrust.FromRoots(new TrustedRoot("other-root", other.Root, IdentityConstraint.Any)));

        Assert.Equal(SignatureFailure.CertificateNotChained, verdict.Failure);
    }

    [Fact]
    public void Verify_WithoutTheIntermediate_IsNotChained()
    {
        var verdict = VerifyWith(SignedBy("ci@example.com", includeChain: false), Trust(IdentityConstraint.Any));

        Assert.Equal(SignatureFailure.CertificateNotChained, verdict.Failure);
    }

    [Fact]
    public void Verify_SignatureByAnotherKeyThanTheCertificates_IsBadSignature()
    {
        var (_, certificatePath) = _ca.IssueLeaf("leaf2", "/C=US/O=Berth Test/CN=leaf2", "email:ci@example.com");
        var (otherKey, _) = OpenSslKeys.Generate(_folder, "p256", "not-the-leaf");
        var payload = SimpleSigningPayload.Create("registry.example/app", Image);
        var artifact = CosignSigner.BuildManifest([new CosignSignature(payload, Convert.ToBase64String(OpenSslKeys.Sign(_folder, otherKey, payload)), File.ReadAllText(certificatePath), File.ReadAllText(_ca.IntermediatePath))]);

        Assert.Equal(SignatureFailure.BadSignature, VerifyWith(artifact, Trust(IdentityConstraint.Any)).Failure);
    }

    [Fact]
    public void Verify_ChainLongerThanTen_IsRefused()
    {
        var payload = SimpleSigningPayload.Create("registry.example/app", Image);
        var (key, certificatePath) = _ca.IssueLeaf("leaf3", "/C=US/O=Berth Test/CN=leaf3", "email:ci@example.com");
        var chain = string.Concat(Enumerable.Repeat(File.ReadAllText(_ca.IntermediatePath), 11));
        var artifact = CosignSigner.BuildManifest([new CosignSignature(payload, Convert.ToBase64String(OpenSslKeys.Sign(_folder, key, payload)), File.ReadAllText(certificatePath), chain)]);

        var verdict = VerifyWith(artifact, Trust(IdentityConstraint.Any));

        Assert.False(verdict.IsValid);
        Assert.Equal(SignatureFailure.Malformed, verdict.Failure);
    }

    [Fact]
    public void Verify_GarbageCertificateAnnotation_IsMalformed()
    {
        var payload = SimpleSigningPayload.Create("registry.example/app", Image);
        var artifact = CosignSigner.BuildManifest([new CosignSignature(payload, "MEUCIQ==", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")]);

        Assert.Equal(SignatureFailure.Malformed, VerifyWith(artifact, Trust(IdentityConstraint.Any)).Failure);
    }

    [Theory]
    [InlineData("")]
    [InlineData("x509.subject:")]
    [InlineData("x509.subject: NOPE=1")]
    [InlineData("email:")]
    [InlineData("dns:example.com")]
    public void IdentityConstraint_BadRule_IsAFormatException(string rule)
    {
        Assert.Throws<FormatException>(() => IdentityConstraint.Parse([rule]));
    }

    [Fact]
    public void IdentityConstraint_NoRules_IsRefused()
    {
        Assert.Throws<FormatException>(() => IdentityConstraint.Parse([]));
    }

    private SignatureArtifact SignedBy(string? email, int days = 365, bool includeChain = true, string? san = null)
    {
        var name = "leaf-" + Guid.NewGuid().ToString("N")[..8];
        var (key, certificatePath) = _ca.IssueLeaf(name, $"/C=US/O=Berth Test/CN={name}", san ?? (email is null ? null : "email:" + email), days);
        var payload = SimpleSigningPayload.Create("registry.example/app", Image);
        var signature = Convert.ToBase64String(OpenSslKeys.Sign(_folder, key, payload));
        return CosignSigner.BuildManifest([new CosignSignature(payload, signature, File.ReadAllText(certificatePath), includeChain ? File.ReadAllText(_ca.IntermediatePath) : null)]);
    }

    private SignatureTrust Trust(IdentityConstraint identity) => SignatureTrust.FromRoots(new TrustedRoot("team-root", _ca.Root, identity));

    private static SignatureVerdict VerifyWith(SignatureArtifact artifact, SignatureTrust trust, DateTimeOffset? now = null) =>
        SignatureVerifier.Verify(artifact.Manifest, CosignOpenSslTests.Blobs(artifact), Image, trust, now ?? DateTimeOffset.UtcNow);
}
