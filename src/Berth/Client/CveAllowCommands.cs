using System.Text.Json.Nodes;

namespace Berth.Client;

/// <summary><c>berth cve-allow add|list|remove</c>: vulnerabilities the pull policy lets through, per project or server-wide.</summary>
internal static class CveAllowCommands
{
    private static readonly Column[] Columns =
    [
        new("VULNERABILITY", e => Output.Text(e, "vulnerability")),
        new("PROJECT", e => e["project"] is null ? "(server-wide)" : Output.Text(e, "project")),
        new("EXPIRES", e => Output.Time(e, "expiresAt")),
        new("EXPIRED", e => Output.Text(e, "expired")),
        new("REASON", e => Output.Text(e, "reason")),
        new("BY", e => Output.Text(e, "createdBy")),
        new("CREATED", e => Output.Time(e, "createdAt")),
    ];

    private static readonly OptionSpec Project = new("--project", "-p", "PROJECT", "the project's allowlist (default: the server-wide one, administrators)");

    private static string Path(string? project) =>
        project is null ? "/api/v1/cve-allowlist" : ProjectCommands.ProjectPath(project) + "/cve-allowlist";

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "cve-allow add",
            Arguments = ["CVE-ID"],
            Summary = "Let pulls through despite this vulnerability: in one project (--project; maintainers and above) or on every project (server administrators).",
            Details = "--expires takes a date (the entry lasts through that day, UTC) or an RFC 3339 time; without it the entry never expires.",
            Options =
            [
                Project,
                new("--reason", null, "TEXT", "why it is allowed (shown in listings and the audit log)"),
                new("--expires", null, "DATE", "when the entry stops applying"),
            ],
            Run = async run =>
            {
                var body = new JsonObject { ["vulnerability"] = run.Argument(0) };
                if (run.Option("--reason") is { } reason)
                {
                    body["reason"] = reason;
                }

                if (run.Option("--expires") is { } expires)
                {
                    body["expiresAt"] = expires;
                }

                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Post, Path(run.Option("--project")), body), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "cve-allow list",
            Summary = "The allowlist of a project (--project; its members) or the server-wide one (server administrators), expired entries included.",
            Options = [Project],
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync(Path(run.Option("--project"))), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "cve-allow remove",
            Arguments = ["CVE-ID"],
            Summary = "Remove an entry from a project's allowlist (--project) or the server-wide one.",
            Options = [Project],
            Run = async run =>
            {
                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, Path(run.Option("--project")) + "/" + ManagementClient.Segment(run.Argument(0)), (JsonObject?)null);
                return run.Done($"Removed {run.Argument(0)} from the {(run.Option("--project") is { } p ? $"allowlist of {p}" : "server-wide allowlist")}");
            },
        },
    ];
}
