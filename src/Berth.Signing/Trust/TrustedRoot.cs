using System.Security.Cryptography.X509Certificates;

namespace Berth.Signing.Trust;

/// <summary>
/// A root certificate a project or the server trusts, with the identities it may vouch for: a signing certificate
/// chaining to it is accepted only when <see cref="Identity"/> matches the certificate.
/// </summary>
public sealed record TrustedRoot(string Name, X509Certificate2 Certificate, IdentityConstraint Identity);
