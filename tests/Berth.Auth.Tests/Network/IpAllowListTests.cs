using System.Net;
using Berth.Auth.Network;

namespace Berth.Auth.Tests.Network;

public sealed class IpAllowListTests
{
    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("2001:db8::1")]
    [InlineData("::ffff:203.0.113.5")]
    public void Allows_EmptyList_AllowsEverything(string address)
    {
        Assert.True(IpAllowList.AllowAll.Allows(IPAddress.Parse(address)));
        Assert.True(IpAllowList.Parse([]).Allows(IPAddress.Parse(address)));
    }

    [Fact]
    public void Allows_EmptyListUnknownAddress_Allowed()
    {
        Assert.True(IpAllowList.AllowAll.Allows(null));
    }

    [Theory]
    [InlineData("10.20.30.40", true)]
    [InlineData("::ffff:10.20.30.40", true)]
    [InlineData("2001:db8:aa::1", true)]
    [InlineData("192.168.0.1", false)]
    [InlineData("::ffff:192.168.0.1", false)]
    [InlineData("2001:db9::1", false)]
    [InlineData("::1", false)]
    public void Allows_NonEmptyList_OnlyListedNetworks(string address, bool expected)
    {
        var list = IpAllowList.Parse(["10.0.0.0/8", "2001:db8::/32"]);

        Assert.Equal(expected, list.Allows(IPAddress.Parse(address)));
    }

    [Fact]
    public void Allows_NonEmptyListUnknownAddress_Refused()
    {
        Assert.False(IpAllowList.Parse(["10.0.0.0/8"]).Allows(null));
    }
}
