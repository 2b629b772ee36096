using System.Globalization;
using System.Text.Json.Nodes;
using static Berth.Client.ManagementClient;

namespace Berth.Client;

/// <summary><c>berth repo list|delete</c> and <c>berth tag list|delete</c>.</summary>
internal static class RepositoryCommands
{
    public static readonly Column[] RepositoryColumns =
    [
        new("NAME", r => Output.Text(r, "name")),
        new("TAGS", r => Output.Text(r, "tagCount")),
        new("MANIFESTS", r => Output.Text(r, "manifestCount")),
        new("SIZE", r => Size(r, "size")),
        new("LAST PUSH", r => Output.Time(r, "lastPushedAt")),
        new("LAST PULL", r => Output.Time(r, "lastPulledAt")),
    ];

    public static readonly Column[] TagColumns =
    [
        new("TAG", t => Output.Text(t, "name")),
        new("DIGEST", t => Output.Text(t, "digest")),
        new("SIZE", t => Size(t, "size")),
        new("PUSHED", t => Output.Time(t, "pushedAt")),
        new("LAST PULL", t => Output.Time(t, "lastPulledAt")),
        new("MEDIA TYPE", t => Output.Text(t, "mediaType")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "repo list",
            Arguments = ["PROJECT"],
            Summary = "List the repositories of a project with their tags, manifests, size (distinct blobs) and last push and pull.",
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync($"/api/v1/projects/{Segment(run.Argument(0))}/repositories"), RepositoryColumns);
                return 0;
            },
        },
        new()
        {
            Path = "repo delete",
            Arguments = ["REPOSITORY"],
            Summary = "Delete a repository with its manifests and tags (maintainers and above); blobs are left for garbage collection.",
            Options =
            [
                new("--yes", "-y", null, "do not ask for confirmation"),
                new("--force-immutable", null, null, "also when it holds immutable tags (server administrators)"),
            ],
            Run = async run =>
            {
                var repository = run.Argument(0);
                if (!run.Switch("--yes"))
                {
                    var answer = run.Context.Prompt?.Invoke($"Delete repository {repository} with all its manifests and tags? [y/N] ", true)
                        ?? throw new CommandLineException("not a terminal: give --yes to delete without asking");
                    if (!answer.Trim().Equals("y", StringComparison.OrdinalIgnoreCase) && !answer.Trim().Equals("yes", StringComparison.OrdinalIgnoreCase))
                    {
                        return run.Done("Nothing deleted");
                    }
                }

                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, "/api/v1/repositories"
                    + Query(("repository", repository), ("force-immutable", run.Switch("--force-immutable") ? "true" : null)), null);
                return run.Done($"Deleted repository {repository}");
            },
        },
        new()
        {
            Path = "tag list",
            Arguments = ["REPOSITORY"],
            Summary = "List the tags of a repository with the digest, size and push and pull times of the image each points at.",
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync("/api/v1/repositories/tags", ("repository", run.Argument(0))), TagColumns);
                return 0;
            },
        },
        new()
        {
            Path = "tag delete",
            Arguments = ["REPOSITORY:TAG"],
            Summary = "Delete a tag (maintainers and above); the image stays, reachable by digest.",
            Run = async run =>
            {
                var (repository, tag) = SplitTag(run.Argument(0));
                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, "/api/v1/repositories/tags" + Query(("repository", repository), ("tag", tag)), null);
                return run.Done($"Deleted tag {repository}:{tag}");
            },
        },
    ];

    /// <summary><c>shop/app:v1</c> → (<c>shop/app</c>, <c>v1</c>): the tag follows the last ':' (a repository name has none).</summary>
    /// <exception cref="CommandLineException">No tag, or no repository before it.</exception>
    public static (string Repository, string Tag) SplitTag(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1 || text.IndexOf('/', colon) >= 0)
        {
            throw new CommandLineException($"'{text}' is not REPOSITORY:TAG (for example shop/app:v1)");
        }

        return (text[..colon], text[(colon + 1)..]);
    }

    private static string Size(JsonNode item, string name) =>
        item[name] is JsonValue value && value.TryGetValue<long>(out var bytes) ? HumanSize(bytes) : "-";

    /// <summary>Bytes in binary units with one decimal: <c>512 B</c>, <c>1.5 KiB</c>, <c>12.3 MiB</c>.</summary>
    public static string HumanSize(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if (bytes < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        }

        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return value.ToString("0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }
}
