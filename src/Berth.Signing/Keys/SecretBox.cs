using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Parameters;

namespace Berth.Signing.Keys;

/// <summary>
/// NaCl <c>crypto_secretbox</c> (XSalsa20-Poly1305): the XSalsa20 stream's first 32 bytes key Poly1305, the rest is
/// XORed with the message; the sealed form is the 16-byte tag followed by the ciphertext.
/// </summary>
internal static class SecretBox
{
    public const int KeySize = 32;
    public const int NonceSize = 24;
    public const int TagSize = 16;

    public static byte[] Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> message)
    {
        var stream = Stream(key, nonce, out var macKey);
        var sealedBox = new byte[TagSize + message.Length];
        stream.ProcessBytes(message, sealedBox.AsSpan(TagSize));
        Mac(macKey, sealedBox.AsSpan(TagSize), sealedBox.AsSpan(0, TagSize));
        CryptographicOperations.ZeroMemory(macKey);
        return sealedBox;
    }

    /// <summary>The message, or null when the tag does not match (wrong key or altered box).</summary>
    public static byte[]? Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedBox)
    {
        if (sealedBox.Length < TagSize)
        {
            return null;
        }

        var stream = Stream(key, nonce, out var macKey);
        Span<byte> tag = stackalloc byte[TagSize];
        Mac(macKey, sealedBox[TagSize..], tag);
        CryptographicOperations.ZeroMemory(macKey);
        if (!CryptographicOperations.FixedTimeEquals(tag, sealedBox[..TagSize]))
        {
            return null;
        }

        var message = new byte[sealedBox.Length - TagSize];
        stream.ProcessBytes(sealedBox[TagSize..], message);
        return message;
    }

    private static XSalsa20Engine Stream(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, out byte[] macKey)
    {
        if (key.Length != KeySize || nonce.Length != NonceSize)
        {
            throw new ArgumentException("secretbox needs a 32-byte key and a 24-byte nonce");
        }

        var engine = new XSalsa20Engine();
        engine.Init(true, new ParametersWithIV(new KeyParameter(key.ToArray()), nonce.ToArray()));
        macKey = new byte[32];
        engine.ProcessBytes(new byte[32], macKey);
        return engine;
    }

    private static void Mac(byte[] macKey, ReadOnlySpan<byte> data, Span<byte> tag)
    {
        var poly = new Poly1305();
        poly.Init(new KeyParameter(macKey));
        poly.BlockUpdate(data);
        poly.DoFinal(tag);
    }
}
