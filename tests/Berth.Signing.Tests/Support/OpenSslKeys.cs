namespace Berth.Signing.Tests.Support;

/// <summary>Key pairs and signatures made by openssl (not by Berth), in a temporary folder.</summary>
public static class OpenSslKeys
{
    /// <summary>Generates a key pair; <paramref name="kind"/> is p256, p384, rsa or ed25519. Returns (private PEM path, public PEM path).</summary>
    public static (string PrivatePath, string PublicPath) Generate(TempFolder folder, string kind, string name)
    {
        var privatePath = folder.File(name + ".key");
        var publicPath = folder.File(name + ".pub");
        string[] generate = kind switch
        {
            "p256" => ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", privatePath],
            "p384" => ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", privatePath],
            "rsa" => ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", privatePath],
            "ed25519" => ["genpkey", "-algorithm", "ED25519", "-out", privatePath],
            _ => throw new ArgumentException(kind),
        };
        Tool.OpenSsl(folder.Path, generate);
        Tool.OpenSsl(folder.Path, "pkey", "-in", privatePath, "-pubout", "-out", publicPath);
        return (privatePath, publicPath);
    }

    /// <summary>openssl's signature over <paramref name="data"/>: SHA-256 (ASN.1 DER for ECDSA, PKCS#1 v1.5 for RSA), or raw Ed25519.</summary>
    public static byte[] Sign(TempFolder folder, string privatePath, byte[] data, bool ed25519 = false)
    {
        var dataPath = folder.Write("to-sign-" + Guid.NewGuid().ToString("N") + ".bin", data);
        var signaturePath = dataPath + ".sig";
        if (ed25519)
        {
            Tool.OpenSsl(folder.Path, "pkeyutl", "-sign", "-rawin", "-inkey", privatePath, "-in", dataPath, "-out", signaturePath);
        }
        else
        {
            Tool.OpenSsl(folder.Path, "dgst", "-sha256", "-sign", privatePath, "-out", signaturePath, dataPath);
        }

        return File.ReadAllBytes(signaturePath);
    }
}
