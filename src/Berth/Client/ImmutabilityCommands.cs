using System.Text.Json.Nodes;
using static Berth.Client.ManagementClient;

namespace Berth.Client;

/// <summary><c>berth immutability add|list|remove</c>: a project's tag immutability rules.</summary>
internal static class ImmutabilityCommands
{
    public static readonly Column[] Columns =
    [
        new("ID", r => Output.Text(r, "id")),
        new("RULE", r => Output.Text(r, "description")),
        new("CREATED", r => Output.Time(r, "createdAt")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "immutability list",
            Arguments = ["PROJECT"],
            Summary = "List the tag immutability rules of a project (members).",
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync(RulesPath(run.Argument(0))), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "immutability add",
            Arguments = ["PROJECT"],
            Summary = "Make tags immutable (maintainers and above): a tag selected by --tags (and not --exclude-tags) in a repository selected by "
                + "--repositories (default: all; paths relative to the project) can no longer be moved or deleted. GLOBS is a comma-separated list "
                + "of patterns: * (not across /), ** (across /), ?, {a,b}. Example: --tags 'v*' --exclude-tags latest,dev,stable.",
            Options =
            [
                new("--tags", null, "GLOBS", "tags the rule makes immutable"),
                new("--exclude-tags", null, "GLOBS", "tags the rule leaves movable"),
                new("--repositories", null, "GLOBS", "repositories (relative to the project) the rule applies to; default all"),
                new("--exclude-repositories", null, "GLOBS", "repositories the rule does not apply to"),
            ],
            Run = async run =>
            {
                var tags = Filter(run.Option("--tags"), run.Option("--exclude-tags"));
                if (tags is null)
                {
                    throw new CommandLineException("give --tags GLOBS (and optionally --exclude-tags GLOBS), for example --tags 'v*' --exclude-tags latest");
                }

                var body = new JsonObject { ["tags"] = tags };
                if (Filter(run.Option("--repositories"), run.Option("--exclude-repositories")) is { } repositories)
                {
                    body["repositories"] = repositories;
                }

                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Post, RulesPath(run.Argument(0)), body), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "immutability remove",
            Arguments = ["PROJECT", "ID"],
            Summary = "Remove a tag immutability rule (maintainers and above; the ID from 'berth immutability list').",
            Run = async run =>
            {
                if (!long.TryParse(run.Argument(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
                {
                    throw new CommandLineException($"'{run.Argument(1)}' is not a rule ID (see 'berth immutability list {run.Argument(0)}')");
                }

                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, $"{RulesPath(run.Argument(0))}/{id}", null);
                return run.Done($"Removed immutability rule {id} of project {run.Argument(0)}");
            },
        },
    ];

    private static string RulesPath(string project) => ProjectCommands.ProjectPath(project) + "/immutability";

    private static JsonObject? Filter(string? matching, string? excluding)
    {
        if (matching is null && excluding is null)
        {
            return null;
        }

        var filter = new JsonObject();
        if (matching is not null)
        {
            filter["matching"] = new JsonArray(SplitGlobs(matching).Select(g => (JsonNode)JsonValue.Create(g)).ToArray());
        }

        if (excluding is not null)
        {
            filter["excluding"] = new JsonArray(SplitGlobs(excluding).Select(g => (JsonNode)JsonValue.Create(g)).ToArray());
        }

        return filter;
    }

    /// <summary>
    /// <c>v*,{dev,stable}</c> → <c>v*</c>, <c>{dev,stable}</c>: a comma-separated list whose commas inside braces belong
    /// to the pattern. Empty entries are dropped; the server validates each pattern.
    /// </summary>
    public static IReadOnlyList<string> SplitGlobs(string text)
    {
        var list = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] == ',' && depth == 0))
            {
                var item = text[start..i].Trim();
                if (item.Length > 0)
                {
                    list.Add(item);
                }

                start = i + 1;
            }
            else if (text[i] == '{')
            {
                depth++;
            }
            else if (text[i] == '}' && depth > 0)
            {
                depth--;
            }
        }

        return list;
    }
}
