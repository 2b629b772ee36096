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

    public static readonly Column[] ScanPolicyColumns =
    [
        new("PROJECT", p => Output.Text(p, "project")),
        new("SCAN ON PUSH", p => Output.Text(p, "scanOnPush")),
        new("BLOCK SEVERITY", p => Output.Text(p, "blockSeverity")),
        new("BLOCK UNSCANNED", p => Output.Text(p, "blockUnscanned")),
        new("SBOM ON PUSH", p => Output.Text(p, "sbomOnPush")),
        new("SIGNED ONLY", p => Output.Text(p, "signedOnly")),
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
            Summary = "Change the description or the visibility of a project (owners, administrators), or its scanning policy (maintainers and above).",
            Details = """
                The scanning flags take true or false (--block-severity a severity or none); flags left out keep their value.
                --block-severity refuses pulls of images with findings at or above it (CVE allowlists: berth cve-allow);
                --block-unscanned refuses pulls of images not scanned yet; --scan-on-push scans each push (default true);
                --sbom-on-push attaches a CycloneDX SBOM to each pushed image.
                --signed-only refuses pulls of images without a valid signature from the project's trust (berth trust).
                """,
            Options =
            [
                Description,
                new("--public", null, null, "anyone may pull"),
                new("--private", null, null, "only members may pull"),
                new("--scan-on-push", null, "BOOL", "scan images when they are pushed"),
                new("--block-severity", null, "LEVEL", "refuse pulls of images with findings of CRITICAL, HIGH, MEDIUM or LOW and above; none to allow all"),
                new("--block-unscanned", null, "BOOL", "refuse pulls of images not scanned yet"),
                new("--sbom-on-push", null, "BOOL", "attach an SBOM to images when they are pushed"),
                new("--signed-only", null, "BOOL", "refuse pulls of images without a valid signature from the project's trust"),
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

                var policy = new JsonObject();
                foreach (var (flag, member) in new[] { ("--scan-on-push", "scanOnPush"), ("--block-unscanned", "blockUnscanned"), ("--sbom-on-push", "sbomOnPush"), ("--signed-only", "signedOnly") })
                {
                    if (run.Option(flag) is { } value)
                    {
                        policy[member] = value.ToLowerInvariant() switch
                        {
                            "true" => true,
                            "false" => false,
                            _ => throw new CommandLineException($"{flag} takes true or false, not '{value}'"),
                        };
                    }
                }

                if (run.Option("--block-severity") is { } severity)
                {
                    if (!Core.Scanning.ScanWords.TryParseBlockSeverity(severity, out _))
                    {
                        throw new CommandLineException($"--block-severity takes CRITICAL, HIGH, MEDIUM, LOW or none, not '{severity}'");
                    }

                    policy["blockSeverity"] = severity.ToUpperInvariant();
                }

                if (body.Count == 0 && policy.Count == 0)
                {
                    throw new CommandLineException("nothing to update: give --description, --public, --private or a policy flag (--scan-on-push, --block-severity, --block-unscanned, --sbom-on-push, --signed-only)");
                }

                using var client = run.Connect();
                if (body.Count > 0)
                {
                    run.Print(await client.SendAsync(HttpMethod.Patch, ProjectPath(run.Argument(0)), body), Columns);
                }

                if (policy.Count > 0)
                {
                    run.Print(await client.SendAsync(HttpMethod.Put, ProjectPath(run.Argument(0)) + "/scan-policy", policy), ScanPolicyColumns);
                }

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
