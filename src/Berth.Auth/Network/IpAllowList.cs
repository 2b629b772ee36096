using System.Net;

namespace Berth.Auth.Network;

/// <summary>
/// Which client addresses may use the registry (or one project, or one token). An empty list allows every address;
/// otherwise only addresses inside one of its networks. Immutable and thread-safe.
/// </summary>
public sealed class IpAllowList
{
    public IpAllowList(IPNetworkList networks)
    {
        ArgumentNullException.ThrowIfNull(networks);
        Networks = networks;
    }

    /// <summary>The empty list: every address is allowed.</summary>
    public static IpAllowList AllowAll { get; } = new(IPNetworkList.Empty);

    public IPNetworkList Networks { get; }

    /// <summary>Parses the entries as <see cref="IPNetworkList.Parse"/> does.</summary>
    public static IpAllowList Parse(IEnumerable<string?> entries) => new(IPNetworkList.Parse(entries));

    /// <summary>
    /// True when the list is empty, or <paramref name="address"/> is in it. An unknown address (null) is allowed only
    /// by the empty list. Pass the address <see cref="ClientAddressResolver"/> resolved, not the raw peer.
    /// </summary>
    public bool Allows(IPAddress? address) => Networks.IsEmpty || Networks.Contains(address);
}
