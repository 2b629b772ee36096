using Berth.Scanning.Text;
using Berth.Scanning.Reports;

namespace Berth.Scanning.Tests.Reports;

public sealed class TerminalTextTests
{
    [Theory]
    [InlineData("plain title", "plain title")]
    [InlineData("\u001b[31mred\u001b[0m text", "red text")]
    [InlineData("\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007", "click")]
    [InlineData("\u001b]0;title\u001b\\after", "after")]
    [InlineData("a\u001b[2Jb\u001bc", "ab")]
    [InlineData("bell\u0007 del\u007f c1\u009b31m!", "bell del c1!")]
    [InlineData("line\r\nbreak\ttab", "line  break tab")]
    [InlineData("abc\u202edcba\u2066x\u2069", "abcdcbax")]
    [InlineData("trailing escape\u001b", "trailing escape")]
    [InlineData("unterminated \u001b]52;c;AAAA", "unterminated ")]
    [InlineData("caf\u00e9 \ud83d\ude00", "caf\u00e9 \ud83d\ude00")]
    public void Clean_RemovesEscapesAndControls(string input, string expected)
    {
        Assert.Equal(expected, TerminalText.Clean(input));
    }

    [Fact]
    public void Clean_LoneSurrogates_Dropped()
    {
        var text = "lone " + (char)0xD83D + " high, lone " + (char)0xDE00 + " low";

        Assert.Equal("lone  high, lone  low", TerminalText.Clean(text));
    }

    [Fact]
    public void CleanAndTruncate_LongText_CutAtAWordWithEllipsis()
    {
        var text = string.Join(' ', Enumerable.Repeat("overflowing", 200));

        var cut = TerminalText.CleanAndTruncate(text, 60);

        Assert.True(cut.Length <= 60, cut);
        Assert.EndsWith("overflowing...", cut, StringComparison.Ordinal);
    }

    [Fact]
    public void CleanAndTruncate_OneHugeWord_CutAtTheLimit()
    {
        var cut = TerminalText.CleanAndTruncate(new string('x', 100_000), 60);

        Assert.Equal(new string('x', 57) + "...", cut);
    }

    [Fact]
    public void CleanAndTruncate_DoesNotSplitASurrogatePair()
    {
        var text = new string('a', 56) + "\ud83d\ude00\ud83d\ude00\ud83d\ude00";

        var cut = TerminalText.CleanAndTruncate(text, 60);

        Assert.False(char.IsHighSurrogate(cut[^4]), cut);
        Assert.EndsWith("...", cut, StringComparison.Ordinal);
    }
}
