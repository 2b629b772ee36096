using System.Text.Json.Nodes;
using static Berth.Client.ManagementClient;

namespace Berth.Client;

/// <summary><c>berth robot ...</c>: robot accounts of a project (for CI) and their tokens.</summary>
internal static class RobotCommands
{
    private static readonly OptionSpec Description = new("--description", null, "TEXT", "what the robot is for");

    public static readonly Column[] Columns =
    [
        new("NAME", r => Output.Text(r, "name")),
        new("FULL NAME", r => Output.Text(r, "fullName")),
        new("SCOPE", r => Output.Text(r, "scope")),
        new("DISABLED", r => Output.Text(r, "disabled")),
        new("CREATED", r => Output.Time(r, "createdAt")),
        new("DESCRIPTION", r => Output.Text(r, "description")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "robot create",
            Arguments = ["PROJECT", "NAME"],
            Summary = "Create a robot account in a project (owners, administrators).",
            Details = """
                A robot logs in as PROJECT+NAME with one of its tokens ('berth robot token create').

                Example:
                  berth robot create web deployer --scope pull,push --description "CI of web"
                """,
            Options = [TokenCommands.Scope, Description],
            Run = async run =>
            {
                var body = new JsonObject { ["name"] = run.Argument(1) };
                if (run.Option("--description") is { } description)
                {
                    body["description"] = description;
                }

                body["scope"] = TokenCommands.RequiredScope(run);
                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Post, RobotsPath(run.Argument(0)), body), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "robot list",
            Arguments = ["PROJECT"],
            Summary = "List the robot accounts of a project (owners, maintainers, administrators).",
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync(RobotsPath(run.Argument(0))), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "robot show",
            Arguments = ["PROJECT", "NAME"],
            Summary = "Show one robot account.",
            Run = async run =>
            {
                using var client = run.Connect();
                run.Print(await client.GetAsync(RobotPath(run)), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "robot update",
            Arguments = ["PROJECT", "NAME"],
            Summary = "Change a robot's scope or description, or disable it (owners, administrators).",
            Options =
            [
                TokenCommands.Scope,
                Description,
                new("--disable", null, null, "refuse the robot's tokens"),
                new("--enable", null, null, "accept them again"),
            ],
            Run = async run =>
            {
                var body = new JsonObject();
                var disabled = run.Choice("--disable", "--enable");
                if (run.Option("--description") is { } description)
                {
                    body["description"] = description;
                }

                if (run.Option("--scope") is { } scope)
                {
                    body["scope"] = TokenCommands.ValidScope(scope);
                }

                if (disabled is not null)
                {
                    body["disabled"] = disabled;
                }

                if (body.Count == 0)
                {
                    throw new CommandLineException("nothing to update: give --scope, --description, --disable or --enable");
                }

                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Patch, RobotPath(run), body), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "robot delete",
            Arguments = ["PROJECT", "NAME"],
            Summary = "Delete a robot account and its tokens (owners, administrators).",
            Run = async run =>
            {
                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, RobotPath(run), null);
                return run.Done($"Deleted robot {run.Argument(0)}+{run.Argument(1)}");
            },
        },
        new()
        {
            Path = "robot token create",
            Arguments = ["PROJECT", "NAME"],
            Summary = "Create a token for a robot account (the secret is shown once).",
            Options = [TokenCommands.Name, TokenCommands.Expires],
            Run = async run =>
            {
                var body = new JsonObject { ["name"] = TokenCommands.RequiredName(run) };
                if (TokenCommands.ValidExpires(run) is { } expires)
                {
                    body["expires"] = expires;
                }

                using var client = run.Connect();
                var token = await client.SendAsync(HttpMethod.Post, RobotPath(run) + "/tokens", body);
                TokenCommands.PrintNewToken(run, token, $"{run.Argument(0)}+{run.Argument(1)}");
                return 0;
            },
        },
        new()
        {
            Path = "robot token list",
            Arguments = ["PROJECT", "NAME"],
            Summary = "List the tokens of a robot account (never their secrets).",
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync(RobotPath(run) + "/tokens"), TokenCommands.Columns);
                return 0;
            },
        },
        new()
        {
            Path = "robot token revoke",
            Arguments = ["PROJECT", "NAME", "ID"],
            Summary = "Revoke a token of a robot account.",
            Run = async run =>
            {
                var id = TokenCommands.TokenId(run.Argument(2));
                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, $"{RobotPath(run)}/tokens/{id}", null);
                return run.Done($"Revoked token {id}");
            },
        },
    ];

    private static string RobotsPath(string project) => ProjectCommands.ProjectPath(project) + "/robots";

    private static string RobotPath(CommandRun run) => $"{RobotsPath(run.Argument(0))}/{Segment(run.Argument(1))}";
}
