using System.Net;
using System.Text.Json.Nodes;
using static Berth.Client.ManagementClient;

namespace Berth.Client;

/// <summary><c>berth ip-allow list|add|remove</c>: server-wide rules, or a project's with <c>--project</c>.</summary>
internal static class IpAllowCommands
{
    private static readonly OptionSpec Project = new("--project", null, "PROJECT", "the project's list (owners) instead of the server-wide one (administrators)");

    public static readonly Column[] Columns =
    [
        new("ID", r => Output.Text(r, "id")),
        new("NETWORK", r => Output.Text(r, "network")),
        new("PROJECT", r => Output.Text(r, "project")),
        new("CREATED", r => Output.Time(r, "createdAt")),
        new("NOTE", r => Output.Text(r, "note")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "ip-allow list",
            Summary = "List the IP allow rules. An empty list allows every address.",
            Options = [Project],
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync(RulesPath(run)), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "ip-allow add",
            Arguments = ["CIDR"],
            Summary = "Allow a network (10.0.0.0/8, 2001:db8::/32; a single address means /32 or /128).",
            Options = [Project, new("--note", null, "TEXT", "why the rule exists")],
            Run = async run =>
            {
                var body = new JsonObject { ["network"] = Network(run.Argument(0)) };
                if (run.Option("--note") is { } note)
                {
                    body["note"] = note;
                }

                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Post, RulesPath(run), body), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "ip-allow remove",
            Arguments = ["ID"],
            Summary = "Remove an IP allow rule (the ID from 'berth ip-allow list').",
            Options = [Project],
            Run = async run =>
            {
                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, $"{RulesPath(run)}/{Segment(run.Argument(0))}", null);
                return run.Done($"Removed rule {run.Argument(0)}");
            },
        },
    ];

    /// <summary>A CIDR as given; a lone address as /32 or /128.</summary>
    /// <exception cref="CommandLineException">Neither, or a CIDR with bits set after the prefix (10.1.2.3/8).</exception>
    public static string Network(string text)
    {
        // IPNetwork.TryParse masks the host bits away; 10.1.2.3/8 is more likely a typo than a wish for 10.0.0.0/8.
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (IPNetwork.TryParse(text, out var network) && slash > 0
            && IPAddress.TryParse(text[..slash], out var written) && written.Equals(network.BaseAddress))
        {
            return network.ToString();
        }

        if (!text.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(text, out var address))
        {
            return new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128).ToString();
        }

        throw new CommandLineException($"'{text}' is not a network: use CIDR notation with the host bits zero, e.g. 10.0.0.0/8 or 2001:db8::/32");
    }

    private static string RulesPath(CommandRun run) =>
        run.Option("--project") is { } project ? ProjectCommands.ProjectPath(project) + "/ip-allow" : "/api/v1/ip-allow";
}
