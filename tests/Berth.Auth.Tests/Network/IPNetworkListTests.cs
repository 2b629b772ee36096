using System.Net;
using Berth.Auth.Network;

namespace Berth.Auth.Tests.Network;

public sealed class IPNetworkListTests
{
    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0", true)]
    [InlineData("10.0.0.0/8", "10.255.255.255", true)]
    [InlineData("10.0.0.0/8", "11.0.0.0", false)]
    [InlineData("192.168.1.0/24", "192.168.1.77", true)]
    [InlineData("192.168.1.0/24", "192.168.2.1", false)]
    [InlineData("192.0.2.7", "192.0.2.7", true)]
    [InlineData("192.0.2.7", "192.0.2.8", false)]
    [InlineData("192.0.2.7/32", "192.0.2.7", true)]
    [InlineData("0.0.0.0/0", "203.0.113.9", true)]
    [InlineData("0.0.0.0/0", "2001:db8::1", false)]
    [InlineData("2001:db8::/32", "2001:db8:1234::1", true)]
    [InlineData("2001:db8::/32", "2001:db9::1", false)]
    [InlineData("2001:db8::/32", "10.0.0.1", false)]
    [InlineData("::1", "::1", true)]
    [InlineData("::/0", "2001:db8::1", true)]
    [InlineData("10.0.0.0/8", "::ffff:10.1.2.3", true)]
    [InlineData("10.0.0.0/8", "::ffff:11.1.2.3", false)]
    [InlineData("::ffff:10.0.0.0/104", "10.9.9.9", true)]
    [InlineData("::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true)]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7", true)]
    [InlineData(" 10.0.0.0/8 ", "10.0.0.1", true)]
    public void Contains_Address_MatchesCidr(string entry, string address, bool expected)
    {
        var list = IPNetworkList.Parse([entry]);

        Assert.Equal(expected, list.Contains(IPAddress.Parse(address)));
    }

    [Fact]
    public void Contains_SeveralNetworks_MatchesAny()
    {
        var list = IPNetworkList.Parse(["10.0.0.0/8", "2001:db8::/32", "", null]);

        Assert.Equal(2, list.Networks.Count);
        Assert.True(list.Contains(IPAddress.Parse("10.1.1.1")));
        Assert.True(list.Contains(IPAddress.Parse("2001:db8::5")));
        Assert.False(list.Contains(IPAddress.Parse("172.16.0.1")));
    }

    [Fact]
    public void Contains_Null_False()
    {
        Assert.False(IPNetworkList.Parse(["0.0.0.0/0"]).Contains(null));
    }

    [Theory]
    [InlineData("banana", "not an IP address")]
    [InlineData("10.0.0.0/33", "prefix")]
    [InlineData("10.0.0.0/-1", "prefix")]
    [InlineData("10.0.0.0/", "prefix")]
    [InlineData("10.0.0.0/8/8", "prefix")]
    [InlineData("2001:db8::/129", "prefix")]
    [InlineData("10.0.0.1/8", "did you mean 10.0.0.0/8")]
    [InlineData("2001:db8::1/32", "did you mean 2001:db8::/32")]
    [InlineData("127.1", "not an IP address")]
    [InlineData("0x7f.0.0.1", "not an IP address")]
    [InlineData("2130706433", "not an IP address")]
    [InlineData("10.0.0.256", "not an IP address")]
    [InlineData("::ffff:10.0.0.0/8", "shorter than /96")]
    public void Parse_BadEntry_ThrowsNamingIt(string entry, string reason)
    {
        var error = Assert.Throws<FormatException>(() => IPNetworkList.Parse(["10.0.0.0/8", entry]));

        Assert.Contains($"'{entry}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.False(IPNetworkList.TryParse([entry], out _, out _));
    }

    [Fact]
    public void Normalize_MappedAddress_IsIPv4()
    {
        Assert.Equal(IPAddress.Parse("10.1.2.3"), IPNetworkList.Normalize(IPAddress.Parse("::ffff:10.1.2.3")));
        Assert.Equal(IPAddress.Parse("2001:db8::1"), IPNetworkList.Normalize(IPAddress.Parse("2001:db8::1")));
    }
}
