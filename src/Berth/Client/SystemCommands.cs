using System.Text.Json.Nodes;

namespace Berth.Client;

/// <summary><c>berth system storage</c>: the free space of the blob store and its reserve (server administrators).</summary>
internal static class SystemCommands
{
    public static readonly Column[] StorageColumns =
    [
        new("STORAGE", s => Output.Text(s, "storage")),
        new("SIZE", s => Size(s, "totalBytes")),
        new("FREE", s => Size(s, "freeBytes")),
        new("RESERVE", s => Size(s, "reserveBytes")),
        new("UPLOADS", s => Output.Text(s, "uploads")),
        new("PATH", s => Output.Text(s, "path")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "system storage",
            Summary = "Show the free space of the blob store and its reserve; uploads are refused while free space is below the reserve (administrators).",
            Details = """
                An object store (S3, Azure Blob) has no figure of its own: its quota, if any, shows as refused pushes.
                --output json gives exact bytes.
                """,
            Run = async run =>
            {
                using var client = run.Connect();
                run.Print(await client.GetAsync("/api/v1/system/storage"), StorageColumns);
                return 0;
            },
        },
    ];

    private static string Size(JsonNode item, string name) =>
        item[name] is JsonValue value && value.TryGetValue<long>(out var bytes) ? RepositoryCommands.HumanSize(bytes) : "-";
}
