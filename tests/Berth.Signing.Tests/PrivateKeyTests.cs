using System.Text;
using System.Text.Json;
using Berth.Signing.Keys;
using Berth.Signing.Tests.Support;

namespace Berth.Signing.Tests;

public sealed class PrivateKeyTests
{
    [Fact]
    public void FromPem_RealCosignKeyWithEmptyPassword_Decrypts()
    {
        using var key = SigningPrivateKey.FromPem(TestData.Text("cosign-empty-password.key"), string.Empty);

        Assert.Equal(KeyAlgorithm.EcdsaP256, key.Algorithm);
        var data = Encoding.UTF8.GetBytes("payload");
        Assert.True(key.PublicKey.VerifyData(data, key.Sign(data)));
    }

    [Fact]
    public void FromPem_RealCosignKeyWithWrongPassword_SaysWrongPassphrase()
    {
        var error = Assert.Throws<KeyFormatException>(() => SigningPrivateKey.FromPem(TestData.Text("cosign-empty-password.key"), "not-it"));

        Assert.Contains("wrong passphrase", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPem_EncryptedKeyWithoutPassphrase_SaysOneIsNeeded()
    {
        var error = Assert.Throws<KeyFormatException>(() => SigningPrivateKey.FromPem(TestData.Text("cosign-empty-password.key"), null));

        Assert.Contains("passphrase", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToCosignPem_RoundTrips_InCosignsFormat()
    {
        using var key = SigningPrivateKey.GenerateEcdsaP256();

        var pem = key.ToCosignPem("correct horse");

        Assert.StartsWith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----", pem, StringComparison.Ordinal);
        var body = pem.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).Aggregate(string.Empty, string.Concat);
        using var json = JsonDocument.Parse(Convert.FromBase64String(body));
        var root = json.RootElement;
        Assert.Equal("scrypt", root.GetProperty("kdf").GetProperty("name").GetString());
        Assert.Equal(32768, root.GetProperty("kdf").GetProperty("params").GetProperty("N").GetInt32());
        Assert.Equal(8, root.GetProperty("kdf").GetProperty("params").GetProperty("r").GetInt32());
        Assert.Equal(1, root.GetProperty("kdf").GetProperty("params").GetProperty("p").GetInt32());
        Assert.Equal(32, root.GetProperty("kdf").GetProperty("salt").GetBytesFromBase64().Length);
        Assert.Equal("nacl/secretbox", root.GetProperty("cipher").GetProperty("name").GetString());
        Assert.Equal(24, root.GetProperty("cipher").GetProperty("nonce").GetBytesFromBase64().Length);

        using var back = SigningPrivateKey.FromPem(pem, "correct horse");
        Assert.Equal(key.PublicKey.KeyId, back.PublicKey.KeyId);
        Assert.Throws<KeyFormatException>(() => SigningPrivateKey.FromPem(pem, "correct horse "));
    }

    [Fact]
    public void ToCosignPem_PlaintextIsPkcs8ThatOpenSslReads()
    {
        // Open the box with our code, hand the PKCS#8 to openssl: it must derive the same public key.
        using var folder = new TempFolder();
        using var key = SigningPrivateKey.GenerateEcdsaP256();
        var pkcs8Path = folder.Write("key.pem", key.ToPkcs8Pem());

        var publicPem = Encoding.ASCII.GetString(Tool.OpenSsl(folder.Path, "pkey", "-in", pkcs8Path, "-pubout"));

        Assert.Equal(key.PublicKey.KeyId, SigningPublicKey.FromPem(publicPem).KeyId);
    }

    [Fact]
    public void FromPem_OpenSslEncryptedPkcs8_ReadsWithPassphraseAndRefusesAWrongOne()
    {
        using var folder = new TempFolder();
        var (privatePath, publicPath) = OpenSslKeys.Generate(folder, "p256", "k");
        var encrypted = folder.File("k.enc.pem");
        Tool.OpenSsl(folder.Path, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", privatePath, "-passout", "pass:s3cret", "-out", encrypted);

        using var key = SigningPrivateKey.FromPem(File.ReadAllText(encrypted), "s3cret");

        Assert.Equal(SigningPublicKey.FromPem(File.ReadAllText(publicPath)).KeyId, key.PublicKey.KeyId);
        var error = Assert.Throws<KeyFormatException>(() => SigningPrivateKey.FromPem(File.ReadAllText(encrypted), "wrong"));
        Assert.Contains("wrong passphrase", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("p256", KeyAlgorithm.EcdsaP256)]
    [InlineData("p384", KeyAlgorithm.EcdsaP384)]
    [InlineData("rsa", KeyAlgorithm.Rsa)]
    [InlineData("ed25519", KeyAlgorithm.Ed25519)]
    public void FromPem_OpenSslPlainPkcs8_SignsWhatOpenSslVerifies(string kind, KeyAlgorithm algorithm)
    {
        using var folder = new TempFolder();
        var (privatePath, publicPath) = OpenSslKeys.Generate(folder, kind, "k");
        using var key = SigningPrivateKey.FromPem(File.ReadAllText(privatePath), null);
        var data = Encoding.UTF8.GetBytes("hello");
        var dataPath = folder.Write("data", data);
        var signaturePath = folder.Write("data.sig", key.Sign(data));

        Assert.Equal(algorithm, key.Algorithm);
        if (kind == "ed25519")
        {
            Tool.OpenSsl(folder.Path, "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", publicPath, "-in", dataPath, "-sigfile", signaturePath);
        }
        else
        {
            Tool.OpenSsl(folder.Path, "dgst", "-sha256", "-verify", publicPath, "-signature", signaturePath, dataPath);
        }
    }

    // The last case asks scrypt for N = 2^30 (128 GiB of memory): refused before any is taken.
    [Theory]
    [InlineData("not a key at all")]
    [InlineData("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IGEga2V5\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjoxMDczNzQxODI0LCJyIjo4LCJwIjoxfSwic2FsdCI6IkFBQUEifSwiY2lwaGVyIjp7Im5hbWUiOiJuYWNsL3NlY3JldGJveCIsIm5vbmNlIjoiQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUEifSwiY2lwaGVydGV4dCI6IkFBQUEifQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")]
    public void FromPem_Garbage_IsAKeyFormatException(string pem)
    {
        Assert.Throws<KeyFormatException>(() => SigningPrivateKey.FromPem(pem, "x"));
    }
}
