using System.Globalization;
using System.Text.Json.Nodes;

namespace Berth.Client;

/// <summary><c>berth audit</c>: the audit log, newest first.</summary>
internal static class AuditCommands
{
    public static readonly Column[] Columns =
    [
        new("TIME", e => Output.Time(e, "at")),
        new("ACTOR", e => e["actor"] is null ? Output.Text(e, "actorKind") : Output.Text(e, "actor")),
        new("ACTION", e => Output.Text(e, "action")),
        new("PROJECT", e => Output.Text(e, "project")),
        new("REPOSITORY", e => Output.Text(e, "repository")),
        new("CLIENT", e => Output.Text(e, "clientAddress")),
        new("DETAIL", e => Output.Text(e, "detail")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "audit",
            Summary = "Show the audit log, newest first (administrators; project owners with --project).",
            Details = """
                --since and --until take an ISO 8601 instant (2026-01-01T00:00:00Z) or a duration back from
                now (90m, 24h, 7d). Without --all, shows one page (--limit entries, default 100).
                """,
            Options =
            [
                new("--project", null, "PROJECT", "only this project"),
                new("--user", null, "USER", "only what this user or robot did"),
                new("--action", null, "ACTION", "only this action (e.g. project.create)"),
                new("--since", null, "WHEN", "only entries at or after WHEN"),
                new("--until", null, "WHEN", "only entries before WHEN"),
                new("--limit", null, "N", "entries per page, 1 to 1000"),
                new("--all", null, null, "every entry (follows the pages)"),
            ],
            Run = AuditAsync,
        },
    ];

    private static async Task<int> AuditAsync(CommandRun run)
    {
        string? limit = null;
        if (run.Option("--limit") is { } limitText)
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 1000)
            {
                throw new CommandLineException("--limit must be a number from 1 to 1000");
            }

            limit = n.ToString(CultureInfo.InvariantCulture);
        }

        var now = run.Context.Time.GetUtcNow();
        (string, string?)[] query =
        [
            ("project", run.Option("--project")),
            ("user", run.Option("--user")),
            ("action", run.Option("--action")),
            ("from", Instant(run.Option("--since"), "--since", now)),
            ("until", Instant(run.Option("--until"), "--until", now)),
            ("limit", limit),
        ];

        using var client = run.Connect();
        if (run.Switch("--all"))
        {
            run.PrintList(await client.GetAllAsync("/api/v1/audit", query), Columns);
            return 0;
        }

        var (items, next) = await client.GetPageAsync("/api/v1/audit" + ManagementClient.Query(query));
        run.PrintList(items, Columns);
        if (next is not null)
        {
            await run.Context.Error.WriteLineAsync($"berth: there are older entries; add --all to show them all (or --limit up to 1000, or --until {Oldest(items) ?? "WHEN"})");
        }

        return 0;
    }

    /// <summary><c>24h</c> → now minus 24 hours; an instant → itself, in UTC; both as ISO 8601 with milliseconds.</summary>
    /// <exception cref="CommandLineException">Neither a duration nor an instant.</exception>
    public static string? Instant(string? text, string option, DateTimeOffset now)
    {
        if (text is null)
        {
            return null;
        }

        DateTimeOffset instant;
        try
        {
            // A duration reaching back before the calendar starts means "since the beginning".
            var duration = ServeOptions.ParseDuration(text);
            instant = duration < now - DateTimeOffset.MinValue ? now - duration : DateTimeOffset.MinValue;
        }
        catch (FormatException)
        {
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out instant))
            {
                throw new CommandLineException($"{option} must be an ISO 8601 instant (2026-01-01T00:00:00Z) or a duration (90m, 24h, 7d)");
            }
        }

        return instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    }

    private static string? Oldest(JsonArray items) => items.Count > 0 && items[^1] is { } last ? Output.Scalar(last["at"]) : null;
}
