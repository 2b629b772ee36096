using Berth.Signing.Keys;
using Berth.Signing.Tests.Support;

namespace Berth.Signing.Tests;

public sealed class PublicKeyTests
{
    [Theory]
    [InlineData("p256", KeyAlgorithm.EcdsaP256)]
    [InlineData("p384", KeyAlgorithm.EcdsaP384)]
    [InlineData("rsa", KeyAlgorithm.Rsa)]
    [InlineData("ed25519", KeyAlgorithm.Ed25519)]
    public void FromPem_OpenSslPublicKeys_AreRead(string kind, KeyAlgorithm algorithm)
    {
        using var folder = new TempFolder();
        var (_, publicPath) = OpenSslKeys.Generate(folder, kind, "k");
        var der = Tool.OpenSsl(folder.Path, "pkey", "-pubin", "-in", publicPath, "-outform", "DER");

        var key = SigningPublicKey.FromPem(File.ReadAllText(publicPath));

        Assert.Equal(algorithm, key.Algorithm);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(der)), key.KeyId);
        Assert.Equal(key.KeyId, SigningPublicKey.FromPem(key.ToPem()).KeyId);
    }

    [Fact]
    public void FromPem_Certificate_ReadsItsPublicKey()
    {
        using var folder = new TempFolder();
        var certificates = new OpenSslCertificates(folder);

        var key = SigningPublicKey.FromPem(File.ReadAllText(certificates.RootPath));

        Assert.Equal(SigningPublicKey.FromCertificate(certificates.Root).KeyId, key.KeyId);
    }

    [Fact]
    public void FromPem_UnsupportedCurve_SaysWhichAreSupported()
    {
        using var folder = new TempFolder();
        var privatePath = folder.File("k.key");
        Tool.OpenSsl(folder.Path, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1", "-out", privatePath);
        var publicPem = System.Text.Encoding.ASCII.GetString(Tool.OpenSsl(folder.Path, "pkey", "-in", privatePath, "-pubout"));

        var error = Assert.Throws<KeyFormatException>(() => SigningPublicKey.FromPem(publicPem));

        Assert.Contains("P-256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPem_SmallRsaKey_IsRefused()
    {
        using var folder = new TempFolder();
        var privatePath = folder.File("k.key");
        Tool.OpenSsl(folder.Path, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", privatePath);
        var publicPem = System.Text.Encoding.ASCII.GetString(Tool.OpenSsl(folder.Path, "pkey", "-in", privatePath, "-pubout"));

        Assert.Throws<KeyFormatException>(() => SigningPublicKey.FromPem(publicPem));
    }

    [Theory]
    [InlineData("")]
    [InlineData("hello")]
    [InlineData("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n")]
    [InlineData("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n")]
    [InlineData("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n")]
    public void FromPem_Garbage_IsAKeyFormatException(string pem)
    {
        Assert.Throws<KeyFormatException>(() => SigningPublicKey.FromPem(pem));
    }

    [Fact]
    public void FromPem_HugeText_IsRefused()
    {
        Assert.Throws<KeyFormatException>(() => SigningPublicKey.FromPem(new string('A', 10 * 1024 * 1024)));
    }

    [Theory]
    [InlineData("p256")]
    [InlineData("p384")]
    [InlineData("rsa")]
    [InlineData("ed25519")]
    public void Verify_RandomSignatureBytes_AreFalseNeverAnException(string kind)
    {
        using var folder = new TempFolder();
        var (_, publicPath) = OpenSslKeys.Generate(folder, kind, "k");
        var key = SigningPublicKey.FromPem(File.ReadAllText(publicPath));
        var data = "data"u8.ToArray();

        foreach (var length in new[] { 0, 1, 8, 63, 64, 70, 71, 72, 96, 104, 256, 512, 4096 })
        {
            var signature = System.Security.Cryptography.RandomNumberGenerator.GetBytes(length);
            Assert.False(key.VerifyData(data, signature));
            Assert.False(key.VerifySha256Hash(System.Security.Cryptography.SHA256.HashData(data), signature));
            foreach (var alg in new[] { "ES256", "ES384", "PS256", "RS512", "EdDSA", "none", "HS256" })
            {
                Assert.False(key.VerifyJws(alg, data, signature));
            }
        }
    }
}
