using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Berth.Signing.Verification;

namespace Berth.Signing.Keys;

/// <summary>Reads X.509 certificates from DER and PEM; every failure is a <see cref="KeyFormatException"/>.</summary>
public static class Certificates
{
    public static X509Certificate2 Load(ReadOnlySpan<byte> der)
    {
        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException ex)
        {
            throw new KeyFormatException("not an X.509 certificate: " + ex.Message, ex);
        }
    }

    /// <summary>All <c>CERTIFICATE</c> blocks of a PEM text, in order (at most <see cref="SigningLimits.MaxChainLength"/>).</summary>
    public static IReadOnlyList<X509Certificate2> LoadPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var list = new List<X509Certificate2>();
        foreach (var (label, der) in PemBlocks.Read(pem))
        {
            if (label != "CERTIFICATE")
            {
                continue;
            }

            if (list.Count == SigningLimits.MaxChainLength)
            {
                throw new KeyFormatException($"more than {SigningLimits.MaxChainLength} certificates");
            }

            list.Add(Load(der));
        }

        return list;
    }
}
