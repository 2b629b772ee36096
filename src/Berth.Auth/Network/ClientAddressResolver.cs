using System.Net;

namespace Berth.Auth.Network;

/// <summary>
/// Finds the client's address behind reverse proxies. <c>X-Forwarded-For</c> is honoured only when the direct peer
/// is a trusted proxy; then the list is read from the right (the entry the nearest proxy appended) and the first
/// address that is not itself a trusted proxy is the client. Entries to its left were written by the client or
/// untrusted hops and are ignored, so a client cannot choose its own address by sending the header.
/// Immutable and thread-safe.
/// </summary>
public sealed class ClientAddressResolver
{
    private readonly IPNetworkList _trustedProxies;

    /// <param name="trustedProxies">Networks of the proxies in front of Berth; empty trusts none (the header is then always ignored).</param>
    public ClientAddressResolver(IPNetworkList trustedProxies)
    {
        ArgumentNullException.ThrowIfNull(trustedProxies);
        _trustedProxies = trustedProxies;
    }

    /// <summary>
    /// The client's address: <paramref name="peer"/> (normalised) when it is not a trusted proxy or sent no usable
    /// header; else the right-most <c>X-Forwarded-For</c> address that is not a trusted proxy; when every entry is
    /// trusted, the left-most one. Reading stops at a malformed entry (<c>unknown</c>, an obfuscated name), and
    /// the last address reached is the answer. Entries may carry a port (<c>198.51.100.7:4711</c>, <c>[2001:db8::1]:80</c>).
    /// Null only when <paramref name="peer"/> is null.
    /// </summary>
    /// <param name="forwardedFor">Every <c>X-Forwarded-For</c> header value in the order received; each may be a comma-separated list.</param>
    public IPAddress? Resolve(IPAddress? peer, IEnumerable<string?> forwardedFor)
    {
        ArgumentNullException.ThrowIfNull(forwardedFor);
        if (peer is null)
        {
            return null;
        }

        var current = IPNetworkList.Normalize(peer);
        if (!_trustedProxies.Contains(current))
        {
            return current;
        }

        var entries = forwardedFor
            .Where(v => v is not null)
            .SelectMany(v => v!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToArray();
        for (var i = entries.Length - 1; i >= 0; i--)
        {
            if (!TryParseEntry(entries[i], out var address))
            {
                return current;
            }

            current = IPNetworkList.Normalize(address);
            if (!_trustedProxies.Contains(current))
            {
                return current;
            }
        }

        return current;
    }

    private static bool TryParseEntry(string entry, out IPAddress address)
    {
        address = IPAddress.None;
        ReadOnlySpan<char> host = entry;
        if (host.StartsWith('['))
        {
            // [v6] or [v6]:port
            var close = host.IndexOf(']');
            if (close < 0 || (close != host.Length - 1 && (host[close + 1] != ':' || !IsPort(host[(close + 2)..]))))
            {
                return false;
            }

            host = host[1..close];
        }
        else if (host.IndexOf(':') is var colon and >= 0 && host.LastIndexOf(':') == colon)
        {
            // v4:port (a single colon cannot be IPv6)
            if (!IsPort(host[(colon + 1)..]))
            {
                return false;
            }

            host = host[..colon];
        }

        if (!IPNetworkList.TryParseAddress(host, out var parsed))
        {
            return false;
        }

        address = parsed;
        return true;
    }

    private static bool IsPort(ReadOnlySpan<char> text) =>
        text.Length is > 0 and <= 5 && !text.ContainsAnyExceptInRange('0', '9') && int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) <= 65535;
}
