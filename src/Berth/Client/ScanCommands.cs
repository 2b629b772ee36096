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
/// <c>berth scan --input PATH --vulndb PATH</c>: scans a local image (a <c>docker save</c> archive, an OCI layout folder
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
            Summary = "Scan a local image archive for known vulnerabilities (offline, against OSV advisories you give it).",
            Details = """
                Exit code: 0 when nothing is found after the filters (or --exit-code is 0, its default), the --exit-code
                value when something is; 1 for an image or database that cannot be read, 2 for a usage mistake.
                Examples:
                  berth scan --input app.tar --vulndb osv-debian.zip --severity CRITICAL,HIGH --exit-code 1
                  berth scan --input ./oci-layout --vulndb ./advisories --format json --output report.json
                  berth scan --input app.tar --vulndb ./advisories --format cyclonedx --output sbom.cdx.json
                """,
            ServerOptions = false,
            Options =
            [
                new("--input", "-i", "PATH", "the image: a docker save archive, an OCI layout folder, or an OCI archive (tar)"),
                new("--vulndb", null, "PATH", "OSV advisories: a folder tree or .zip of OSV .json/.yaml records"),
                new("--platform", null, "OS/ARCH", "the platform to scan in a multi-platform archive (default linux/amd64)"),
                new("--severity", "-s", "LIST", "severities to report, e.g. CRITICAL,HIGH (default: all)"),
                new("--ignore-unfixed", null, null, "leave out vulnerabilities with no fixed version"),
                new("--ignorefile", null, "FILE", ".trivyignore (ids, exp:DATE) or .trivyignore.yaml; default ./.trivyignore when present"),
                new("--exit-code", null, "N", "exit with N when anything is reported (default 0)"),
                new("--format", "-f", "FORMAT", "table, json, sarif, cyclonedx or spdx-json (default table)"),
                new("--output", "-o", "FILE", "write the report to FILE instead of stdout"),
            ],
            Run = RunAsync,
        },
    ];

    private static async Task<int> RunAsync(CommandRun run)
    {
        var input = run.Option("--input") ?? throw new CommandLineException("give the image with --input PATH (scanning images in the registry is not available yet)");
        var vulndb = run.Option("--vulndb") ?? throw new CommandLineException("give the advisories with --vulndb PATH (a folder or .zip of OSV records)");
        var formatText = run.Option("--format") ?? "table";
        if (!ReportFormats.TryParse(formatText, out var format))
        {
            throw new CommandLineException($"--format is one of {string.Join(", ", ReportFormats.Names)}, not '{formatText}'");
        }

        var severities = run.Option("--severity") is { } severityText ? SeverityList.Parse(severityText) : new SeverityListParse(null, null);
        if (!severities.Success)
        {
            throw new CommandLineException(severities.Error!);
        }

        var exitCode = 0;
        if (run.Option("--exit-code") is { } exitText && (!int.TryParse(exitText, NumberStyles.None, CultureInfo.InvariantCulture, out exitCode) || exitCode > 255))
        {
            throw new CommandLineException($"--exit-code is a number from 0 to 255, not '{exitText}'");
        }

        ImagePlatform? platform = null;
        if (run.Option("--platform") is { } platformText)
        {
            try
            {
                platform = ImagePlatform.Parse(platformText);
            }
            catch (ScanException ex)
            {
                throw new CommandLineException("--platform: " + ex.Message);
            }
        }

        var ignore = LoadIgnore(run.Option("--ignorefile"));
        var cancellation = CancellationToken.None;

        LoadedImage image;
        try
        {
            image = await ImageArchive.LoadAsync(input, platform, cancellation);
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
        var outcome = new FindingFilter(severities.Severities, run.Switch("--ignore-unfixed"), ignore).Apply(findings, DateOnly.FromDateTime(now.UtcDateTime));
        var report = new ScanReport(image.Names.FirstOrDefault() ?? input, FactsOf(image), inventory.Inventory, outcome.Kept, now);
        var options = new ReportWriteOptions(ToolVersion(), Guid.NewGuid(), severities.Severities);

        if (run.Option("--output") is { } file)
        {
            try
            {
                await using var stream = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None);
                ReportFormats.Write(format, report, stream, options);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ClientException($"--output {file}: {ex.Message}");
            }
        }
        else
        {
            using var buffer = new MemoryStream();
            ReportFormats.Write(format, report, buffer, options);
            await run.Out.WriteAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        }

        return outcome.ExitCode(exitCode);
    }

    private static IgnoreList LoadIgnore(string? path)
    {
        var chosen = path ?? (File.Exists(".trivyignore") ? ".trivyignore" : null);
        if (chosen is null)
        {
            return IgnoreList.Empty;
        }

        try
        {
            return IgnoreList.Load(chosen);
        }
        catch (Exception ex) when (ex is IgnoreFileException or IOException or UnauthorizedAccessException)
        {
            throw new ClientException($"--ignorefile {chosen}: {ex.Message}");
        }
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

    private static string ToolVersion() =>
        typeof(ScanCommands).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
