using System.Security.Cryptography.X509Certificates;

namespace Berth.Signing.Tests.Support;

/// <summary>A root CA, an intermediate and leaf certificates made with <c>openssl req</c> / <c>openssl x509</c>.</summary>
public sealed class OpenSslCertificates
{
    private readonly TempFolder _folder;

    public OpenSslCertificates(TempFolder folder, string name = "root")
    {
        _folder = folder;
        (RootKey, _) = OpenSslKeys.Generate(folder, "p256", name + "-ca");
        RootPath = folder.File(name + "-ca.crt");
        folder.Write(name + "-ca.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n");
        Tool.OpenSsl(folder.Path, "req", "-x509", "-new", "-key", RootKey, "-subj", $"/C=US/O=Berth Test/CN={name} CA", "-days", "3650",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", RootPath);
        Root = X509CertificateLoader.LoadCertificateFromFile(RootPath);

        (IntermediateKey, _) = OpenSslKeys.Generate(folder, "p256", name + "-intermediate");
        IntermediatePath = Issue(name + "-intermediate", $"/C=US/O=Berth Test/CN={name} intermediate", RootPath, RootKey, ca: true, san: null, days: 1825);
        Intermediate = X509CertificateLoader.LoadCertificateFromFile(IntermediatePath);
    }

    public string RootKey { get; }

    public string RootPath { get; }

    public X509Certificate2 Root { get; }

    public string IntermediateKey { get; }

    public string IntermediatePath { get; }

    public X509Certificate2 Intermediate { get; }

    /// <summary>A code-signing leaf issued by the intermediate; returns (private key path, certificate path).</summary>
    public (string KeyPath, string CertificatePath) IssueLeaf(string name, string subject, string? san, int days = 365, string kind = "p256")
    {
        var (key, _) = OpenSslKeys.Generate(_folder, kind, name);
        var certificate = Issue(name, subject, IntermediatePath, IntermediateKey, ca: false, san, days, key);
        return (key, certificate);
    }

    private string Issue(string name, string subject, string issuerPath, string issuerKey, bool ca, string? san, int days, string? existingKey = null)
    {
        var key = existingKey ?? _folder.File(name + ".key");
        var csr = _folder.File(name + ".csr");
        var certificate = _folder.File(name + ".crt");
        var extensions = ca
            ? "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
            : "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n" + (san is null ? string.Empty : $"subjectAltName={san}\n");
        var extensionsPath = _folder.Write(name + ".ext", extensions);
        Tool.OpenSsl(_folder.Path, "req", "-new", "-key", key, "-subj", subject, "-out", csr);
        Tool.OpenSsl(_folder.Path, "x509", "-req", "-in", csr, "-CA", issuerPath, "-CAkey", issuerKey, "-CAcreateserial",
            "-days", days.ToString(System.Globalization.CultureInfo.InvariantCulture), "-extfile", extensionsPath, "-out", certificate);
        return certificate;
    }
}
