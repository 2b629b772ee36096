using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Berth.Oci;
using Berth.Scanning.Advisories;
using Berth.Scanning.Extractors;
using Berth.Scanning.Findings;
using Berth.Scanning.Ignore;
using Berth.Scanning.Layers;
using Berth.Scanning.Matching;
using Berth.Scanning.Reports;

namespace Berth.Client;

/// <summary>
/// <c>berth scan REF</c> reads the registry's scan of an image (<see cref="RegistryScanCommands"/>);
/// <c>berth scan --input PATH --vulndb PATH</c> scans a local image (a <c>docker save</c> archive, an OCI layout folder
/// or its tar) against OSV advisories from a folder or zip, without a server, and reports the way Trivy does (table,
/// json, sarif, cyclonedx, spdx-json), so CI can gate before it pushes. The options are spelled as Trivy spells them:
/// <c>--format</c> chooses the report, <c>--output FILE</c> names the file it goes to (stdout without it).
/// </summary>
internal static class ScanCommands
{
    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "scan",
            Arguments = ["REF"],
            RequiredArguments = 0,
            Summary = "Scan an image in the registry (REF), or a local image archive offline (--input), for known vulnerabilities.",
            Details = """
                REF is [HOST/]PROJECT/REPO[:TAG|@DIGEST] (tag latest when none): the stored scan is read; an image not scanned
                yet is scanned on the server and waited for (up to --timeout). An index is reported per platform unless
                --platform picks one. Without REF, --input PATH scans a local archive against --vulndb PATH, no server needed.
                Exit code: 0 when nothing is found after the filters (or --exit-code is 0, its default), the --exit-code
                value when something is; 1 for an image or database that cannot be read, a failed or unsupported scan, or
                a wait that timed out; 2 for a usage mistake.
                Examples:
                  berth scan shop/api:v1.0 --severity CRITICAL,HIGH --exit-code 1
                  berth scan registry.example.com/shop/api@sha256:... --format json --output report.json
                  berth scan --input app.tar --vulndb osv-debian.zip --severity CRITICAL,HIGH --exit-code 1
                  berth scan --input ./oci-layout --vulndb ./advisories --format json --output report.json
                  berth scan --input app.tar --vulndb ./advisories --format cyclonedx --output sbom.cdx.json
                """,
            ServerOptions = false,
            Options =
            [
                new("--input", "-i", "PATH", "a local image: a docker save archive, an OCI layout folder, or an OCI archive (tar)"),
                new("--vulndb", null, "PATH", "with --input: OSV advisories, a folder tree or .zip of OSV .json/.yaml records"),
                new("--platform", null, "OS/ARCH", "the platform of a multi-platform image (an archive: default linux/amd64; REF: default all)"),
                new("--severity", "-s", "LIST", "severities to report, e.g. CRITICAL,HIGH (default: all)"),
                new("--ignore-unfixed", null, null, "leave out vulnerabilities with no fixed version"),
                new("--ignorefile", null, "FILE", ".trivyignore (ids, exp:DATE) or .trivyignore.yaml; default ./.trivyignore when present"),
                new("--exit-code", null, "N", "exit with N when anything is reported (default 0)"),
                new("--format", "-f", "FORMAT", "table, json, sarif, cyclonedx or spdx-json (default table)"),
                new("--output", "-o", "FILE", "write the report to FILE instead of stdout"),
                new("--timeout", null, "DURATION", "with REF: how long to wait for a scan the server runs (default 5m)"),
                CommandSpec.Server,
            ],
            Run = RunAsync,
        },
        RegistryScanCommands.Sbom,
    ];

    private static async Task<int> RunAsync(CommandRun run)
    {
        var settings = ScanReportSettings.Read(run);
        if (run.OptionalArgument(0) is { } reference)
        {
            if (run.Option("--input") is not null || run.Option("--vulndb") is not null)
            {
                throw new CommandLineException("give an image in the registry (REF) or a local one (--input PATH --vulndb PATH), not both");
            }

            return await RegistryScanCommands.ScanAsync(run, reference, settings);
        }

        if (run.Option("--server") is not null || run.Option("--timeout") is not null)
        {
            throw new CommandLineException("--server and --timeout are for an image in the registry (berth scan REF)");
        }

        var input = run.Option("--input") ?? throw new CommandLineException("give the image: REF (in the registry, e.g. shop/api:v1) or --input PATH (a local archive)");
        var vulndb = run.Option("--vulndb") ?? throw new CommandLineException("give the advisories with --vulndb PATH (a folder or .zip of OSV records)");
        var cancellation = CancellationToken.None;

        LoadedImage image;
        try
        {
            image = await ImageArchive.LoadAsync(input, settings.Platform, cancellation);
        }
        catch (Exception ex) when (ex is ScanException or IOException or UnauthorizedAccessException or InvalidDataException or JsonException)
        {
            throw new ClientException($"{input}: {ex.Message}");
        }

        var advisories = LoadAdvisories(vulndb, run.Context.Error);
        InventoryResult inventory;
        try
        {
            inventory = await new InventoryScanner().ScanAsync(image.Layers, cancellation);
        }
        catch (ScanException ex)
        {
            throw new ClientException($"{input}: {ex.Message}");
        }

        foreach (var warning in inventory.Warnings)
        {
            await run.Context.Error.WriteLineAsync($"berth: warning: {warning.Path}: {warning.Message}");
        }

        var findings = await new VulnerabilityMatcher(advisories).MatchAsync(inventory.Inventory, cancellation);
        var now = run.Context.Time.GetUtcNow();
        var outcome = settings.Filter.Apply(findings, DateOnly.FromDateTime(now.UtcDateTime));
        var report = new ScanReport(image.Names.FirstOrDefault() ?? input, FactsOf(image), inventory.Inventory, outcome.Kept, now);
        var options = settings.WriteOptions;
        await settings.WriteAsync(run, stream => ReportFormats.Write(settings.Format, report, stream, options));
        return outcome.ExitCode(settings.ExitCode);
    }

    /// <summary>Every record under the path, parsed; unreadable files are counted and the first few named on stderr.</summary>
    private static InMemoryAdvisorySource LoadAdvisories(string path, TextWriter error)
    {
        var records = new List<OsvRecord>();
        var failed = 0;
        try
        {
            foreach (var file in OsvFiles.Read(path))
            {
                var why = file.Error;
                if (why is null)
                {
                    if (OsvParser.TryParse(file.Json.Span, out var record, out var parseError))
                    {
                        records.Add(record);
                        continue;
                    }

                    why = parseError;
                }

                if (++failed <= 5)
                {
                    error.WriteLine($"berth: warning: {file.Path}: {why}");
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new ClientException($"--vulndb {path}: {ex.Message}");
        }

        if (failed > 5)
        {
            error.WriteLine($"berth: warning: {failed - 5} more advisory files could not be read");
        }

        if (records.Count == 0)
        {
            throw new ClientException($"--vulndb {path}: no OSV records found: a scan without advisories would find nothing and prove nothing");
        }

        return new InMemoryAdvisorySource(records);
    }

    private static ImageFacts FactsOf(LoadedImage image)
    {
        var imageId = Digest.Compute(DigestAlgorithm.Sha256, image.Config);
        string? os = null, architecture = null;
        DateTimeOffset? created = null;
        List<Digest>? diffIds = null;
        try
        {
            using var config = JsonDocument.Parse(image.Config);
            var root = config.RootElement;
            os = root.TryGetProperty("os", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null;
            architecture = root.TryGetProperty("architecture", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            if (root.TryGetProperty("created", out var c) && c.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(c.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
            {
                created = when;
            }

            if (root.TryGetProperty("rootfs", out var rootfs) && rootfs.ValueKind == JsonValueKind.Object
                && rootfs.TryGetProperty("diff_ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
            {
                diffIds = [];
                foreach (var id in ids.EnumerateArray())
                {
                    if (id.ValueKind == JsonValueKind.String && Digest.TryParse(id.GetString(), out var digest))
                    {
                        diffIds.Add(digest);
                    }
                }
            }
        }
        catch (JsonException)
        {
            // A config that is not JSON: the report goes without its facts.
        }

        var layers = image.Layers.Select(l => Digest.TryParse(l.Digest, out var d) ? d : (Digest?)null).OfType<Digest>().ToList();
        Digest? manifest = image.ManifestDigest is { } m && Digest.TryParse(m, out var md) ? md : null;
        return new ImageFacts(imageId, manifest, image.Names.Where(n => n.Contains(':', StringComparison.Ordinal)).ToList(), null, layers, diffIds, os, architecture, created);
    }
}
