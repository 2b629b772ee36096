using Berth.Signing.Keys;

namespace Berth.Signing.Trust;

/// <summary>A public key a project or the server trusts, under the name verdicts report.</summary>
public sealed record TrustedKey(string Name, SigningPublicKey Key);
