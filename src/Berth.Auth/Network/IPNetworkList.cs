using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Berth.Auth.Network;

/// <summary>
/// A set of IPv4 and IPv6 networks. Entries are CIDR (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>) or single addresses
/// (<c>192.0.2.7</c> = /32, <c>::1</c> = /128). IPv4-mapped IPv6 addresses (<c>::ffff:10.1.2.3</c>) are treated as
/// the IPv4 address they carry, both in entries and when matching. IPv4 must be written as four decimal numbers
/// (no <c>127.1</c> or hex shorthand). Immutable and thread-safe.
/// </summary>
public sealed class IPNetworkList
{
    private readonly IPNetwork[] _networks;

    private IPNetworkList(IPNetwork[] networks) => _networks = networks;

    public static IPNetworkList Empty { get; } = new([]);

    public IReadOnlyList<IPNetwork> Networks => _networks;

    public bool IsEmpty => _networks.Length == 0;

    /// <summary>Parses every entry (blank ones are skipped); throws <see cref="FormatException"/> naming the first bad one.</summary>
    public static IPNetworkList Parse(IEnumerable<string?> entries)
    {
        if (!TryParse(entries, out var list, out var error))
        {
            throw new FormatException(error);
        }

        return list;
    }

    /// <summary>Parses every entry (blank ones are skipped). On failure <paramref name="error"/> names the bad entry and why.</summary>
    public static bool TryParse(IEnumerable<string?> entries, [NotNullWhen(true)] out IPNetworkList? list, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(entries);
        list = null;
        error = null;
        var networks = new List<IPNetwork>();
        foreach (var raw in entries)
        {
            var entry = raw?.Trim();
            if (string.IsNullOrEmpty(entry))
            {
                continue;
            }

            if (!TryParseEntry(entry, out var network, out error))
            {
                return false;
            }

            networks.Add(network);
        }

        list = new IPNetworkList([.. networks]);
        return true;
    }

    /// <summary>True when <paramref name="address"/> (normalised, see <see cref="Normalize"/>) is in one of the networks.</summary>
    public bool Contains(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        address = Normalize(address);
        foreach (var network in _networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The IPv4 address for an IPv4-mapped IPv6 address; any other address unchanged.</summary>
    public static IPAddress Normalize(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    /// <summary>Parses one address, refusing the legacy IPv4 shorthands (<c>127.1</c>, <c>0x7f.0.0.1</c>, <c>2130706433</c>).</summary>
    public static bool TryParseAddress(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? address)
    {
        if (!IPAddress.TryParse(text, out address))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork && !IsDottedDecimal(text))
        {
            address = null;
            return false;
        }

        return true;
    }

    private static bool TryParseEntry(string entry, out IPNetwork network, [NotNullWhen(false)] out string? error)
    {
        network = default;
        error = null;
        var slash = entry.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? entry.AsSpan() : entry.AsSpan(0, slash);
        if (!TryParseAddress(addressText, out var address))
        {
            error = $"'{entry}' is not an IP address or CIDR network.";
            return false;
        }

        var maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var prefix = maxPrefix;
        if (slash >= 0 && (!int.TryParse(entry.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > maxPrefix))
        {
            error = $"'{entry}' has an invalid prefix length (0 to {maxPrefix}).";
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            if (prefix < 96)
            {
                error = $"'{entry}' is an IPv4-mapped network shorter than /96.";
                return false;
            }

            address = address.MapToIPv4();
            prefix -= 96;
        }

        var masked = Mask(address, prefix);
        if (!masked.Equals(address))
        {
            error = $"'{entry}' has host bits set: did you mean {masked}/{prefix}?";
            return false;
        }

        network = new IPNetwork(address, prefix);
        return true;
    }

    /// <summary>The address with every bit after the first <paramref name="prefix"/> bits cleared.</summary>
    internal static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPAddress(bytes);
    }

    private static bool IsDottedDecimal(ReadOnlySpan<char> text)
    {
        var parts = 0;
        foreach (var range in text.Split('.'))
        {
            var part = text[range];
            if (part.Length is 0 or > 3 || part.ContainsAnyExceptInRange('0', '9'))
            {
                return false;
            }

            parts++;
        }

        return parts == 4;
    }
}
