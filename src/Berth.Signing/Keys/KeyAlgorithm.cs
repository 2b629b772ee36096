namespace Berth.Signing.Keys;

/// <summary>The public-key algorithms signatures are verified with.</summary>
public enum KeyAlgorithm
{
    EcdsaP256,
    EcdsaP384,
    Rsa,
    Ed25519,
}
