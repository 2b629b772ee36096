using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Oci;
using Berth.Scanning.Findings;
using Berth.Scanning.Layers;
using Berth.Scanning.Reports;
using Berth.Scanning.Results;
using static Berth.Client.ManagementClient;

namespace Berth.Client;

/// <summary>
/// <c>berth scan REF</c> and <c>berth sbom REF</c>: images in the registry. The scan reads the stored result with its
/// inventory and findings (<c>GET /api/v1/repositories/scan?findings=true</c>); an image not scanned yet is queued
/// (<c>POST</c>, once) and polled until done or <c>--timeout</c>. Reports are made here with the same writers, filters
/// and exit codes as <c>berth scan --input</c> (<see cref="ScanReportSettings"/>). An index is reported per platform.
/// </summary>
internal static class RegistryScanCommands
{
    private const string ScanPath = "/api/v1/repositories/scan";

    /// <summary>How often a waiting scan asks again.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    public static readonly CommandSpec Sbom = new()
    {
        Path = "sbom",
        Arguments = ["REF"],
        Summary = "Download the SBOM (CycloneDX 1.6 or SPDX 2.3 JSON) of an image in the registry, made from its scan.",
        Details = """
            REF is [HOST/]PROJECT/REPO[:TAG|@DIGEST]; an index needs --platform. The image must have been scanned
            (berth scan REF scans it and waits).
            Examples:
              berth sbom shop/api:v1.0 --output api.cdx.json
              berth sbom shop/api:v1.0 --platform linux/arm64 --format spdx-json
            """,
        ServerOptions = false,
        Options =
        [
            new("--format", "-f", "FORMAT", "cyclonedx or spdx-json (default cyclonedx)"),
            new("--output", "-o", "FILE", "write the SBOM to FILE instead of stdout"),
            new("--platform", null, "OS/ARCH", "the platform of a multi-platform image"),
            CommandSpec.Server,
        ],
        Run = SbomAsync,
    };

    /// <summary>One image of the answer: the image itself, or one platform of an index (<see cref="Platform"/> set).</summary>
    private sealed record ScannedImage(string Digest, string? Platform, JsonObject Scan)
    {
        public string Status => Output.Scalar(Scan["status"]) ?? "unknown";
    }

    public static async Task<int> ScanAsync(CommandRun run, string text, ScanReportSettings settings)
    {
        var image = ImageReference.Parse(text);
        var timeout = DefaultTimeout;
        if (run.Option("--timeout") is { } timeoutText)
        {
            try
            {
                timeout = ServeOptions.ParseDuration(timeoutText);
            }
            catch (FormatException)
            {
                throw new CommandLineException($"--timeout is a duration (30s, 5m, 1h), not '{timeoutText}'");
            }
        }

        using var client = image.Connect(run);
        var query = Query([.. image.Query, ("findings", "true")]);
        var clock = run.Context.Time;
        var deadline = clock.GetUtcNow() + timeout;
        var requested = false;
        var announced = false;
        while (true)
        {
            var answer = await client.GetAsync(ScanPath + query) as JsonObject
                ?? throw new ClientException($"{client.BaseUrl} answered the scan of {image.Text} without a JSON object");
            var images = Select(answer, image, settings.Platform);
            foreach (var failed in images.Where(i => i.Status is "failed" or "unsupported"))
            {
                throw new ClientException($"{Name(image, failed)}: the scan {(failed.Status == "failed" ? "failed" : "is not supported")}: "
                    + (Output.Scalar(failed.Scan["error"]) ?? "no reason given"));
            }

            var pending = images.Where(i => i.Status != "done").ToList();
            if (pending.Count == 0)
            {
                return await RenderAsync(run, image, images, settings);
            }

            if (answer["databaseVersion"] is JsonValue version && version.TryGetValue<long>(out var v) && v == 0)
            {
                throw new ClientException($"{image.Text} is not scanned, and the server has no advisory database to scan it against: "
                    + "an administrator imports one with berth vulndb import PATH");
            }

            if (!requested && pending.Any(i => i.Status == "not_scanned"))
            {
                try
                {
                    await client.SendAsync(HttpMethod.Post, ScanPath + Query(image.Query), null);
                }
                catch (ClientException ex)
                {
                    throw new ClientException($"{image.Text} is not scanned yet, and asking the server to scan it failed: {ex.Message}");
                }

                requested = true;
            }

            var now = clock.GetUtcNow();
            if (now >= deadline)
            {
                throw new ClientException($"{image.Text}: the scan did not finish within {timeout} ("
                    + string.Join(", ", pending.Select(p => $"{(p.Platform is null ? "" : p.Platform + " ")}{p.Status}"))
                    + "); the server's scanner may be busy: try again later, or wait longer with --timeout");
            }

            if (!announced)
            {
                await run.Context.Error.WriteLineAsync($"berth: waiting for the scan of {image.Text} (up to {timeout})");
                announced = true;
            }

            var wait = deadline - now < PollInterval ? deadline - now : PollInterval;
            await Task.Delay(wait, clock);
        }
    }

    private static async Task<int> SbomAsync(CommandRun run)
    {
        var image = ImageReference.Parse(run.Argument(0));
        var formatText = run.Option("--format") ?? "cyclonedx";
        if (!ReportFormats.TryParse(formatText, out var format) || format is not (ReportFormat.CycloneDx or ReportFormat.SpdxJson))
        {
            throw new CommandLineException($"--format is cyclonedx or spdx-json, not '{formatText}'");
        }

        if (run.Option("--platform") is { } platformText)
        {
            try
            {
                ImagePlatform.Parse(platformText);
            }
            catch (ScanException ex)
            {
                throw new CommandLineException("--platform: " + ex.Message);
            }
        }

        using var client = image.Connect(run);
        var document = await client.GetAsync("/api/v1/repositories/sbom"
            + Query([.. image.Query, ("format", format == ReportFormat.SpdxJson ? "spdx-json" : "cyclonedx"), ("platform", run.Option("--platform"))]));
        var json = document?.ToJsonString(Output.PrettyJson) ?? throw new ClientException($"{client.BaseUrl} answered the SBOM of {image.Text} with nothing");
        if (run.Option("--output") is { } file)
        {
            try
            {
                await File.WriteAllTextAsync(file, json + "\n");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ClientException($"--output {file}: {ex.Message}");
            }
        }
        else
        {
            await run.Out.WriteLineAsync(json);
        }

        return 0;
    }

    /// <summary>The images to report: the image, or the index's platforms (only the one <paramref name="platform"/> names, if given).</summary>
    private static List<ScannedImage> Select(JsonObject answer, ImageReference image, ImagePlatform? platform)
    {
        if (answer["platforms"] is JsonArray platforms)
        {
            var all = platforms.OfType<JsonObject>().Select(p => new ScannedImage(Output.Scalar(p["digest"]) ?? "?", PlatformOf(p), p["scan"] as JsonObject ?? [])).ToList();
            if (all.Count == 0)
            {
                throw new ClientException($"{image.Text} is an index without images to scan");
            }

            if (platform is null)
            {
                return all;
            }

            var chosen = all.Where(p => p.Platform is { } known && platform.Matches(ImagePlatform.Parse(known))).Take(1).ToList();
            return chosen.Count > 0 ? chosen
                : throw new ClientException($"{image.Text} has no platform {platform}: it has {string.Join(", ", all.Select(p => p.Platform ?? "unknown"))}");
        }

        return [new ScannedImage(Output.Scalar(answer["digest"]) ?? "?", null, answer["scan"] as JsonObject
            ?? throw new ClientException($"{image.Text}: the server's answer has no scan"))];
    }

    private static string? PlatformOf(JsonObject platform) =>
        Output.Scalar(platform["os"]) is { } os && Output.Scalar(platform["architecture"]) is { } architecture
            ? Output.Scalar(platform["variant"]) is { } variant ? $"{os}/{architecture}/{variant}" : $"{os}/{architecture}"
            : null;

    private static string Name(ImageReference image, ScannedImage scanned) =>
        scanned.Platform is null ? image.Text : $"{image.Text} ({scanned.Platform})";

    /// <summary>The reports: one per image (an index: a heading per platform for the table, one JSON report with every platform's results).</summary>
    private static async Task<int> RenderAsync(CommandRun run, ImageReference image, List<ScannedImage> images, ScanReportSettings settings)
    {
        var indexed = images.Any(i => i.Platform is not null);
        if (indexed && images.Count > 1 && settings.Format is not (ReportFormat.Table or ReportFormat.Json))
        {
            throw new CommandLineException($"{image.Text} is an index of {images.Count} platforms ({string.Join(", ", images.Select(i => i.Platform))}): "
                + $"choose one with --platform for --format {ReportFormats.Names[(int)settings.Format]}");
        }

        var now = run.Context.Time.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var reports = new List<(ScannedImage Image, ScanReport Report)>();
        var found = false;
        foreach (var scanned in images)
        {
            var (facts, inventory, findings) = Read(image, scanned);
            var outcome = settings.Filter.Apply(findings, today);
            found |= outcome.Kept.Count > 0;
            var name = indexed && settings.Format != ReportFormat.Table ? Name(image, scanned) : image.Text;
            reports.Add((scanned, new ScanReport(name, facts, inventory, outcome.Kept, now)));
        }

        var options = settings.WriteOptions;
        await settings.WriteAsync(run, stream =>
        {
            if (!indexed || (images.Count == 1 && settings.Format != ReportFormat.Table))
            {
                ReportFormats.Write(settings.Format, reports[0].Report, stream, options);
            }
            else if (settings.Format == ReportFormat.Table)
            {
                foreach (var (scanned, report) in reports)
                {
                    var heading = $"Platform {scanned.Platform} ({scanned.Digest})";
                    var bytes = System.Text.Encoding.UTF8.GetBytes($"\n{heading}\n{new string('#', heading.Length)}\n");
                    stream.Write(bytes);
                    ReportFormats.Write(ReportFormat.Table, report, stream, options);
                }
            }
            else
            {
                WriteMergedJson(image, reports, stream, options);
            }
        });
        return found ? settings.ExitCode : 0;
    }

    /// <summary>One Trivy JSON report for several platforms: the first's metadata, every platform's results, each target naming its platform.</summary>
    private static void WriteMergedJson(ImageReference image, List<(ScannedImage Image, ScanReport Report)> reports, Stream stream, ReportWriteOptions options)
    {
        JsonObject? merged = null;
        var results = new JsonArray();
        foreach (var (scanned, report) in reports)
        {
            using var buffer = new MemoryStream();
            ReportFormats.Write(ReportFormat.Json, report, buffer, options);
            var one = JsonNode.Parse(buffer.ToArray()) as JsonObject ?? throw new InvalidOperationException("the JSON report is not an object");
            merged ??= one;
            if (one["Results"] is JsonArray list)
            {
                foreach (var result in list.OfType<JsonObject>().ToList())
                {
                    list.Remove(result);
                    if (Output.Scalar(result["Target"]) is { } target && !target.Contains($"({scanned.Platform})", StringComparison.Ordinal))
                    {
                        result["Target"] = $"{target} ({scanned.Platform})";
                    }

                    results.Add(result);
                }
            }
        }

        merged!["ArtifactName"] = image.Text;
        merged["Results"] = results;
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = Output.PrettyJson.Encoder });
        merged.WriteTo(writer);
        writer.Flush();
        stream.Write("\n"u8);
    }

    /// <summary>The stored documents of a finished scan, read with the codec the server wrote them with.</summary>
    private static (ImageFacts Facts, Berth.Scanning.Inventory.ImageInventory Inventory, IReadOnlyList<Finding> Findings) Read(ImageReference image, ScannedImage scanned)
    {
        if (scanned.Scan["inventory"] is not JsonObject inventoryJson || scanned.Scan["findings"] is not JsonObject findingsJson)
        {
            throw new ClientException($"{Name(image, scanned)}: the server answered a finished scan without its inventory and findings");
        }

        try
        {
            var document = ScanDocuments.ReadInventory(inventoryJson.ToJsonString());
            var findings = ScanDocuments.ReadFindings(findingsJson.ToJsonString());
            var prefix = image.Host is null ? "" : image.Host + "/";
            var facts = document.Image with
            {
                ManifestDigest = document.Image.ManifestDigest ?? (Digest.TryParse(scanned.Digest, out var d) ? d : null),
                RepoTags = image.Reference.IsDigest ? null : [$"{prefix}{image.Repository}:{image.Reference}"],
                RepoDigests = [$"{prefix}{image.Repository}@{scanned.Digest}"],
            };
            return (facts, document.Inventory, findings);
        }
        catch (FormatException ex)
        {
            throw new ClientException($"{Name(image, scanned)}: the stored scan cannot be read ({ex.Message}); is the server a newer version?");
        }
    }
}
