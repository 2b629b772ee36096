using System.Text.Json.Nodes;
using static Berth.Client.ManagementClient;

namespace Berth.Client;

/// <summary><c>berth project create|list|show|update|delete</c>.</summary>
internal static class ProjectCommands
{
    private static readonly OptionSpec Description = new("--description", null, "TEXT", "what the project holds");

    public static readonly Column[] Columns =
    [
        new("NAME", p => Output.Text(p, "name")),
        new("VISIBILITY", p => Output.Text(p, "visibility")),
        new("USED", p => QuotaCommands.Size(p, "usedBytes")),
        new("QUOTA", p => QuotaCommands.Quota(p, "quotaBytes")),
        new("CREATED", p => Output.Time(p, "createdAt")),
        new("DESCRIPTION", p => Output.Text(p, "description")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "project create",
            Arguments = ["NAME"],
            Summary = "Create a project (server administrators). Projects are private unless --public.",
            Options = [Description, new("--public", null, null, "anyone, even without logging in, may pull from it")],
            Run = async run =>
            {
                var body = new JsonObject { ["name"] = run.Argument(0) };
                if (run.Option("--description") is { } description)
                {
                    body["description"] = description;
                }

                if (run.Switch("--public"))
                {
                    body["public"] = true;
                }

                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Post, "/api/v1/projects", body), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "project list",
            Summary = "List the projects you may see.",
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync("/api/v1/projects"), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "project show",
            Arguments = ["NAME"],
            Summary = "Show one project.",
            Run = async run =>
            {
                using var client = run.Connect();
                run.Print(await client.GetAsync(ProjectPath(run.Argument(0))), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "project update",
            Arguments = ["NAME"],
            Summary = "Change the description or the visibility of a project (owners, administrators).",
            Options =
            [
                Description,
                new("--public", null, null, "anyone may pull"),
                new("--private", null, null, "only members may pull"),
            ],
            Run = async run =>
            {
                var body = new JsonObject();
                if (run.Option("--description") is { } description)
                {
                    body["description"] = description;
                }

                if (run.Choice("--public", "--private") is { } isPublic)
                {
                    body["public"] = isPublic;
                }

                if (body.Count == 0)
                {
                    throw new CommandLineException("nothing to update: give --description, --public or --private");
                }

                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Patch, ProjectPath(run.Argument(0)), body), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "project delete",
            Arguments = ["NAME"],
            Summary = "Delete a project (server administrators). Refused while it holds repositories, unless --force; a project created later under the name starts empty.",
            Options =
            [
                new("--force", null, null, "delete it with every repository, manifest and tag in it"),
                new("--force-immutable", null, null, "also when it holds immutable tags (server administrators)"),
            ],
            Run = async run =>
            {
                using var client = run.Connect();
                var query = Query(("force", run.Switch("--force") ? "true" : null), ("force-immutable", run.Switch("--force-immutable") ? "true" : null));
                await client.SendAsync(HttpMethod.Delete, ProjectPath(run.Argument(0)) + query, null);
                return run.Done($"Deleted project {run.Argument(0)}");
            },
        },
    ];

    public static string ProjectPath(string project) => $"/api/v1/projects/{Segment(project)}";
}
