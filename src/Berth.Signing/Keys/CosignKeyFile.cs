using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Org.BouncyCastle.Crypto.Generators;

namespace Berth.Signing.Keys;

/// <summary>
/// cosign's encrypted private key file: PEM <c>ENCRYPTED SIGSTORE PRIVATE KEY</c> (older cosign: <c>ENCRYPTED COSIGN
/// PRIVATE KEY</c>) around the JSON <c>{"kdf":{"name":"scrypt","params":{"N","r","p"},"salt"},"cipher":{"name":
/// "nacl/secretbox","nonce"},"ciphertext"}</c> (binary fields in standard base64); the key is scrypt(passphrase, salt)
/// and the ciphertext is the secretbox of the PKCS#8 DER of the private key.
/// </summary>
internal static class CosignKeyFile
{
    public const string PemLabel = "ENCRYPTED SIGSTORE PRIVATE KEY";
    public const string LegacyPemLabel = "ENCRYPTED COSIGN PRIVATE KEY";

    private const int DefaultN = 32768;
    private const int DefaultR = 8;
    private const int DefaultP = 1;

    /// <summary>
    /// Most memory scrypt may take for a key file (128 · r · N bytes): 256 MiB, eight times cosign's default
    /// (N = 32768, r = 8: 32 MiB), so a hostile file cannot make the reader allocate gigabytes.
    /// </summary>
    private const long MaxScryptMemory = 256L * 1024 * 1024;

    public static string Encrypt(ReadOnlySpan<byte> pkcs8, string passphrase)
    {
        var salt = RandomNumberGenerator.GetBytes(32);
        var nonce = RandomNumberGenerator.GetBytes(SecretBox.NonceSize);
        var key = DeriveKey(passphrase, salt, DefaultN, DefaultR, DefaultP);
        var ciphertext = SecretBox.Seal(key, nonce, pkcs8);
        CryptographicOperations.ZeroMemory(key);

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("kdf");
            json.WriteString("name", "scrypt");
            json.WriteStartObject("params");
            json.WriteNumber("N", DefaultN);
            json.WriteNumber("r", DefaultR);
            json.WriteNumber("p", DefaultP);
            json.WriteEndObject();
            json.WriteBase64String("salt", salt);
            json.WriteEndObject();
            json.WriteStartObject("cipher");
            json.WriteString("name", "nacl/secretbox");
            json.WriteBase64String("nonce", nonce);
            json.WriteEndObject();
            json.WriteBase64String("ciphertext", ciphertext);
            json.WriteEndObject();
        }

        return PemEncoding.WriteString(PemLabel, buffer.ToArray()) + "\n";
    }

    /// <summary>The PKCS#8 DER; <see cref="KeyFormatException"/> for a malformed file or a wrong passphrase.</summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> document, string passphrase)
    {
        byte[] salt, nonce, ciphertext;
        int n, r, p;
        try
        {
            using var json = JsonDocument.Parse(document.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
            var root = json.RootElement;
            var kdf = root.GetProperty("kdf");
            var cipher = root.GetProperty("cipher");
            if (kdf.GetProperty("name").GetString() != "scrypt" || cipher.GetProperty("name").GetString() != "nacl/secretbox")
            {
                throw new KeyFormatException("unsupported encrypted key: cosign keys use scrypt and nacl/secretbox");
            }

            var parameters = kdf.GetProperty("params");
            n = parameters.GetProperty("N").GetInt32();
            r = parameters.GetProperty("r").GetInt32();
            p = parameters.GetProperty("p").GetInt32();
            salt = kdf.GetProperty("salt").GetBytesFromBase64();
            nonce = cipher.GetProperty("nonce").GetBytesFromBase64();
            ciphertext = root.GetProperty("ciphertext").GetBytesFromBase64();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new KeyFormatException("the encrypted cosign key is malformed", ex);
        }

        if (n < 2 || (n & (n - 1)) != 0 || r is < 1 or > 32 || p is < 1 or > 16 || 128L * r * n > MaxScryptMemory || nonce.Length != SecretBox.NonceSize || salt.Length is 0 or > 1024)
        {
            throw new KeyFormatException("the encrypted cosign key has parameters out of range");
        }

        var key = DeriveKey(passphrase, salt, n, r, p);
        var plaintext = SecretBox.Open(key, nonce, ciphertext);
        CryptographicOperations.ZeroMemory(key);
        return plaintext ?? throw new KeyFormatException("wrong passphrase for the encrypted private key (or the key file was altered)");
    }

    private static byte[] DeriveKey(string passphrase, byte[] salt, int n, int r, int p) =>
        SCrypt.Generate(Encoding.UTF8.GetBytes(passphrase), salt, n, r, p, SecretBox.KeySize);
}
