using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Berth.Client;

/// <summary>
/// How a stored login checks its server's certificate when the system's trust store is not enough: against the
/// certificates of a PEM file (<c>berth login --ca-cert FILE</c>: a private CA, or the server's own self-signed
/// certificate) or not at all (<c>--insecure</c>, for testing).
/// </summary>
internal sealed record ServerTrust(string? CaCertificate, bool Insecure)
{
    /// <summary>The trust a login asks for; null when it uses the system's trust store.</summary>
    public static ServerTrust? Of(Login? login) =>
        login is not null && (login.CaCert is not null || login.Insecure) ? new ServerTrust(login.CaCert, login.Insecure) : null;
}

/// <summary>HTTP handlers for <see cref="ServerTrust"/>, and the words for TLS failures.</summary>
internal static class ClientTls
{
    /// <summary>A handler that checks server certificates as <paramref name="trust"/> says.</summary>
    /// <exception cref="ClientException">The CA file cannot be read or holds no certificate.</exception>
    public static SocketsHttpHandler CreateHandler(ServerTrust trust)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(15) };
        if (trust.Insecure)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (trust.CaCertificate is { } path)
        {
            var roots = LoadCertificates(path);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Validate(certificate, chain, errors, roots, path);
        }

        return handler;
    }

    /// <summary>Every certificate of a PEM file.</summary>
    /// <exception cref="ClientException">The file cannot be read or holds no certificate.</exception>
    public static X509Certificate2Collection LoadCertificates(string path)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ClientException($"--ca-cert {path}: cannot be read ({ex.Message})");
        }
        catch (CryptographicException ex)
        {
            throw new ClientException($"--ca-cert {path}: not a certificate in PEM form ({ex.Message})");
        }

        return certificates.Count > 0 ? certificates : throw new ClientException($"--ca-cert {path}: holds no certificate in PEM form (-----BEGIN CERTIFICATE-----)");
    }

    /// <summary>
    /// Accepts the server's certificate when the system trusts it, or when it chains to one of <paramref name="roots"/>
    /// (a self-signed server certificate given as its own root included) and names the host. A refusal throws with
    /// the reason, which the failed request then carries as its inner exception.
    /// </summary>
    private static bool Validate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2Collection roots, string path)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            throw new AuthenticationException("the server sent no certificate");
        }

        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            throw new AuthenticationException("the server's certificate is not for this host name (RemoteCertificateNameMismatch)");
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(roots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        if (custom.Build(leaf))
        {
            return true;
        }

        var status = string.Join(", ", custom.ChainStatus.Select(s => s.Status.ToString()).Distinct());
        throw new AuthenticationException($"the server's certificate does not chain to a certificate in {path} ({status})");
    }

    /// <summary>
    /// The words for a request that failed in TLS: the innermost reason (not "see inner exception"), with a hint for
    /// certificates the system does not trust. Null when <paramref name="exception"/> is not a TLS failure.
    /// </summary>
    public static string? Describe(HttpRequestException exception, string baseUrl)
    {
        AuthenticationException? tls = null;
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException found)
            {
                tls = found;
            }
        }

        if (tls is null)
        {
            return null;
        }

        var reason = tls.InnerException is { } inner && tls.InnerException is not AuthenticationException ? $"{tls.Message} ({inner.Message})" : tls.Message;
        var untrusted = reason.Contains("UntrustedRoot", StringComparison.Ordinal) || reason.Contains("PartialChain", StringComparison.Ordinal)
            || reason.Contains("does not chain", StringComparison.Ordinal);
        return $"cannot connect to {baseUrl}: TLS failed: {reason}"
            + (untrusted ? $"; for a self-signed certificate or a private CA: berth login {baseUrl} --ca-cert FILE (or --insecure, for testing only)" : string.Empty);
    }
}
