using System.Text.Json.Nodes;
using static Berth.Client.ManagementClient;

namespace Berth.Client;

/// <summary><c>berth member add|set-role|list|remove</c>.</summary>
internal static class MemberCommands
{
    public static readonly string[] Roles = ["owner", "maintainer", "developer", "reader"];

    private static readonly OptionSpec Role = new("--role", null, "ROLE", "owner, maintainer, developer or reader");

    public static readonly Column[] Columns =
    [
        new("USER", m => Output.Text(m, "user")),
        new("ROLE", m => Output.Text(m, "role")),
        new("ADDED", m => Output.Time(m, "addedAt")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "member add",
            Arguments = ["PROJECT", "USER"],
            Summary = "Add a user to a project with a role (owners, administrators).",
            Details = """
                Roles: reader pulls; developer also pushes; maintainer also deletes and sees robots;
                owner also manages members, robots and the project's IP allow list.
                """,
            Options = [Role],
            Run = PutAsync,
        },
        new()
        {
            Path = "member set-role",
            Arguments = ["PROJECT", "USER"],
            Summary = "Change the role of a member (owners, administrators).",
            Options = [Role],
            Run = PutAsync,
        },
        new()
        {
            Path = "member list",
            Arguments = ["PROJECT"],
            Summary = "List the members of a project and their roles.",
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync(MembersPath(run.Argument(0))), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "member remove",
            Arguments = ["PROJECT", "USER"],
            Summary = "Remove a user from a project (owners, administrators).",
            Run = async run =>
            {
                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, $"{MembersPath(run.Argument(0))}/{Segment(run.Argument(1))}", null);
                return run.Done($"Removed {run.Argument(1)} from {run.Argument(0)}");
            },
        },
    ];

    private static async Task<int> PutAsync(CommandRun run)
    {
        var role = run.Option("--role") ?? throw new CommandLineException("missing --role ROLE");
        if (!Roles.Contains(role))
        {
            throw new CommandLineException($"--role must be one of {string.Join(", ", Roles)}");
        }

        using var client = run.Connect();
        var path = $"{MembersPath(run.Argument(0))}/{Segment(run.Argument(1))}";
        run.Print(await client.SendAsync(HttpMethod.Put, path, new JsonObject { ["role"] = role }), Columns);
        return 0;
    }

    private static string MembersPath(string project) => ProjectCommands.ProjectPath(project) + "/members";
}
