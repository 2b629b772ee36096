using System.Globalization;
using System.Text.Json.Nodes;
using Berth.Core.Quotas;

namespace Berth.Client;

/// <summary><c>berth quota set|show</c>: a project's storage quota and usage.</summary>
internal static class QuotaCommands
{
    public static readonly Column[] Columns =
    [
        new("PROJECT", q => Output.Text(q, "project")),
        new("USED", q => Size(q, "usedBytes")),
        new("QUOTA", q => Quota(q, "quotaBytes")),
        new("USE", q => q["usedPercent"] is JsonValue value && value.TryGetValue<double>(out var percent)
            ? percent.ToString("0.#", CultureInfo.InvariantCulture) + "%" : "-"),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "quota show",
            Arguments = ["PROJECT"],
            Summary = "Show a project's storage usage and quota (members). Usage is the distinct blobs its manifests reference, "
                + "the manifests themselves and its uploads in progress.",
            Run = async run =>
            {
                using var client = run.Connect();
                run.Print(await client.GetAsync(QuotaPath(run.Argument(0))), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "quota set",
            Arguments = ["PROJECT", "SIZE"],
            Summary = "Set a project's storage quota (server administrators): SIZE such as 10GiB, 500MiB, 1.5T, a number of bytes, "
                + "or none for no quota. Pushes that would go beyond it are refused.",
            Run = async run =>
            {
                var text = run.Argument(1);
                JsonNode? bytes;
                if (text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase))
                {
                    bytes = null;
                }
                else if (ByteSize.TryParse(text, out var value))
                {
                    bytes = JsonValue.Create(value);
                }
                else
                {
                    throw new CommandLineException($"'{text}' is not a size (use e.g. 10GiB, 500MiB, or none)");
                }

                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Put, QuotaPath(run.Argument(0)), new JsonObject { ["bytes"] = bytes }), Columns);
                return 0;
            },
        },
    ];

    private static string QuotaPath(string project) => ProjectCommands.ProjectPath(project) + "/quota";

    /// <summary>A byte count as people read it (<c>9.8 GiB</c>); <c>-</c> when absent.</summary>
    public static string Size(JsonNode item, string name) =>
        item[name] is JsonValue value && value.TryGetValue<long>(out var bytes) ? ByteSize.Format(bytes) : "-";

    /// <summary>A quota; <c>none</c> when the project has none (null), <c>-</c> when the server did not say (an older one).</summary>
    public static string Quota(JsonNode item, string name) =>
        item is JsonObject o && o.TryGetPropertyValue(name, out var node)
            ? node is JsonValue value && value.TryGetValue<long>(out var bytes) ? ByteSize.Format(bytes) : "none"
            : "-";
}
