using System.Buffers.Text;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Auth.Jwt;

/// <summary>
/// One ES256 (ECDSA P-256, SHA-256) key of a <see cref="SigningKeyRing"/>. Its <see cref="Id"/> (the JWT <c>kid</c>)
/// is the RFC 7638 JWK thumbprint of the public key, so the same key always has the same id on every node.
/// </summary>
public sealed class SigningKey : IDisposable
{
    // The order n of P-256's base point. An ECDSA signature (r, s) is as valid as (r, n - s); only the low form
    // (s <= n/2) is made and accepted here, so every token has exactly one valid signature.
    private static readonly BigInteger Order = BigInteger.Parse(
        "0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static readonly BigInteger HalfOrder = Order >> 1;

    private const int FieldBytes = 32;

    // ECDsa instance members are not documented as thread-safe; a signature takes well under a millisecond,
    // so one lock per key costs little next to a request.
    private readonly Lock _gate = new();
    private readonly ECDsa _key;

    internal SigningKey(int generation, ECDsa key)
    {
        if (key.KeySize != 256 || !IsP256(key.ExportParameters(false).Curve.Oid))
        {
            throw new ArgumentException("Registry token keys must be ECDSA P-256.", nameof(key));
        }

        Generation = generation;
        _key = key;
        Id = Thumbprint(key);
    }

    /// <summary>The <c>kid</c>: base64url RFC 7638 thumbprint of the public key.</summary>
    public string Id { get; }

    /// <summary>Order of creation within the ring: the highest generation signs.</summary>
    public int Generation { get; }

    /// <summary>The public key as PEM (<c>PUBLIC KEY</c>), for verifiers outside Berth.</summary>
    public string ExportPublicKeyPem()
    {
        lock (_gate)
        {
            return _key.ExportSubjectPublicKeyInfoPem();
        }
    }

    public void Dispose() => _key.Dispose();

    internal static SigningKey Generate(int generation) => new(generation, ECDsa.Create(ECCurve.NamedCurves.nistP256));

    internal string ExportPrivateKeyPem()
    {
        lock (_gate)
        {
            return _key.ExportPkcs8PrivateKeyPem();
        }
    }

    /// <summary>
    /// A 32-byte secret for another purpose, derived from this key's private scalar with HKDF-SHA256 and
    /// <paramref name="label"/> as the info (one label per purpose, so no derived secret equals another or the key).
    /// Every node holding the key derives the same secret.
    /// </summary>
    internal byte[] DeriveSecret(string label)
    {
        lock (_gate)
        {
            var parameters = _key.ExportParameters(includePrivateParameters: true);
            try
            {
                return HKDF.DeriveKey(HashAlgorithmName.SHA256, parameters.D!, 32, info: Encoding.UTF8.GetBytes(label));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(parameters.D);
            }
        }
    }

    /// <summary>ES256 signature in the JWS form (r ‖ s, 64 bytes), always with the low s (s ≤ n/2).</summary>
    internal byte[] Sign(ReadOnlySpan<byte> data)
    {
        byte[] signature;
        lock (_gate)
        {
            signature = _key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }

        NormalizeLowS(signature);
        return signature;
    }

    /// <summary>True for a valid low-s signature of <paramref name="data"/>; the high-s twin of a valid signature is refused.</summary>
    internal bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 2 * FieldBytes || IsHighS(signature))
        {
            return false;
        }

        lock (_gate)
        {
            return _key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
    }

    /// <summary>True when the s half of an r ‖ s signature is above n/2.</summary>
    internal static bool IsHighS(ReadOnlySpan<byte> signature) =>
        new BigInteger(signature[FieldBytes..], isUnsigned: true, isBigEndian: true) > HalfOrder;

    /// <summary>Replaces a high s by n − s in place (the same signature in its low form).</summary>
    internal static void NormalizeLowS(Span<byte> signature)
    {
        if (!IsHighS(signature))
        {
            return;
        }

        var low = Order - new BigInteger(signature[FieldBytes..], isUnsigned: true, isBigEndian: true);
        var target = signature[FieldBytes..];
        target.Clear();
        var length = low.GetByteCount(isUnsigned: true);
        if (!low.TryWriteBytes(target[(FieldBytes - length)..], out _, isUnsigned: true, isBigEndian: true))
        {
            throw new CryptographicException("Could not normalise an ECDSA signature.");
        }
    }

    private static bool IsP256(Oid curve)
    {
        var p256 = ECCurve.NamedCurves.nistP256.Oid;
        return (curve.Value is not null && curve.Value == p256.Value) || (curve.Value is null && curve.FriendlyName == p256.FriendlyName);
    }

    private static string Thumbprint(ECDsa key)
    {
        var p = key.ExportParameters(false);
        var jwk = $$"""{"crv":"P-256","kty":"EC","x":"{{Base64Url.EncodeToString(p.Q.X)}}","y":"{{Base64Url.EncodeToString(p.Q.Y)}}"}""";
        return Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(jwk)));
    }
}
