using System.Globalization;
using System.Net.Sockets;

namespace Berth.Testing.Servers;

/// <summary>What to do with the tests of a class that needs a server.</summary>
public enum ServerVerdict
{
    /// <summary>The server is reachable: run the tests.</summary>
    Run,

    /// <summary>The server is not reachable and this is not CI: report the tests as skipped.</summary>
    Skip,

    /// <summary>The server is not reachable in CI: fail the tests.</summary>
    Fail,
}

/// <summary>The decision for one <see cref="RequiresServerAttribute"/>, and the reason shown when it is not Run.</summary>
public sealed record ServerDecision(ServerVerdict Verdict, string? Reason);

public static class ServerRequirement
{
    /// <summary>How long a probe waits for the TCP connection before calling the server unreachable.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Decides for one requirement. <paramref name="environment"/> reads an environment variable (null when unset).</summary>
    public static ServerDecision Decide(RequiresServerAttribute requirement, Func<string, string?> environment, Func<string, bool> isReachable)
    {
        ArgumentNullException.ThrowIfNull(requirement);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(isReachable);
        var configured = environment(requirement.EndpointVariable);
        var endpoint = string.IsNullOrWhiteSpace(configured) ? requirement.DefaultEndpoint : configured.Trim();
        if (isReachable(endpoint))
        {
            return new ServerDecision(ServerVerdict.Run, null);
        }

        var reason = string.Create(CultureInfo.InvariantCulture,
            $"{requirement.Server} is not reachable at {endpoint} (set {requirement.EndpointVariable} to its host:port)");
        return string.IsNullOrEmpty(environment("CI"))
            ? new ServerDecision(ServerVerdict.Skip, reason)
            : new ServerDecision(ServerVerdict.Fail, reason + "; CI is set, and a server suite never skips in CI");
    }

    /// <summary>True when <paramref name="endpoint"/> (<c>host:port</c>) accepts a TCP connection within <see cref="ProbeTimeout"/>.</summary>
    public static bool IsReachable(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            return false;
        }

        var host = endpoint[..colon].Trim('[', ']');
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(ProbeTimeout);
            client.ConnectAsync(host, port, timeout.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
