using System.Security.Cryptography;
using System.Text;

namespace Berth.Oci.Tests;

public sealed class DigestTests
{
    private const string Sha256Empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private const string Sha512Empty = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

    public static TheoryData<string> InvalidDigests() => new()
    {
        "",
        "sha256",
        "sha256:",
        ":" + Sha256Empty,
        "sha256:" + Sha256Empty[..63],
        "sha256:" + Sha256Empty + "0",
        "sha256:" + Sha256Empty.ToUpperInvariant(),
        "sha256:" + Sha256Empty[..63] + "E",
        "sha256:" + new string('g', 64),
        "sha256:" + Sha256Empty[..62] + "-0",
        "SHA256:" + Sha256Empty,
        "Sha256:" + Sha256Empty,
        "sha256::" + Sha256Empty[..63],
        " sha256:" + Sha256Empty,
        "sha256:" + Sha256Empty + " ",
        "sha256:" + Sha256Empty + "\n",
        "sha256 :" + Sha256Empty,
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha384:" + new string('a', 96),
        "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "blake3:" + Sha256Empty,
        "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
        "sha512:" + Sha256Empty,
        "sha512:" + Sha512Empty[..127],
        "sha512:" + Sha512Empty.ToUpperInvariant(),
        "sha256:" + Sha256Empty[..32] + "\u0660" + Sha256Empty[33..],
        "sha256:" + Sha256Empty[..32] + "\uff41" + Sha256Empty[33..],
    };

    [Theory]
    [InlineData("sha256:" + Sha256Empty, DigestAlgorithm.Sha256, Sha256Empty)]
    [InlineData("sha512:" + Sha512Empty, DigestAlgorithm.Sha512, Sha512Empty)]
    [InlineData("sha256:0000000000000000000000000000000000000000000000000000000000000000", DigestAlgorithm.Sha256, "0000000000000000000000000000000000000000000000000000000000000000")]
    public void TryParse_ValidDigest_ReturnsAlgorithmAndHex(string text, DigestAlgorithm algorithm, string hex)
    {
        Assert.True(Digest.TryParse(text, out var digest));

        Assert.Equal(algorithm, digest.Algorithm);
        Assert.Equal(hex, digest.Hex);
        Assert.Equal(text, digest.ToString());
        Assert.Equal(text[..text.IndexOf(':', StringComparison.Ordinal)], digest.AlgorithmName);
    }

    [Theory]
    [MemberData(nameof(InvalidDigests))]
    public void TryParse_InvalidDigest_ReturnsFalse(string text)
    {
        Assert.False(Digest.TryParse(text, out var digest));
        Assert.Equal(default, digest);
    }

    [Fact]
    public void TryParse_Null_ReturnsFalse()
    {
        Assert.False(Digest.TryParse(null, out _));
    }

    [Theory]
    [MemberData(nameof(InvalidDigests))]
    public void Parse_InvalidDigest_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => Digest.Parse(text));
    }

    [Fact]
    public void Parse_ValidDigest_EqualsTryParse()
    {
        Assert.True(Digest.TryParse("sha256:" + Sha256Empty, out var parsed));

        Assert.Equal(parsed, Digest.Parse("sha256:" + Sha256Empty));
    }

    [Fact]
    public void Digests_WithSameText_AreEqualAndHashAlike()
    {
        var a = Digest.Parse("sha256:" + Sha256Empty);
        var b = Digest.Parse("sha256:" + Sha256Empty);

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Digest.Parse("sha512:" + Sha512Empty));
    }

    [Fact]
    public void Default_ToString_IsEmpty()
    {
        Assert.Equal(string.Empty, default(Digest).ToString());
    }

    [Fact]
    public void Compute_EmptyContent_MatchesKnownDigests()
    {
        Assert.Equal("sha256:" + Sha256Empty, Digest.Compute(DigestAlgorithm.Sha256, []).ToString());
        Assert.Equal("sha512:" + Sha512Empty, Digest.Compute(DigestAlgorithm.Sha512, []).ToString());
    }

    [Fact]
    public void Compute_Content_MatchesSystemHash()
    {
        var content = Encoding.UTF8.GetBytes("hello, registry");

        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(content)), Digest.Compute(DigestAlgorithm.Sha256, content).ToString());
        Assert.Equal("sha512:" + Convert.ToHexStringLower(SHA512.HashData(content)), Digest.Compute(DigestAlgorithm.Sha512, content).ToString());
    }

    [Fact]
    public void FromHash_UsesLowerCaseHex()
    {
        var hash = SHA256.HashData("x"u8);

        var digest = Digest.FromHash(DigestAlgorithm.Sha256, hash);

        Assert.Equal(Convert.ToHexStringLower(hash), digest.Hex);
        Assert.True(Digest.TryParse(digest.ToString(), out var reparsed));
        Assert.Equal(digest, reparsed);
    }

    [Theory]
    [InlineData(DigestAlgorithm.Sha256, "SHA256")]
    [InlineData(DigestAlgorithm.Sha512, "SHA512")]
    public void HashAlgorithmNameOf_MapsAlgorithm(DigestAlgorithm algorithm, string name)
    {
        Assert.Equal(name, Digest.HashAlgorithmNameOf(algorithm).Name);
    }
}
