using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Berth.Oci;

/// <summary>The digest algorithms Berth verifies content with.</summary>
public enum DigestAlgorithm
{
    Sha256,
    Sha512,
}

/// <summary>
/// A content digest such as <c>sha256:6c3c...</c>. Only registered algorithms with their exact
/// lower-case hex length parse; anything else is rejected at the edge, so a <see cref="Digest"/>
/// is always safe to use as a file or database key.
/// </summary>
public readonly record struct Digest
{
    private Digest(DigestAlgorithm algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    public DigestAlgorithm Algorithm { get; }

    /// <summary>The lower-case hex encoding, without the algorithm prefix.</summary>
    public string Hex { get; }

    public string AlgorithmName => Algorithm == DigestAlgorithm.Sha256 ? "sha256" : "sha512";

    public override string ToString() => Hex is null ? string.Empty : AlgorithmName + ":" + Hex;

    /// <summary>Parses <paramref name="value"/>; false for unknown algorithms, wrong lengths or upper-case hex.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out Digest digest)
    {
        digest = default;
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        var algorithmText = value.AsSpan(0, colon);
        var hex = value.AsSpan(colon + 1);
        DigestAlgorithm algorithm;
        int length;
        if (algorithmText.SequenceEqual("sha256"))
        {
            algorithm = DigestAlgorithm.Sha256;
            length = 64;
        }
        else if (algorithmText.SequenceEqual("sha512"))
        {
            algorithm = DigestAlgorithm.Sha512;
            length = 128;
        }
        else
        {
            return false;
        }

        if (hex.Length != length)
        {
            return false;
        }

        foreach (var c in hex)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        digest = new Digest(algorithm, hex.ToString());
        return true;
    }

    public static Digest Parse(string value) =>
        TryParse(value, out var digest) ? digest : throw new FormatException($"'{value}' is not a valid digest.");

    public static Digest Compute(DigestAlgorithm algorithm, ReadOnlySpan<byte> content)
    {
        Span<byte> hash = stackalloc byte[64];
        var written = algorithm == DigestAlgorithm.Sha256
            ? SHA256.HashData(content, hash)
            : SHA512.HashData(content, hash);
        return FromHash(algorithm, hash[..written]);
    }

    public static Digest FromHash(DigestAlgorithm algorithm, ReadOnlySpan<byte> hash) =>
        new(algorithm, Convert.ToHexStringLower(hash));

    public static HashAlgorithmName HashAlgorithmNameOf(DigestAlgorithm algorithm) =>
        algorithm == DigestAlgorithm.Sha256 ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA512;
}
