using System.Globalization;
using System.Text.Json.Nodes;

namespace Berth.Client;

/// <summary><c>berth gc run|status</c>: garbage collection of unreferenced blobs (server administrators).</summary>
internal static class GcCommands
{
    /// <summary>How often <c>berth gc run</c> asks how the run is going.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    public static readonly Column[] RunColumns =
    [
        new("RUN", r => Output.Text(r, "id")),
        new("DRY RUN", r => Output.Text(r, "dryRun")),
        new("STATE", r => Output.Text(r, "state")),
        new("STARTED", r => Output.Time(r, "startedAt")),
        new("SECONDS", r => Output.Text(r, "seconds")),
        new("EXAMINED", r => Output.Text(r, "blobsExamined")),
        new("COLLECTED", r => Output.Text(r, "blobsCollected")),
        new("FREED", r => r["bytesFreed"] is JsonValue v && v.TryGetValue<long>(out var bytes) ? RepositoryCommands.HumanSize(bytes) : "-"),
        new("BY", r => Output.Text(r, "trigger")),
    ];

    private static readonly Column[] BlobColumns =
    [
        new("DIGEST", b => Output.Text(b, "digest")),
        new("SIZE", b => b["size"] is JsonValue v && v.TryGetValue<long>(out var bytes) ? RepositoryCommands.HumanSize(bytes) : "-"),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "gc run",
            Summary = "Collect garbage now: delete the blobs no manifest references once older than the server's grace window (administrators). "
                + "Waits for the run to end and prints its report; --dry-run only lists what would go.",
            Details = """
                The grace window is the server's (--gc-grace); no run can shorten it. Pushes and pulls go on meanwhile.
                --output json prints the whole report (blobs and bytes freed, time, the blobs named, at most 1000).
                """,
            Options = [new("--dry-run", null, null, "list what would be collected; delete nothing")],
            Run = async run =>
            {
                using var client = run.Connect();
                var started = await client.SendAsync(HttpMethod.Post, "/api/v1/system/gc", new JsonObject { ["dryRun"] = run.Switch("--dry-run") });
                var report = started ?? throw new ClientException("the server answered no run");
                var id = Output.Text(report, "id");
                while (Output.Text(report, "state") == "running")
                {
                    await Task.Delay(Poll);
                    report = await client.GetAsync($"/api/v1/system/gc/{Uri.EscapeDataString(id)}") ?? throw new ClientException("the server answered no run");
                }

                if (run.Json)
                {
                    Output.Json(run.Out, report);
                }
                else
                {
                    var dryRun = report["dryRun"] is JsonValue d && d.TryGetValue<bool>(out var isDry) && isDry;
                    var blobs = report["blobs"] as JsonArray ?? [];
                    if (blobs.Count > 0)
                    {
                        Output.Table(run.Out, BlobColumns, blobs);
                        run.Out.WriteLine();
                    }

                    var freed = report["bytesFreed"] is JsonValue b && b.TryGetValue<long>(out var bytes) ? bytes : 0;
                    run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{(dryRun ? "Would collect" : "Collected")} {Output.Text(report, "blobsCollected")} of {Output.Text(report, "blobsExamined")} blobs, "
                        + $"{RepositoryCommands.HumanSize(freed)}, in {Output.Text(report, "seconds")}s (run {id}, {Output.Text(report, "state")})"));
                    if (report["blobsTruncated"] is JsonValue t && t.TryGetValue<bool>(out var truncated) && truncated)
                    {
                        run.Out.WriteLine($"(only the first {blobs.Count} blobs are named; --output json for the report)");
                    }

                    if (report["error"] is JsonValue e && e.TryGetValue<string>(out var error))
                    {
                        run.Out.WriteLine("error: " + error);
                    }
                }

                return Output.Text(report, "state") == "succeeded" ? 0 : 1;
            },
        },
        new()
        {
            Path = "gc status",
            Summary = "Show garbage collection's grace window and schedule, the run in progress with its counters, and the last runs (administrators).",
            Run = async run =>
            {
                using var client = run.Connect();
                var status = await client.GetAsync("/api/v1/system/gc") ?? throw new ClientException("the server answered no status");
                if (run.Json)
                {
                    Output.Json(run.Out, status);
                    return 0;
                }

                var interval = status["intervalSeconds"] is JsonValue iv && iv.TryGetValue<long>(out var seconds) ? $"every {seconds}s" : "on demand only";
                run.Out.WriteLine($"Grace window {Output.Text(status, "graceSeconds")}s; scheduled: {interval}");
                var runs = status["runs"] as JsonArray ?? [];
                if (runs.Count > 0)
                {
                    Output.Table(run.Out, RunColumns, runs);
                }
                else
                {
                    run.Out.WriteLine("No runs on this node yet.");
                }

                return 0;
            },
        },
    ];
}
