namespace Berth.Oci.Tests;

public sealed class ReferenceTests
{
    private const string Sha256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Theory]
    [InlineData("latest")]
    [InlineData("v1.2.3")]
    [InlineData("_")]
    public void TryParse_Tag_IsATagReference(string text)
    {
        Assert.True(Reference.TryParse(text, out var reference));

        Assert.False(reference.IsDigest);
        Assert.Null(reference.Digest);
        Assert.Equal(Tag.Parse(text), reference.Tag);
        Assert.Equal(text, reference.ToString());
    }

    [Theory]
    [InlineData(Sha256)]
    [InlineData("sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")]
    public void TryParse_Digest_IsADigestReference(string text)
    {
        Assert.True(Reference.TryParse(text, out var reference));

        Assert.True(reference.IsDigest);
        Assert.Null(reference.Tag);
        Assert.Equal(Digest.Parse(text), reference.Digest);
        Assert.Equal(text, reference.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("-latest")]
    [InlineData("latest\n")]
    [InlineData("a b")]
    [InlineData("sha256:abc")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("a:b")]
    [InlineData(":")]
    public void TryParse_Invalid_ReturnsFalse(string text)
    {
        Assert.False(Reference.TryParse(text, out var reference));
        Assert.Equal(default, reference);
    }

    [Fact]
    public void TryParse_Null_ReturnsFalse()
    {
        Assert.False(Reference.TryParse(null, out _));
    }

    [Fact]
    public void Of_BuildsTagAndDigestReferences()
    {
        var byTag = Reference.Of(Tag.Parse("v1"));
        var byDigest = Reference.Of(Digest.Parse(Sha256));

        Assert.False(byTag.IsDigest);
        Assert.Equal("v1", byTag.ToString());
        Assert.True(byDigest.IsDigest);
        Assert.Equal(Sha256, byDigest.ToString());
        Assert.True(Reference.TryParse("v1", out var parsed));
        Assert.Equal(byTag, parsed);
    }
}
