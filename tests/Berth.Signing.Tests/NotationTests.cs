using System.Formats.Asn1;
using System.Text;
using Berth.Oci;
using Berth.Signing.Notation;
using Berth.Signing.Tests.Support;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Signing.Tests;

/// <summary>notation JWS envelopes written per notation's published format, signed by openssl with openssl-made certificates.</summary>
public sealed class NotationTests : IDisposable
{
    private static readonly Digest Image = Digest.Compute(DigestAlgorithm.Sha256, "notation image"u8);
    private readonly TempFolder _folder = new();
    private readonly OpenSslCertificates _ca;

    public NotationTests()
    {
        _ca = new OpenSslCertificates(_folder);
    }

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("ES256", "p256")]
    [InlineData("PS256", "rsa")]
    public void Verify_OpenSslSignedEnvelope_IsValid(string alg, string kind)
    {
        var envelope = Envelope(alg, kind, Image);

        var verdict = NotationVerifier.Verify(envelope, Image, Trust("x509.subject: C=US, O=Berth Test"), DateTimeOffset.UtcNow);

        Assert.True(verdict.IsValid, verdict.ToString());
        Assert.Equal("notation-root", verdict.TrustName);
    }

    [Fact]
    public void Verify_ThroughTheSignatureManifest_IsValid()
    {
        var envelope = Envelope("ES256", "p256", Image);
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"artifactType\":\"{NotationFormat.ArtifactType}\"," +
            $"\"config\":{{\"mediaType\":\"{MediaTypes.OciEmpty}\",\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2}}," +
            $"\"layers\":[{{\"mediaType\":\"{NotationFormat.JwsMediaType}\",\"digest\":\"{Digest.Compute(DigestAlgorithm.Sha256, envelope)}\",\"size\":{envelope.Length}}}]," +
            $"\"subject\":{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{Image}\",\"size\":100}}}}");

        var parsed = Manifest.TryParse(manifest, MediaTypes.OciManifest, out _)!;
        var verdict = SignatureVerifier.Verify(parsed, TestData.Blobs(envelope), Image, Trust("*"), DateTimeOffset.UtcNow);

        Assert.Equal(SignatureFormat.Notation, SignatureVerifier.Classify(parsed));
        Assert.True(verdict.IsValid, verdict.ToString());
    }

    [Fact]
    public void Verify_OtherDigest_IsWrongDigest()
    {
        Assert.Equal(SignatureFailure.WrongDigest, NotationVerifier.Verify(Envelope("ES256", "p256", TestData.RandomDigest()), Image, Trust("*"), DateTimeOffset.UtcNow).Failure);
    }

    [Fact]
    public void Verify_TrustedIdentityMismatch_IsIdentityMismatch()
    {
        Assert.Equal(SignatureFailure.IdentityMismatch, NotationVerifier.Verify(Envelope("ES256", "p256", Image), Image, Trust("x509.subject: C=US, O=Acme, CN=release"), DateTimeOffset.UtcNow).Failure);
    }

    [Fact]
    public void Verify_UntrustedRoot_IsNotChained()
    {
        using var other = new TempFolder();
        var trust = SignatureTrust.FromRoots(new TrustedRoot("other", new OpenSslCertificates(other, "other").Root, IdentityConstraint.Any));

        Assert.Equal(SignatureFailure.CertificateNotChained, NotationVerifier.Verify(Envelope("ES256", "p256", Image), Image, trust, DateTimeOffset.UtcNow).Failure);
    }

    [Fact]
    public void Verify_LeafExpired_IsCertificateExpired()
    {
        Assert.Equal(SignatureFailure.CertificateExpired, NotationVerifier.Verify(Envelope("ES256", "p256", Image, days: 1), Image, Trust("*"), DateTimeOffset.UtcNow.AddDays(5)).Failure);
    }

    [Fact]
    public void Verify_SignatureExpiryPassed_IsRefused()
    {
        var envelope = Envelope("ES256", "p256", Image, expiry: DateTimeOffset.UtcNow.AddHours(1));

        Assert.True(NotationVerifier.Verify(envelope, Image, Trust("*"), DateTimeOffset.UtcNow).IsValid);
        Assert.Equal(SignatureFailure.CertificateExpired, NotationVerifier.Verify(envelope, Image, Trust("*"), DateTimeOffset.UtcNow.AddHours(2)).Failure);
    }

    [Fact]
    public void Verify_TamperedPayload_IsBadSignature()
    {
        var envelope = Encoding.UTF8.GetString(Envelope("ES256", "p256", Image));
        using var json = System.Text.Json.JsonDocument.Parse(envelope);
        var payload = json.RootElement.GetProperty("payload").GetString()!;
        var forged = Base64Url(Encoding.UTF8.GetBytes($"{{\"targetArtifact\":{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{TestData.RandomDigest()}\",\"size\":1}}}}"));

        var verdict = NotationVerifier.Verify(Encoding.UTF8.GetBytes(envelope.Replace(payload, forged, StringComparison.Ordinal)), Image, Trust("*"), DateTimeOffset.UtcNow);

        Assert.Equal(SignatureFailure.BadSignature, verdict.Failure);
    }

    [Fact]
    public void Verify_UnknownCriticalHeader_IsMalformed()
    {
        var envelope = Envelope("ES256", "p256", Image, extraCritical: "io.example.unknown");

        Assert.Equal(SignatureFailure.Malformed, NotationVerifier.Verify(envelope, Image, Trust("*"), DateTimeOffset.UtcNow).Failure);
    }

    [Fact]
    public void Verify_AlgorithmNotMatchingTheKey_IsBadSignature()
    {
        // The header claims PS256 but the key is ECDSA: the signature cannot verify with the certificate's key.
        var envelope = Envelope("ES256", "p256", Image, claimedAlg: "PS256");

        Assert.Equal(SignatureFailure.BadSignature, NotationVerifier.Verify(envelope, Image, Trust("*"), DateTimeOffset.UtcNow).Failure);
    }

    private SignatureTrust Trust(string rule) => SignatureTrust.FromRoots(new TrustedRoot("notation-root", _ca.Root, IdentityConstraint.Parse([rule])));

    private byte[] Envelope(string alg, string kind, Digest target, int days = 365, DateTimeOffset? expiry = null, string? extraCritical = null, string? claimedAlg = null)
    {
        var name = "notation-" + Guid.NewGuid().ToString("N")[..8];
        var (key, certificatePath) = _ca.IssueLeaf(name, $"/C=US/O=Berth Test/CN={name}", null, days, kind);
        var critical = "\"io.cncf.notary.signingScheme\"" + (expiry is null ? string.Empty : ",\"io.cncf.notary.expiry\"") + (extraCritical is null ? string.Empty : $",\"{extraCritical}\"");
        var header = $"{{\"alg\":\"{claimedAlg ?? alg}\",\"crit\":[{critical}],\"cty\":\"{NotationFormat.PayloadContentType}\"," +
            $"\"io.cncf.notary.signingScheme\":\"notary.x509\",\"io.cncf.notary.signingTime\":\"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\"" +
            (expiry is null ? string.Empty : $",\"io.cncf.notary.expiry\":\"{expiry:yyyy-MM-ddTHH:mm:ssZ}\"") +
            (extraCritical is null ? string.Empty : $",\"{extraCritical}\":\"x\"") + "}";
        var payload = $"{{\"targetArtifact\":{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{target}\",\"size\":100}}}}";
        var protectedText = Base64Url(Encoding.UTF8.GetBytes(header));
        var payloadText = Base64Url(Encoding.UTF8.GetBytes(payload));
        var input = _folder.Write(name + ".input", Encoding.ASCII.GetBytes(protectedText + "." + payloadText));
        var signaturePath = input + ".sig";
        if (alg == "PS256")
        {
            Tool.OpenSsl(_folder.Path, "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sign", key, "-out", signaturePath, input);
        }
        else
        {
            Tool.OpenSsl(_folder.Path, "dgst", "-sha256", "-sign", key, "-out", signaturePath, input);
        }

        var signature = File.ReadAllBytes(signaturePath);
        if (alg == "ES256")
        {
            signature = DerToP1363(signature, 32);
        }

        var leaf = Convert.ToBase64String(Tool.OpenSsl(_folder.Path, "x509", "-in", certificatePath, "-outform", "DER"));
        var intermediate = Convert.ToBase64String(Tool.OpenSsl(_folder.Path, "x509", "-in", _ca.IntermediatePath, "-outform", "DER"));
        return Encoding.UTF8.GetBytes(
            $"{{\"payload\":\"{payloadText}\",\"protected\":\"{protectedText}\",\"header\":{{\"x5c\":[\"{leaf}\",\"{intermediate}\"],\"io.cncf.notary.signingAgent\":\"openssl\"}},\"signature\":\"{Base64Url(signature)}\"}}");
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>JWS ES256 carries r||s; openssl writes the ASN.1 SEQUENCE of two INTEGERs.</summary>
    private static byte[] DerToP1363(byte[] der, int size)
    {
        var sequence = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var r = sequence.ReadIntegerBytes().ToArray().SkipWhile(b => b == 0).ToArray();
        var s = sequence.ReadIntegerBytes().ToArray().SkipWhile(b => b == 0).ToArray();
        var result = new byte[size * 2];
        r.CopyTo(result, size - r.Length);
        s.CopyTo(result, (size * 2) - s.Length);
        return result;
    }
}
