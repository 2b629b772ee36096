namespace Berth.Signing.Trust;

/// <summary>What a verification trusts: named public keys and named root certificates (a project's plus the server's).</summary>
public sealed record SignatureTrust(IReadOnlyList<TrustedKey> Keys, IReadOnlyList<TrustedRoot> Roots)
{
    public static SignatureTrust Empty { get; } = new([], []);

    public static SignatureTrust FromKeys(params TrustedKey[] keys) => new(keys, []);

    public static SignatureTrust FromRoots(params TrustedRoot[] roots) => new([], roots);

    /// <summary>The trusted key whose key id is <paramref name="keyId"/>, or null.</summary>
    internal TrustedKey? FindKey(string keyId)
    {
        foreach (var key in Keys)
        {
            if (key.Key.KeyId == keyId)
            {
                return key;
            }
        }

        return null;
    }
}
