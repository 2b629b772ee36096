namespace Berth.Oci.Tests;

public sealed class RepositoryNameTests
{
    public static TheoryData<string> ValidNames() => new()
    {
        "a",
        "0",
        "library",
        "library/ubuntu",
        "project/team/app",
        "a/b/c/d/e/f",
        "a.b",
        "a_b",
        "a__b",
        "a-b",
        "a---b",
        "a1.b2_c3__d4-e5",
        "1/2/3",
        "project/app-1.2_3",
        new string('a', 255),
        string.Join('/', Enumerable.Repeat("abcdefg", 32)),
    };

    public static TheoryData<string> InvalidNames() => new()
    {
        "",
        "A",
        "Library/ubuntu",
        "library/Ubuntu",
        "a..b",
        ".a",
        "a.",
        "-a",
        "a-",
        "_a",
        "a_",
        "a___b",
        "a_.b",
        "a.-b",
        "a/",
        "/a",
        "a//b",
        "a/../b",
        "../a",
        "./a",
        "a b",
        " a",
        "a ",
        "a\n",
        "\na",
        "a\r\n",
        "a\tb",
        "\u00e4",
        "a:b",
        "a@b",
        "a%2fb",
        "a\\b",
        new string('a', 256),
        string.Join('/', Enumerable.Repeat("abcdefg", 33)),
    };

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void TryParse_ValidName_ReturnsTheName(string text)
    {
        Assert.True(RepositoryName.TryParse(text, out var name));

        Assert.Equal(text, name.Value);
        Assert.Equal(text, name.ToString());
        Assert.Equal(name, RepositoryName.Parse(text));
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void TryParse_InvalidName_ReturnsFalse(string text)
    {
        Assert.False(RepositoryName.TryParse(text, out var name));
        Assert.Equal(default, name);
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void Parse_InvalidName_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => RepositoryName.Parse(text));
    }

    [Fact]
    public void TryParse_Null_ReturnsFalse()
    {
        Assert.False(RepositoryName.TryParse(null, out _));
    }

    [Fact]
    public void MaxLength_Is255()
    {
        Assert.Equal(255, RepositoryName.MaxLength);
    }

    [Theory]
    [InlineData("app", "app")]
    [InlineData("project/app", "project")]
    [InlineData("project/team/app", "project")]
    public void Project_IsTheFirstPathComponent(string text, string project)
    {
        Assert.Equal(project, RepositoryName.Parse(text).Project);
    }

    [Fact]
    public void Names_AreComparedByValue()
    {
        Assert.Equal(RepositoryName.Parse("a/b"), RepositoryName.Parse("a/b"));
        Assert.NotEqual(RepositoryName.Parse("a/b"), RepositoryName.Parse("a/c"));
    }

    [Fact]
    public void Default_ToString_IsEmpty()
    {
        Assert.Equal(string.Empty, default(RepositoryName).ToString());
    }
}
