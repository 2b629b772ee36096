namespace Berth.Oci.Tests;

public sealed class TagTests
{
    public static TheoryData<string> ValidTags() => new()
    {
        "latest",
        "v1",
        "v1.0.0",
        "1",
        "_",
        "___",
        "A",
        "Latest",
        "a-b_c.d",
        "1.0-rc.1_build.5",
        "x" + new string('-', 127),
        "T" + new string('t', 127),
    };

    public static TheoryData<string> InvalidTags() => new()
    {
        "",
        "-a",
        ".a",
        "a!",
        "a b",
        " a",
        "a ",
        "a\n",
        "a\r\n",
        "\na",
        "a\tb",
        "a:b",
        "a/b",
        "a@b",
        "a+b",
        "\u00e4",
        "a\u00e9",
        "T" + new string('t', 128),
    };

    [Theory]
    [MemberData(nameof(ValidTags))]
    public void TryParse_ValidTag_ReturnsTheTag(string text)
    {
        Assert.True(Tag.TryParse(text, out var tag));

        Assert.Equal(text, tag.Value);
        Assert.Equal(text, tag.ToString());
        Assert.Equal(tag, Tag.Parse(text));
    }

    [Theory]
    [MemberData(nameof(InvalidTags))]
    public void TryParse_InvalidTag_ReturnsFalse(string text)
    {
        Assert.False(Tag.TryParse(text, out var tag));
        Assert.Equal(default, tag);
    }

    [Theory]
    [MemberData(nameof(InvalidTags))]
    public void Parse_InvalidTag_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => Tag.Parse(text));
    }

    [Fact]
    public void TryParse_Null_ReturnsFalse()
    {
        Assert.False(Tag.TryParse(null, out _));
    }

    [Fact]
    public void Tags_AreCaseSensitive()
    {
        Assert.NotEqual(Tag.Parse("latest"), Tag.Parse("Latest"));
    }
}
