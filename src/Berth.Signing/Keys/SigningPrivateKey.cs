using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace Berth.Signing.Keys;

/// <summary>
/// A private key that signs (ECDSA P-256/P-384, RSA, Ed25519), kept as PKCS#8 DER. Signatures are the ones cosign
/// makes: ECDSA with SHA-256 as ASN.1 DER, RSA PKCS#1 v1.5 with SHA-256, Ed25519 over the data.
/// </summary>
public sealed class SigningPrivateKey : IDisposable
{
    private readonly byte[] _pkcs8;

    private SigningPrivateKey(byte[] pkcs8, SigningPublicKey publicKey)
    {
        _pkcs8 = pkcs8;
        PublicKey = publicKey;
    }

    public SigningPublicKey PublicKey { get; }

    public KeyAlgorithm Algorithm => PublicKey.Algorithm;

    /// <summary>A new ECDSA P-256 key pair (what <c>cosign generate-key-pair</c> makes).</summary>
    public static SigningPrivateKey GenerateEcdsaP256()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return FromPkcs8(ecdsa.ExportPkcs8PrivateKey());
    }

    /// <summary>
    /// Reads a private key PEM: cosign's <c>ENCRYPTED SIGSTORE PRIVATE KEY</c> (and the older <c>ENCRYPTED COSIGN PRIVATE
    /// KEY</c>), a PKCS#8 <c>ENCRYPTED PRIVATE KEY</c>, or a plain <c>PRIVATE KEY</c> / <c>EC PRIVATE KEY</c>.
    /// <paramref name="passphrase"/> is needed for the encrypted forms (cosign's may be empty). Throws
    /// <see cref="KeyFormatException"/> naming the problem, "wrong passphrase" included.
    /// </summary>
    public static SigningPrivateKey FromPem(string pem, string? passphrase)
    {
        ArgumentNullException.ThrowIfNull(pem);
        foreach (var (label, der) in PemBlocks.Read(pem))
        {
            switch (label)
            {
                case CosignKeyFile.PemLabel:
                case CosignKeyFile.LegacyPemLabel:
                    return FromPkcs8(CosignKeyFile.Decrypt(der, passphrase ?? throw new KeyFormatException("the private key is encrypted: a passphrase is needed")));
                case "ENCRYPTED PRIVATE KEY":
                    return FromPkcs8(DecryptPkcs8(der, passphrase ?? throw new KeyFormatException("the private key is encrypted: a passphrase is needed")));
                case "PRIVATE KEY":
                    return FromPkcs8(der);
                case "EC PRIVATE KEY":
                    using (var ecdsa = ECDsa.Create())
                    {
                        try
                        {
                            ecdsa.ImportECPrivateKey(der, out _);
                        }
                        catch (CryptographicException ex)
                        {
                            throw new KeyFormatException("the EC private key cannot be read", ex);
                        }

                        return FromPkcs8(ecdsa.ExportPkcs8PrivateKey());
                    }
            }
        }

        throw new KeyFormatException("no private key block in the PEM text");
    }

    /// <summary>The key in cosign's encrypted format (scrypt N=32768, r=8, p=1; nacl/secretbox), readable by cosign.</summary>
    public string ToCosignPem(string passphrase)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        return CosignKeyFile.Encrypt(_pkcs8, passphrase);
    }

    /// <summary>The key as plain PKCS#8 <c>PRIVATE KEY</c> PEM (unencrypted: for tests and tools that need it).</summary>
    public string ToPkcs8Pem() => PemEncoding.WriteString("PRIVATE KEY", _pkcs8) + "\n";

    /// <summary>Signs <paramref name="data"/>: ECDSA SHA-256 DER, RSA PKCS#1 v1.5 SHA-256, or Ed25519.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        switch (Algorithm)
        {
            case KeyAlgorithm.EcdsaP256:
            case KeyAlgorithm.EcdsaP384:
                using (var ecdsa = ECDsa.Create())
                {
                    ecdsa.ImportPkcs8PrivateKey(_pkcs8, out _);
                    return ecdsa.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
                }

            case KeyAlgorithm.Rsa:
                using (var rsa = RSA.Create())
                {
                    rsa.ImportPkcs8PrivateKey(_pkcs8, out _);
                    return rsa.SignData(data.ToArray(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                }

            default:
                var signer = new Ed25519Signer();
                signer.Init(true, (Ed25519PrivateKeyParameters)PrivateKeyFactory.CreateKey(_pkcs8));
                signer.BlockUpdate(data);
                return signer.GenerateSignature();
        }
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_pkcs8);

    private static SigningPrivateKey FromPkcs8(byte[] pkcs8)
    {
        AsymmetricKeyParameter key;
        try
        {
            key = PrivateKeyFactory.CreateKey(pkcs8);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or SecurityUtilityException or InvalidCastException)
        {
            throw new KeyFormatException("not a PKCS#8 private key", ex);
        }

        var publicKey = key switch
        {
            ECPrivateKeyParameters => PublicFromDotNet(pkcs8, ecdsa: true),
            RsaPrivateCrtKeyParameters => PublicFromDotNet(pkcs8, ecdsa: false),
            Ed25519PrivateKeyParameters ed => SigningPublicKey.FromSubjectPublicKeyInfo(
                Org.BouncyCastle.X509.SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(ed.GeneratePublicKey()).GetDerEncoded()),
            _ => throw new KeyFormatException("unsupported private key algorithm; ECDSA, RSA and Ed25519 are supported"),
        };
        return new SigningPrivateKey(pkcs8, publicKey);
    }

    private static SigningPublicKey PublicFromDotNet(byte[] pkcs8, bool ecdsa)
    {
        try
        {
            if (ecdsa)
            {
                using var key = ECDsa.Create();
                key.ImportPkcs8PrivateKey(pkcs8, out _);
                return SigningPublicKey.FromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo());
            }

            using var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(pkcs8, out _);
            return SigningPublicKey.FromSubjectPublicKeyInfo(rsa.ExportSubjectPublicKeyInfo());
        }
        catch (CryptographicException ex)
        {
            throw new KeyFormatException("the private key cannot be read: " + ex.Message, ex);
        }
    }

    private static byte[] DecryptPkcs8(byte[] der, string passphrase)
    {
        try
        {
            return PrivateKeyInfoFactory.CreatePrivateKeyInfo(passphrase.ToCharArray(), EncryptedPrivateKeyInfo.GetInstance(der)).GetDerEncoded();
        }
        catch (Exception ex) when (ex is not KeyFormatException and not OutOfMemoryException)
        {
            throw new KeyFormatException("wrong passphrase for the encrypted private key (or the key file is malformed)", ex);
        }
    }
}
