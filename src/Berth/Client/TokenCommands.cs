using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Berth.Client;

/// <summary><c>berth token create|list|revoke</c>: your own access tokens.</summary>
internal static partial class TokenCommands
{
    public static readonly string[] Scopes = ["pull", "pull,push", "pull,push,delete"];

    public static readonly OptionSpec Name = new("--name", null, "NAME", "what the token is for (e.g. ci-deploy)");
    public static readonly OptionSpec Expires = new("--expires", null, "WHEN", "a duration (30d, 12h, 90m) or an ISO 8601 instant; default 90 days, at most 365 days");
    public static readonly OptionSpec Scope = new("--scope", null, "SCOPE", "pull, pull,push or pull,push,delete");

    public static readonly Column[] Columns =
    [
        new("ID", t => Output.Text(t, "id")),
        new("NAME", t => Output.Text(t, "name")),
        new("STATE", t => Output.Text(t, "state")),
        new("SCOPE", t => Output.Text(t, "scope")),
        new("PROJECTS", t => Output.List(t, "projects", "all")),
        new("CREATED", t => Output.Time(t, "createdAt")),
        new("EXPIRES", t => Output.Time(t, "expiresAt")),
        new("LAST USED", t => Output.Time(t, "lastUsedAt")),
        new("REVOKED", t => Output.Time(t, "revokedAt")),
    ];

    private static readonly Column[] NewColumns = [.. Columns.Where(c => c.Header is "ID" or "NAME" or "SCOPE" or "PROJECTS" or "EXPIRES")];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "token create",
            Summary = "Create an access token for docker login and CI (the secret is shown once).",
            Details = """
                A token pulls (and pushes, deletes) with your rights, narrowed to its scope and, with
                --project, to those projects. It cannot administer.

                Example:
                  berth token create --name ci --scope pull,push --project web --expires 30d
                """,
            Options = [Name, Scope, new("--project", null, "PROJECT", "limit the token to this project (repeat for more; default all yours)", Repeatable: true), Expires],
            Run = async run =>
            {
                var body = new JsonObject { ["name"] = RequiredName(run), ["scope"] = RequiredScope(run) };
                if (run.Arguments.Values("--project") is { Count: > 0 } projects)
                {
                    body["projects"] = new JsonArray([.. projects.Select(p => (JsonNode)p)]);
                }

                if (ValidExpires(run) is { } expires)
                {
                    body["expires"] = expires;
                }

                using var client = run.Connect();
                PrintNewToken(run, await client.SendAsync(HttpMethod.Post, "/api/v1/tokens", body), null);
                return 0;
            },
        },
        new()
        {
            Path = "token list",
            Summary = "List your access tokens (never their secrets), with their state: active, expired or revoked.",
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync("/api/v1/tokens"), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "token revoke",
            Arguments = ["ID"],
            Summary = "Revoke an access token (the ID from 'berth token list').",
            Run = async run =>
            {
                var id = TokenId(run.Argument(0));
                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, $"/api/v1/tokens/{id}", null);
                return run.Done($"Revoked token {id}");
            },
        },
    ];

    public static string RequiredName(CommandRun run) =>
        run.Option("--name") is { Length: > 0 } name ? name : throw new CommandLineException("missing --name NAME");

    public static string RequiredScope(CommandRun run)
    {
        var scope = run.Option("--scope") ?? throw new CommandLineException("missing --scope SCOPE");
        return ValidScope(scope);
    }

    public static string ValidScope(string scope) => Scopes.Contains(scope)
        ? scope
        : throw new CommandLineException($"--scope must be one of {string.Join(", ", Scopes)}");

    /// <summary>The <c>--expires</c> value as given, after checking it is a duration or an instant; null when absent.</summary>
    public static string? ValidExpires(CommandRun run)
    {
        if (run.Option("--expires") is not { } expires)
        {
            return null;
        }

        var isInstant = expires.Contains('T', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(expires, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _);
        return DurationPattern().IsMatch(expires) || isInstant
            ? expires
            : throw new CommandLineException("--expires must be a duration (30d, 12h, 90m) or an ISO 8601 instant (2027-01-31T00:00:00Z)");
    }

    public static long TokenId(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0
            ? id
            : throw new CommandLineException("a token ID is a positive number (see the ID column of the token list)");

    /// <summary>A NewToken: the JSON as sent (the secret in <c>token</c>), or its row, then the secret once with a warning.</summary>
    public static void PrintNewToken(CommandRun run, JsonNode? token, string? loginName)
    {
        if (run.Json || token is null)
        {
            Output.Json(run.Out, token);
            return;
        }

        Output.Table(run.Out, NewColumns, [token]);
        run.Out.WriteLine();
        if (loginName is not null)
        {
            run.Out.WriteLine($"User name: {loginName}");
        }

        run.Out.WriteLine($"Token: {Output.Clean(Output.Scalar(token["token"]) ?? "(the server sent none)")}");
        run.Out.WriteLine("Copy the token now: it is shown only this once and cannot be shown again.");
    }

    [GeneratedRegex("^[1-9][0-9]*[dhm]$")]
    private static partial Regex DurationPattern();
}
