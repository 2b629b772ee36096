using Berth.Core.Quotas;

namespace Berth.Core.Tests.Quotas;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1024, "1 KiB")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(5000, "4.9 KiB")]
    [InlineData(350L << 20, "350 MiB")]
    [InlineData(10L << 30, "10 GiB")]
    [InlineData((1L << 30) - 1, "1 GiB")]
    [InlineData(long.MaxValue, "8 EiB")]
    public void Format_OneDecimalAtMost(long bytes, string expected) => Assert.Equal(expected, ByteSize.Format(bytes));

    [Fact]
    public void QuotaExceeded_Message_IsTheIssuesForm()
    {
        var exceeded = new QuotaExceeded((long)(9.8 * (1L << 30)), 10L << 30, 350L << 20);

        Assert.Equal("quota exceeded: 9.8 GiB of 10 GiB used, this push needs 350 MiB more", exceeded.Message);
    }

    [Theory]
    [InlineData("10GiB", 10L << 30)]
    [InlineData("10G", 10L << 30)]
    [InlineData("500MiB", 500L << 20)]
    [InlineData("500 MiB", 500L << 20)]
    [InlineData("1.5T", 3L << 39)]
    [InlineData("1048576", 1L << 20)]
    [InlineData("0", 0)]
    [InlineData("12kb", 12L << 10)]
    public void TryParse_Sizes(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("-5GiB")]
    [InlineData("ten")]
    [InlineData("10XB")]
    [InlineData("1.5")]
    [InlineData("99999999999999999999")]
    [InlineData("9000000PiB")]
    [InlineData("1e9")]
    [InlineData("GiB")]
    public void TryParse_NonSizes_AreRefused(string? text) => Assert.False(ByteSize.TryParse(text, out _));
}
