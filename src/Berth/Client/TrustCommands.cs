using System.Text.Json.Nodes;

namespace Berth.Client;

/// <summary>
/// <c>berth trust add|list|remove</c>: the public keys and root certificates that verify signatures, per project
/// (<c>--project</c>) or server-wide.
/// </summary>
internal static class TrustCommands
{
    /// <summary>The largest key or certificate file read (the server stores at most 64 KiB of PEM).</summary>
    private const long MaxFileBytes = 64 * 1024;

    private static readonly Column[] Columns =
    [
        new("NAME", e => Output.Text(e, "name")),
        new("PROJECT", e => e["project"] is null ? "(server-wide)" : Output.Text(e, "project")),
        new("KIND", e => Output.Text(e, "kind")),
        new("FINGERPRINT", e => Output.Text(e, "fingerprint")),
        new("IDENTITIES", e => e["identities"] is JsonArray { Count: > 0 } rules ? string.Join("; ", rules.Select(r => r?.GetValue<string>())) : "-"),
        new("BY", e => Output.Text(e, "createdBy")),
        new("CREATED", e => Output.Time(e, "createdAt")),
    ];

    private static readonly OptionSpec Project = new("--project", "-p", "PROJECT", "the project's trust (default: the server-wide trust, administrators)");

    private static string Path(string? project) =>
        project is null ? "/api/v1/trust" : ProjectCommands.ProjectPath(project) + "/trust";

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "trust add",
            Arguments = ["NAME"],
            Summary = "Trust a public key (--key) or a root certificate (--root with --identity) to verify signatures: in one project (--project; maintainers and above) or on every project (server administrators).",
            Details = """
                --key takes a PEM public key (berth key generate's NAME.pub, cosign.pub; ECDSA P-256/P-384, RSA, Ed25519).
                --root takes a PEM CA certificate; --identity (repeatable) says which signing certificates it vouches for:
                '*' (any it issues), 'x509.subject: C=US, O=Acme, CN=ci' (notation's trusted identities), 'email:ci@example.com'
                or 'uri:https://ci.example.com/*'. Keyless signing through public transparency services cannot be verified offline.
                """,
            Options =
            [
                Project,
                new("--key", null, "FILE", "a PEM public key file"),
                new("--root", null, "FILE", "a PEM root certificate file"),
                new("--identity", null, "RULE", "an identity the root may vouch for (repeat for more)", Repeatable: true),
            ],
            Run = async run =>
            {
                var key = run.Option("--key");
                var root = run.Option("--root");
                if ((key is null) == (root is null))
                {
                    throw new CommandLineException("give the public key (--key FILE.pub) or the root certificate (--root FILE.crt --identity RULE), one of them");
                }

                var identities = run.Arguments.Values("--identity");
                if (key is not null && identities.Count > 0)
                {
                    throw new CommandLineException("--identity goes with --root: a trusted key verifies whatever it signed");
                }

                if (root is not null && identities.Count == 0)
                {
                    throw new CommandLineException("--root needs at least one --identity ('*' for any certificate the root issues)");
                }

                var body = new JsonObject { ["name"] = run.Argument(0), ["pem"] = ReadPem(key ?? root!) };
                if (identities.Count > 0)
                {
                    body["identities"] = new JsonArray([.. identities.Select(i => (JsonNode)JsonValue.Create(i))]);
                }

                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Post, Path(run.Option("--project")), body), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "trust list",
            Summary = "The trusted keys and roots of a project (--project; its members) or the server-wide ones.",
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
            Path = "trust remove",
            Arguments = ["NAME"],
            Summary = "Stop trusting a key or root of a project (--project) or the server-wide one; signatures it made no longer count at once.",
            Options = [Project],
            Run = async run =>
            {
                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, Path(run.Option("--project")) + "/" + ManagementClient.Segment(run.Argument(0)), (JsonObject?)null);
                return run.Done($"Removed {run.Argument(0)} from the {(run.Option("--project") is { } p ? $"trust of {p}" : "server-wide trust")}");
            },
        },
    ];

    private static string ReadPem(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new CommandLineException($"{path}: no such file");
        }

        if (file.Length > MaxFileBytes)
        {
            throw new CommandLineException($"{path}: larger than {MaxFileBytes / 1024} KiB, not a PEM key or certificate");
        }

        return File.ReadAllText(path);
    }
}
