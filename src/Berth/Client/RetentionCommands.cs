using System.Globalization;
using System.Text.Json.Nodes;

namespace Berth.Client;

/// <summary><c>berth retention set|show|run|history|delete</c>: a project's retention policy, its runs and their history.</summary>
internal static class RetentionCommands
{
    public static readonly Column[] PolicyColumns =
    [
        new("PRESET", p => Output.Text(p, "preset")),
        new("SCHEDULE", p => Output.Text(p, "schedule")),
        new("ENABLED", p => Output.Text(p, "enabled")),
        new("NEXT RUN", p => Output.Time(p, "nextRunAt")),
        new("UPDATED", p => Output.Time(p, "updatedAt")),
    ];

    public static readonly Column[] RuleColumns =
    [
        new("RULE", r => Output.Text(r, "number")),
        new("KEEPS", r => Output.Text(r, "description")),
    ];

    public static readonly Column[] ItemColumns =
    [
        new("REPOSITORY", i => Output.Text(i, "repository")),
        new("DIGEST", i => Output.Text(i, "digest")),
        new("TAGS", i => Output.List(i, "tags", "-")),
        new("SIZE", i => Size(i, "size")),
        new("OUTCOME", i => Output.Text(i, "outcome")),
        new("REASON", i => Output.Text(i, "reason")),
    ];

    public static readonly Column[] RunColumns =
    [
        new("ID", r => Output.Text(r, "id")),
        new("STARTED", r => Output.Time(r, "startedAt")),
        new("TRIGGER", r => Output.Text(r, "trigger")),
        new("DRY RUN", r => Output.Text(r, "dryRun")),
        new("STATUS", r => Output.Text(r, "status")),
        new("DELETED", r => Output.Text(r, "artifactsDeleted")),
        new("SKIPPED", r => Output.Text(r, "skipped")),
        new("FREED", r => Size(r, "bytesFreed")),
        new("BY", r => Output.Text(r, "actor")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "retention set",
            Arguments = ["PROJECT"],
            Summary = "Set the retention policy of a project (maintainers and above): --preset lab, or rules built from the flags below. "
                + "Runs delete what no rule keeps, per repository; immutable tags, children and referrers of kept artifacts are always kept.",
            Details = "Without --preset, the flags make up to four rules (an artifact any rule keeps is kept):\n"
                + "  --keep-latest N [--keep-within D]  keep the N most recently pushed tagged artifacts (that were also pulled, else pushed, within D)\n"
                + "  --keep-within D                    (alone) keep tagged artifacts pulled (else pushed) within D\n"
                + "  --keep-tags GLOBS                  always keep artifacts with these tags (for example latest,stable)\n"
                + "  --untagged-after D                 keep untagged artifacts for D after their push\n"
                + "--tags/--exclude-tags narrow the tags the first two rules count; --repositories/--exclude-repositories the repositories every rule covers.\n"
                + "D is a whole number and a unit: 30d, 12h, 90m, 45s. The schedule is a five-field cron expression in UTC (default '0 3 * * *').",
            Options =
            [
                new("--preset", null, "NAME", "the lab policy ('lab'): per repository keep 'latest', the 10 most recently pushed tagged artifacts used in the last 30 days, and untagged ones for the GC grace window"),
                new("--keep-latest", null, "N", "keep the N most recently pushed tagged artifacts"),
                new("--keep-within", null, "DURATION", "with --keep-latest: only those used within DURATION; alone: keep tagged artifacts used within DURATION"),
                new("--keep-tags", null, "GLOBS", "always keep artifacts with these tags"),
                new("--untagged-after", null, "DURATION", "delete untagged artifacts older than DURATION"),
                new("--tags", null, "GLOBS", "tags --keep-latest/--keep-within count (default all)"),
                new("--exclude-tags", null, "GLOBS", "tags --keep-latest/--keep-within do not count"),
                new("--repositories", null, "GLOBS", "repositories (relative to the project) the policy covers; default all"),
                new("--exclude-repositories", null, "GLOBS", "repositories the policy leaves alone"),
                new("--schedule", null, "CRON", "when scheduled runs happen, UTC (default '0 3 * * *')"),
                new("--disabled", null, null, "no scheduled runs (runs by hand still work)"),
            ],
            Run = async run =>
            {
                var body = new JsonObject();
                if (run.Option("--preset") is { } preset)
                {
                    if (new[] { "--keep-latest", "--keep-within", "--keep-tags", "--untagged-after", "--tags", "--exclude-tags", "--repositories", "--exclude-repositories" }.FirstOrDefault(run.Switch) is { } extra)
                    {
                        throw new CommandLineException($"--preset sets the whole policy: give it without {extra}");
                    }

                    body["preset"] = preset;
                }
                else
                {
                    body["rules"] = Rules(run);
                }

                if (run.Option("--schedule") is { } schedule)
                {
                    body["schedule"] = schedule;
                }

                if (run.Switch("--disabled"))
                {
                    body["enabled"] = false;
                }

                using var client = run.Connect();
                PrintPolicy(run, await client.SendAsync(HttpMethod.Put, PolicyPath(run.Argument(0)), body));
                return 0;
            },
        },
        new()
        {
            Path = "retention show",
            Arguments = ["PROJECT"],
            Summary = "Show the retention policy of a project, rule by rule, and its next scheduled run (members).",
            Run = async run =>
            {
                using var client = run.Connect();
                PrintPolicy(run, await client.GetAsync(PolicyPath(run.Argument(0))));
                return 0;
            },
        },
        new()
        {
            Path = "retention run",
            Arguments = ["PROJECT"],
            Summary = "Run the retention policy of a project now (maintainers and above) and list what it deleted; with --dry-run, what it would delete.",
            Options = [new("--dry-run", null, null, "delete nothing; list what would go and the bytes it would free")],
            Run = async run =>
            {
                using var client = run.Connect();
                client.Timeout = System.Threading.Timeout.InfiniteTimeSpan; // a run over a large project takes minutes; the server answers when it ends
                var dryRun = run.Switch("--dry-run");
                var answer = (await client.SendAsync(HttpMethod.Post, PolicyPath(run.Argument(0)) + "/runs", new JsonObject { ["dryRun"] = dryRun }))!.AsObject();
                await ReadAllItemsAsync(client, run.Argument(0), answer);
                if (run.Json)
                {
                    Output.Json(run.Out, answer);
                    return 0;
                }

                var items = answer["items"] as JsonArray ?? [];
                if (items.Count > 0)
                {
                    Output.Table(run.Out, ItemColumns, items);
                }

                var count = Output.Text(answer, "artifactsDeleted");
                var bytes = RepositoryCommands.HumanSize(answer["bytesFreed"]?.GetValue<long>() ?? 0);
                run.Out.WriteLine(dryRun
                    ? $"Dry run {Output.Text(answer, "id")}: {count} artifacts would be deleted, freeing {bytes}"
                    : $"Run {Output.Text(answer, "id")}: {count} artifacts deleted ({Output.Text(answer, "skipped")} skipped), freeing {bytes} once garbage collection runs");
                if (answer["status"]?.GetValue<string>() == "failed")
                {
                    run.Out.WriteLine($"The run failed: {Output.Text(answer, "error")}");
                    return 1;
                }

                return 0;
            },
        },
        new()
        {
            Path = "retention history",
            Arguments = ["PROJECT", "RUN"],
            RequiredArguments = 1,
            Summary = "List the retention runs of a project, newest first (members); with RUN, that run's artifacts.",
            Run = async run =>
            {
                using var client = run.Connect();
                if (run.OptionalArgument(1) is not { } id)
                {
                    run.PrintList(await client.GetAllAsync(PolicyPath(run.Argument(0)) + "/runs"), RunColumns);
                    return 0;
                }

                if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var runId))
                {
                    throw new CommandLineException($"'{id}' is not a run ID (see 'berth retention history {run.Argument(0)}')");
                }

                var answer = (await client.GetAsync($"{PolicyPath(run.Argument(0))}/runs/{runId}"))!.AsObject();
                await ReadAllItemsAsync(client, run.Argument(0), answer);
                if (run.Json)
                {
                    Output.Json(run.Out, answer);
                    return 0;
                }

                Output.Table(run.Out, RunColumns, [answer]);
                if (answer["items"] is JsonArray { Count: > 0 } items)
                {
                    run.Out.WriteLine();
                    Output.Table(run.Out, ItemColumns, items);
                }

                return 0;
            },
        },
        new()
        {
            Path = "retention delete",
            Arguments = ["PROJECT"],
            Summary = "Remove the retention policy of a project (maintainers and above); its run history stays.",
            Run = async run =>
            {
                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, PolicyPath(run.Argument(0)), null);
                return run.Done($"Removed the retention policy of project {run.Argument(0)}");
            },
        },
    ];

    private static string PolicyPath(string project) => ProjectCommands.ProjectPath(project) + "/retention";

    private static void PrintPolicy(CommandRun run, JsonNode? policy)
    {
        if (run.Json || policy is null)
        {
            run.Print(policy, PolicyColumns);
            return;
        }

        Output.Table(run.Out, PolicyColumns, [policy]);
        run.Out.WriteLine();
        var rules = (policy["rules"] as JsonArray ?? []).Select((r, i) => (JsonNode)new JsonObject
        {
            ["number"] = i + 1,
            ["description"] = r?["description"]?.GetValue<string>(),
        });
        Output.Table(run.Out, RuleColumns, rules);
    }

    /// <summary>Appends the items of the later pages (<c>itemsNext</c>) to the answer's <c>items</c>.</summary>
    private static async Task ReadAllItemsAsync(ManagementClient client, string project, JsonObject answer)
    {
        var id = answer["id"]?.GetValue<long>();
        while (answer["itemsNext"]?.GetValue<string>() is { } next && id is not null)
        {
            var page = (await client.GetAsync($"{PolicyPath(project)}/runs/{id}?after={Uri.EscapeDataString(next)}"))!.AsObject();
            var items = (JsonArray)answer["items"]!;
            foreach (var item in (page["items"] as JsonArray ?? []).ToList())
            {
                items.Add(item?.DeepClone());
            }

            answer["itemsNext"] = page["itemsNext"]?.DeepClone();
        }
    }

    private static JsonArray Rules(CommandRun run)
    {
        var rules = new JsonArray();
        var repositories = Filter(run.Option("--repositories"), run.Option("--exclude-repositories"));
        var tags = Filter(run.Option("--tags"), run.Option("--exclude-tags"));
        JsonObject Rule(JsonObject? tagFilter)
        {
            var rule = new JsonObject();
            if (repositories is not null)
            {
                rule["repositories"] = repositories.DeepClone();
            }

            if (tagFilter is not null)
            {
                rule["tags"] = tagFilter.DeepClone();
            }

            return rule;
        }

        var within = run.Option("--keep-within");
        if (run.Option("--keep-latest") is { } latest)
        {
            if (!int.TryParse(latest, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
            {
                throw new CommandLineException($"--keep-latest '{latest}' is not a positive whole number");
            }

            var rule = Rule(tags);
            rule["latestPushed"] = n;
            if (within is not null)
            {
                rule["pulledWithin"] = within;
            }

            rules.Add(rule);
        }
        else if (within is not null)
        {
            var rule = Rule(tags);
            rule["pulledWithin"] = within;
            rules.Add(rule);
        }

        if (run.Option("--keep-tags") is { } keep)
        {
            var rule = Rule(Filter(keep, null));
            rule["always"] = true;
            rules.Add(rule);
        }

        if (run.Option("--untagged-after") is { } untagged)
        {
            var rule = Rule(null);
            rule["untagged"] = true;
            rule["pushedWithin"] = untagged;
            rules.Add(rule);
        }

        if (rules.Count == 0)
        {
            throw new CommandLineException("give --preset lab, or at least one of --keep-latest, --keep-within, --keep-tags, --untagged-after");
        }

        return rules;
    }

    private static JsonObject? Filter(string? matching, string? excluding)
    {
        if (matching is null && excluding is null)
        {
            return null;
        }

        var filter = new JsonObject();
        if (matching is not null)
        {
            filter["matching"] = new JsonArray(ImmutabilityCommands.SplitGlobs(matching).Select(g => (JsonNode)JsonValue.Create(g)).ToArray());
        }

        if (excluding is not null)
        {
            filter["excluding"] = new JsonArray(ImmutabilityCommands.SplitGlobs(excluding).Select(g => (JsonNode)JsonValue.Create(g)).ToArray());
        }

        return filter;
    }

    private static string Size(JsonNode item, string name) =>
        item[name] is JsonValue value && value.TryGetValue<long>(out var bytes) ? RepositoryCommands.HumanSize(bytes) : "-";
}
