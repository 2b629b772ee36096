using System.Net;
using Berth.Auth.Network;

namespace Berth.Auth.Tests.Network;

public sealed class ClientAddressResolverTests
{
    private static readonly ClientAddressResolver Resolver = new(IPNetworkList.Parse(["10.0.0.0/8", "fd00::/8"]));

    [Theory]
    // Untrusted peer: the header is ignored whatever it says.
    [InlineData("203.0.113.9", "1.2.3.4", "203.0.113.9")]
    [InlineData("203.0.113.9", "", "203.0.113.9")]
    // Trusted peer: the right-most untrusted entry is the client.
    [InlineData("10.0.0.2", "198.51.100.7", "198.51.100.7")]
    [InlineData("10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7")]
    [InlineData("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3", "198.51.100.7")]
    [InlineData("10.0.0.2", "6.6.6.6,198.51.100.7,10.0.0.3,10.0.0.4", "198.51.100.7")]
    // Every entry trusted: the left-most one.
    [InlineData("10.0.0.2", "10.0.0.5, 10.0.0.3", "10.0.0.5")]
    // No header: the proxy itself.
    [InlineData("10.0.0.2", "", "10.0.0.2")]
    // Malformed entries stop the walk at the last address reached.
    [InlineData("10.0.0.2", "198.51.100.7, unknown", "10.0.0.2")]
    [InlineData("10.0.0.2", "unknown, 198.51.100.7", "198.51.100.7")]
    [InlineData("10.0.0.2", "198.51.100.7, 10.0.0.3, _hidden", "10.0.0.2")]
    [InlineData("10.0.0.2", "198.51.100.7, garbage, 10.0.0.3", "10.0.0.3")]
    [InlineData("10.0.0.2", "127.1", "10.0.0.2")]
    // Ports and brackets.
    [InlineData("10.0.0.2", "198.51.100.7:4711", "198.51.100.7")]
    [InlineData("10.0.0.2", "[2001:db8::7]:443", "2001:db8::7")]
    [InlineData("10.0.0.2", "[2001:db8::7]", "2001:db8::7")]
    [InlineData("10.0.0.2", "2001:db8::7", "2001:db8::7")]
    [InlineData("10.0.0.2", "198.51.100.7:99999", "10.0.0.2")]
    [InlineData("10.0.0.2", "[2001:db8::7]x", "10.0.0.2")]
    // IPv6 proxies and IPv4-mapped peers.
    [InlineData("fd00::2", "198.51.100.7", "198.51.100.7")]
    [InlineData("::ffff:10.0.0.2", "198.51.100.7", "198.51.100.7")]
    [InlineData("::ffff:203.0.113.9", "1.2.3.4", "203.0.113.9")]
    [InlineData("10.0.0.2", "::ffff:198.51.100.7", "198.51.100.7")]
    public void Resolve_Header_TakesRightMostUntrusted(string peer, string header, string expected)
    {
        Assert.Equal(IPAddress.Parse(expected), Resolver.Resolve(IPAddress.Parse(peer), [header]));
    }

    [Fact]
    public void Resolve_SeveralHeaders_ReadAsOneListInOrder()
    {
        var client = Resolver.Resolve(IPAddress.Parse("10.0.0.2"), ["6.6.6.6, 198.51.100.7", "10.0.0.3", null]);

        Assert.Equal(IPAddress.Parse("198.51.100.7"), client);
    }

    [Fact]
    public void Resolve_NoTrustedProxies_AlwaysPeer()
    {
        var resolver = new ClientAddressResolver(IPNetworkList.Empty);

        Assert.Equal(IPAddress.Parse("10.0.0.2"), resolver.Resolve(IPAddress.Parse("10.0.0.2"), ["198.51.100.7"]));
    }

    [Fact]
    public void Resolve_NoPeer_Null()
    {
        Assert.Null(Resolver.Resolve(null, ["198.51.100.7"]));
    }

    [Fact]
    public void Resolve_ClientSpoofsHeaderThroughProxy_GetsItsRealAddress()
    {
        // The client claims to be an allowed internal address; the proxy appends the real one.
        var client = Resolver.Resolve(IPAddress.Parse("10.0.0.2"), ["10.0.0.99, 203.0.113.50"]);
        var allowList = IpAllowList.Parse(["10.0.0.0/8"]);

        Assert.Equal(IPAddress.Parse("203.0.113.50"), client);
        Assert.False(allowList.Allows(client));
    }
}
