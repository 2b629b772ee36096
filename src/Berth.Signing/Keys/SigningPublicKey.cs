using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using BcSubjectPublicKeyInfo = Org.BouncyCastle.Asn1.X509.SubjectPublicKeyInfo;

namespace Berth.Signing.Keys;

/// <summary>
/// A public key that verifies signatures, kept as its SubjectPublicKeyInfo DER. <see cref="KeyId"/> is
/// <c>sha256:</c> + hex of SHA-256 over that DER: stable across PEM formatting, and the same hash cosign's bundles carry
/// (base64) as the public key hint.
/// </summary>
public sealed class SigningPublicKey
{
    private const string EcOid = "1.2.840.10045.2.1";
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string Ed25519Oid = "1.3.101.112";
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private const string P384Oid = "1.3.132.0.34";

    private readonly byte[] _spki;

    private SigningPublicKey(KeyAlgorithm algorithm, byte[] spki)
    {
        Algorithm = algorithm;
        _spki = spki;
        KeyHash = SHA256.HashData(spki);
        KeyId = "sha256:" + Convert.ToHexStringLower(KeyHash);
    }

    public KeyAlgorithm Algorithm { get; }

    /// <summary><c>sha256:</c> + hex of SHA-256 over the SubjectPublicKeyInfo DER.</summary>
    public string KeyId { get; }

    /// <summary>SHA-256 over the SubjectPublicKeyInfo DER (a sigstore bundle's hint is its base64).</summary>
    internal byte[] KeyHash { get; }

    public ReadOnlySpan<byte> SubjectPublicKeyInfo => _spki;

    /// <summary>Reads a SubjectPublicKeyInfo DER; throws <see cref="KeyFormatException"/> for another algorithm or curve.</summary>
    public static SigningPublicKey FromSubjectPublicKeyInfo(ReadOnlySpan<byte> der)
    {
        var copy = der.ToArray();
        string algorithmOid;
        string? parameterOid;
        try
        {
            var info = BcSubjectPublicKeyInfo.GetInstance(copy);
            algorithmOid = info.Algorithm.Algorithm.Id;
            parameterOid = info.Algorithm.Parameters is Org.BouncyCastle.Asn1.DerObjectIdentifier oid ? oid.Id : null;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or FormatException)
        {
            throw new KeyFormatException("not a public key (SubjectPublicKeyInfo)", ex);
        }

        var algorithm = algorithmOid switch
        {
            EcOid when parameterOid == P256Oid => KeyAlgorithm.EcdsaP256,
            EcOid when parameterOid == P384Oid => KeyAlgorithm.EcdsaP384,
            EcOid => throw new KeyFormatException($"unsupported elliptic curve {parameterOid ?? "(explicit parameters)"}; P-256 and P-384 are supported"),
            RsaOid => KeyAlgorithm.Rsa,
            Ed25519Oid => KeyAlgorithm.Ed25519,
            _ => throw new KeyFormatException($"unsupported public key algorithm {algorithmOid}; ECDSA P-256/P-384, RSA and Ed25519 are supported"),
        };

        var key = new SigningPublicKey(algorithm, copy);
        key.Validate();
        return key;
    }

    /// <summary>
    /// Reads the first <c>PUBLIC KEY</c> or <c>CERTIFICATE</c> block of a PEM text (a certificate's public key);
    /// throws <see cref="KeyFormatException"/> when there is none or it cannot be read.
    /// </summary>
    public static SigningPublicKey FromPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        foreach (var (label, der) in PemBlocks.Read(pem))
        {
            switch (label)
            {
                case "PUBLIC KEY":
                    return FromSubjectPublicKeyInfo(der);
                case "CERTIFICATE":
                    return FromCertificate(Certificates.Load(der));
            }
        }

        throw new KeyFormatException("no PUBLIC KEY or CERTIFICATE block in the PEM text");
    }

    public static SigningPublicKey FromCertificate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return FromSubjectPublicKeyInfo(certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>The key as a <c>PUBLIC KEY</c> PEM block.</summary>
    public string ToPem() => PemEncoding.WriteString("PUBLIC KEY", _spki) + "\n";

    /// <summary>
    /// Verifies <paramref name="signature"/> over <paramref name="data"/> as the signature formats in use do: ECDSA with
    /// SHA-256 (P-384 also SHA-384) in ASN.1 DER or IEEE P1363 (r||s), RSA PKCS#1 v1.5 or PSS with SHA-256, Ed25519 over
    /// the data itself. False for a signature that does not verify or cannot be decoded; never throws for bad input.
    /// </summary>
    public bool VerifyData(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        switch (Algorithm)
        {
            case KeyAlgorithm.EcdsaP256:
            case KeyAlgorithm.EcdsaP384:
                using (var ecdsa = ECDsa.Create())
                {
                    ecdsa.ImportSubjectPublicKeyInfo(_spki, out _);
                    return VerifyEcdsa(ecdsa, data, signature, HashAlgorithmName.SHA256)
                        || (Algorithm == KeyAlgorithm.EcdsaP384 && VerifyEcdsa(ecdsa, data, signature, HashAlgorithmName.SHA384));
                }

            case KeyAlgorithm.Rsa:
                using (var rsa = RSA.Create())
                {
                    rsa.ImportSubjectPublicKeyInfo(_spki, out _);
                    var input = data.ToArray();
                    var sig = signature.ToArray();
                    return TryRsa(() => rsa.VerifyData(input, sig, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
                        || TryRsa(() => rsa.VerifyData(input, sig, HashAlgorithmName.SHA256, RSASignaturePadding.Pss));
                }

            default:
                var verifier = new Ed25519Signer();
                verifier.Init(false, Ed25519Key());
                verifier.BlockUpdate(data);
                return signature.Length == 64 && verifier.VerifySignature(signature.ToArray());
        }
    }

    /// <summary>
    /// Verifies a signature over a precomputed SHA-256 <paramref name="hash"/> (a sigstore message signature): ECDSA and
    /// RSA only, Ed25519 signs the message itself and answers false.
    /// </summary>
    public bool VerifySha256Hash(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> signature)
    {
        if (hash.Length != 32)
        {
            return false;
        }

        switch (Algorithm)
        {
            case KeyAlgorithm.EcdsaP256:
            case KeyAlgorithm.EcdsaP384:
                using (var ecdsa = ECDsa.Create())
                {
                    ecdsa.ImportSubjectPublicKeyInfo(_spki, out _);
                    return ecdsa.VerifyHash(hash, signature, DSASignatureFormat.Rfc3279DerSequence)
                        || ecdsa.VerifyHash(hash, signature, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                }

            case KeyAlgorithm.Rsa:
                using (var rsa = RSA.Create())
                {
                    rsa.ImportSubjectPublicKeyInfo(_spki, out _);
                    var digest = hash.ToArray();
                    var sig = signature.ToArray();
                    return TryRsa(() => rsa.VerifyHash(digest, sig, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
                        || TryRsa(() => rsa.VerifyHash(digest, sig, HashAlgorithmName.SHA256, RSASignaturePadding.Pss));
                }

            default:
                return false;
        }
    }

    /// <summary>
    /// Verifies a JWS signature with the algorithm its header names (ES256/384, PS256/384/512, RS256/384/512, EdDSA);
    /// false when the algorithm does not fit this key.
    /// </summary>
    public bool VerifyJws(string alg, ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature)
    {
        switch (alg)
        {
            case "ES256" when Algorithm == KeyAlgorithm.EcdsaP256:
            case "ES384" when Algorithm == KeyAlgorithm.EcdsaP384:
                using (var ecdsa = ECDsa.Create())
                {
                    ecdsa.ImportSubjectPublicKeyInfo(_spki, out _);
                    var hash = alg == "ES256" ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA384;
                    return ecdsa.VerifyData(signingInput, signature, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                }

            case "PS256" or "PS384" or "PS512" or "RS256" or "RS384" or "RS512" when Algorithm == KeyAlgorithm.Rsa:
                using (var rsa = RSA.Create())
                {
                    rsa.ImportSubjectPublicKeyInfo(_spki, out _);
                    var hash = alg[2..] switch
                    {
                        "256" => HashAlgorithmName.SHA256,
                        "384" => HashAlgorithmName.SHA384,
                        _ => HashAlgorithmName.SHA512,
                    };
                    var padding = alg[0] == 'P' ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
                    var input = signingInput.ToArray();
                    var sig = signature.ToArray();
                    return TryRsa(() => rsa.VerifyData(input, sig, hash, padding));
                }

            case "EdDSA" when Algorithm == KeyAlgorithm.Ed25519:
                return VerifyData(signingInput, signature);

            default:
                return false;
        }
    }

    private static bool VerifyEcdsa(ECDsa ecdsa, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature, HashAlgorithmName hash) =>
        ecdsa.VerifyData(data, signature, hash, DSASignatureFormat.Rfc3279DerSequence)
        || ecdsa.VerifyData(data, signature, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    private static bool TryRsa(Func<bool> verify)
    {
        try
        {
            return verify();
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private Ed25519PublicKeyParameters Ed25519Key()
    {
        var info = BcSubjectPublicKeyInfo.GetInstance(_spki);
        return new Ed25519PublicKeyParameters(info.PublicKey.GetOctets());
    }

    private void Validate()
    {
        try
        {
            switch (Algorithm)
            {
                case KeyAlgorithm.Rsa:
                    using (var rsa = RSA.Create())
                    {
                        rsa.ImportSubjectPublicKeyInfo(_spki, out _);
                        if (rsa.KeySize < 2048)
                        {
                            throw new KeyFormatException($"RSA key of {rsa.KeySize} bits; at least 2048 are required");
                        }
                    }

                    break;
                case KeyAlgorithm.Ed25519:
                    _ = Ed25519Key();
                    break;
                default:
                    using (var ecdsa = ECDsa.Create())
                    {
                        ecdsa.ImportSubjectPublicKeyInfo(_spki, out _);
                    }

                    break;
            }
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or InvalidOperationException)
        {
            throw new KeyFormatException("the public key cannot be read: " + ex.Message, ex);
        }
    }
}
