using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Berth.EndToEnd.Tests.Docker;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// Issue 14's end-to-end check: the debootstrap-built Debian 12 image pushed with skopeo, scanned on push against the
/// real Debian OSV records of tests/testdata/vulndb (imported with <c>berth vulndb import</c>), and reported by
/// <c>berth scan REF --format json</c>. The expected (package, vulnerability) set is computed here by another route:
/// the image's <c>var/lib/dpkg/status</c> read from the root filesystem, the records read with
/// <see cref="JsonDocument"/> (no Berth.Scanning code), and every version comparison asked of
/// <c>dpkg --compare-versions</c>.
/// </summary>
[Collection(DebianImageCollection.Name)]
public sealed class DebianImageScanTests : IClassFixture<BerthServerFixture>
{
    private const string Ecosystem = "Debian:12";
    private readonly BerthProcess _server;
    private readonly TestImage _image;
    private readonly ITestOutputHelper _output;

    public DebianImageScanTests(DebianImageFixture debian, BerthServerFixture fixture, ITestOutputHelper output)
    {
        _image = debian.Image;
        _server = fixture.Server;
        _output = output;
    }

    [Fact]
    public async Task ScanOnPush_DebootstrapImage_ReportsExactlyTheFindingsDpkgImplies()
    {
        var stopwatch = Stopwatch.StartNew();
        using var work = new TempDirectory("debian-scan");
        var advisories = TestData("vulndb/debian");

        using var cli = new BerthCli();
        await cli.LoginAsync(_server, BerthProcess.AdminUser, BerthProcess.AdminPassword);
        await cli.RunAsync(null, "vulndb", "import", advisories);
        await cli.RunAsync(null, "project", "create", "scan");

        var reference = $"{_server.Host}/scan/debian:{DebianImageFixture.Tag}";
        await Skopeo.PushAsync(_image, reference);
        await _server.WaitForScanAsync("scan/debian", DebianImageFixture.Tag, TimeSpan.FromMinutes(5));

        var reportFile = work.Sub("report.json");
        await cli.RunAsync(null, "scan", reference, "--format", "json", "--output", reportFile);
        var reported = ReadReport(reportFile);

        var packages = await DebianImageBuilder.ReadRootFilesystemAsync(
            rootfs => Task.FromResult(ReadDpkgStatus(Path.Combine(rootfs, "var", "lib", "dpkg", "status"))));
        var (expected, ruledOut) = await ExpectedAsync(packages, ReadDebianEntries(Path.Combine(advisories, "osv")));
        // The image is newer than the advisories, so most entries naming its sources are fixed below its versions.
        Assert.True(ruledOut > 50, $"only {ruledOut} Debian:12 entries ruled out by their fixed version");

        // The sets, compared on (binary package, reported id, installed version).
        var actualKeys = reported.Select(r => (r.Package, r.Id, r.InstalledVersion)).ToList();
        Assert.True(actualKeys.Count == actualKeys.Distinct().Count(),
            "duplicate findings: " + string.Join(", ", actualKeys.GroupBy(k => k).Where(g => g.Count() > 1).Select(g => g.Key)));
        var expectedKeys = expected.Keys.Select(k => (k.Package, k.Id, packages[k.Package].Version)).ToHashSet();
        var missing = expectedKeys.Except(actualKeys).Order().ToList();
        var extra = actualKeys.Except(expectedKeys).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"expected {expectedKeys.Count} findings, berth scan reported {actualKeys.Count}.\n" +
            $"missing ({missing.Count}): {string.Join(", ", missing)}\nextra ({extra.Count}): {string.Join(", ", extra)}");

        // Fixed versions: empty when no record implying the finding names a fix, else one of those records' fixes.
        var wrongFix = new List<string>();
        foreach (var r in reported)
        {
            var fixes = expected[(r.Package, r.Id)];
            if (fixes.Count == 0 ? r.FixedVersion.Length != 0 : !fixes.Contains(r.FixedVersion))
            {
                wrongFix.Add($"{r.Package} {r.Id}: FixedVersion '{r.FixedVersion}', the records' fixes [{string.Join(", ", fixes)}]");
            }
        }

        Assert.True(wrongFix.Count == 0, string.Join("\n", wrongFix));

        // The data is meant to exercise much: many findings, several binaries of one source, fixed and unfixed ones.
        Assert.True(expectedKeys.Count > 50, $"only {expectedKeys.Count} findings expected");
        Assert.Contains(reported, r => r.FixedVersion.Length == 0);
        Assert.Contains(expected.Keys.GroupBy(k => packages[k.Package].Source), g => g.Select(k => k.Package).Distinct().Count() > 1);
        _output.WriteLine($"{packages.Count} installed packages, {expectedKeys.Count} findings compared, {ruledOut} entries ruled out by dpkg " +
            $"({reported.Count(r => r.FixedVersion.Length != 0)} with a fix, {expected.Keys.Select(k => k.Package).Distinct().Count()} packages); " +
            $"{stopwatch.Elapsed.TotalSeconds:F0} s after the image was built");
    }

    private sealed record Reported(string Package, string Id, string InstalledVersion, string FixedVersion);

    private sealed record Installed(string Name, string Version, string Source, string SourceVersion);

    /// <summary>One <c>Debian:12</c> entry of a record: the id Berth reports, its related CVEs, the fixes of its ranges and whether a range is unfixed.</summary>
    private sealed record Entry(string RecordId, string ReportId, IReadOnlyList<string> Related, string Source, IReadOnlyList<string> Fixes, bool Unfixed, IReadOnlyList<string> Versions);

    /// <summary>Every <c>Results[].Vulnerabilities[]</c> of Trivy's JSON report.</summary>
    private static List<Reported> ReadReport(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(file));
        var found = new List<Reported>();
        foreach (var result in document.RootElement.GetProperty("Results").EnumerateArray())
        {
            if (!result.TryGetProperty("Vulnerabilities", out var vulnerabilities) || vulnerabilities.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            found.AddRange(vulnerabilities.EnumerateArray().Select(v => new Reported(
                v.GetProperty("PkgName").GetString()!,
                v.GetProperty("VulnerabilityID").GetString()!,
                v.GetProperty("InstalledVersion").GetString()!,
                v.TryGetProperty("FixedVersion", out var fix) ? fix.GetString() ?? string.Empty : string.Empty)));
        }

        return found;
    }

    /// <summary>The installed packages of a dpkg status file (<c>Status: install ok installed</c>), by binary name.</summary>
    private static Dictionary<string, Installed> ReadDpkgStatus(string file)
    {
        var installed = new Dictionary<string, Installed>(StringComparer.Ordinal);
        foreach (var stanza in File.ReadAllText(file).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = stanza.Split('\n')
                .Where(l => l.Length > 0 && !char.IsWhiteSpace(l[0]) && l.Contains(':', StringComparison.Ordinal))
                .Select(l => l.Split(':', 2))
                .ToDictionary(p => p[0], p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
            if (!fields.TryGetValue("Package", out var name) || !fields.TryGetValue("Version", out var version)
                || !fields.TryGetValue("Status", out var status) || !status.EndsWith(" installed", StringComparison.Ordinal))
            {
                continue;
            }

            // "Source: NAME" or "Source: NAME (VERSION)"; no field: the source is the binary at the same version.
            var source = name;
            var sourceVersion = version;
            if (fields.TryGetValue("Source", out var field))
            {
                var parts = field.Split(' ', 2);
                source = parts[0];
                if (parts.Length == 2)
                {
                    sourceVersion = parts[1].Trim().TrimStart('(').TrimEnd(')');
                }
            }

            installed.Add(name, new Installed(name, version, source, sourceVersion));
        }

        Assert.True(installed.Count > 50, $"only {installed.Count} installed packages in {file}");
        return installed;
    }

    /// <summary>
    /// The <c>Debian:12</c> entries of every record under <paramref name="folder"/>; one id published twice (DLA-1931-2)
    /// counts once, its later <c>modified</c>; withdrawn records are left out.
    /// </summary>
    private static List<Entry> ReadDebianEntries(string folder)
    {
        var entries = new List<Entry>();
        var records = Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories)
            .Select(f => JsonDocument.Parse(File.ReadAllBytes(f)).RootElement)
            .GroupBy(r => r.GetProperty("id").GetString())
            .Select(g => g.MaxBy(r => r.GetProperty("modified").GetDateTimeOffset()));
        foreach (var record in records)
        {
            if (record.TryGetProperty("withdrawn", out _))
            {
                continue;
            }

            var id = record.GetProperty("id").GetString()!;
            var aliases = Strings(record, "aliases");
            // As Berth reports it (VulnerabilityMatcher.VulnerabilityIdOf): a CVE record's own id, else its first CVE alias, else its id.
            var reportId = IsCve(id) ? id : aliases.FirstOrDefault(IsCve) ?? id;
            // Some entries carry an empty "package" object (the Debian export's leftovers); they name nothing.
            var affectedEntries = record.TryGetProperty("affected", out var a) ? a.EnumerateArray().ToList() : [];
            foreach (var affected in affectedEntries)
            {
                if (!affected.TryGetProperty("package", out var package) || !package.TryGetProperty("ecosystem", out var ecosystem)
                    || ecosystem.GetString() != Ecosystem)
                {
                    continue;
                }

                var fixes = new List<string>();
                var unfixed = false;
                var ranges = affected.TryGetProperty("ranges", out var r) ? r.EnumerateArray().ToList() : [];
                foreach (var range in ranges)
                {
                    Assert.Equal("ECOSYSTEM", range.GetProperty("type").GetString());
                    var events = range.GetProperty("events").EnumerateArray().Select(e => e.EnumerateObject().Single()).ToList();
                    // The Debian export has one shape: introduced 0, then a fixed version or nothing (unfixed).
                    Assert.True(events[0] is { Name: "introduced" } first && first.Value.GetString() == "0" && events.Skip(1).All(e => e.Name == "fixed"),
                        $"{id}: a range of another shape: {range}");
                    var fixedEvents = events.Skip(1).Select(e => e.Value.GetString()!).ToList();
                    fixes.AddRange(fixedEvents);
                    unfixed |= fixedEvents.Count == 0;
                }

                entries.Add(new Entry(id, reportId, Strings(record, "related"), package.GetProperty("name").GetString()!, fixes, unfixed,
                    Strings(affected, "versions")));
            }
        }

        return entries;
    }

    /// <summary>
    /// The expected findings, by (binary package, reported id), each with the fixes of the records that imply it. A
    /// source is affected by an entry when a range is unfixed, its version is listed, or it is below a fixed version
    /// (<c>dpkg --compare-versions</c>); every binary of an affected source gets the finding.
    /// </summary>
    private static async Task<(Dictionary<(string Package, string Id), List<string>> Expected, int RuledOut)> ExpectedAsync(Dictionary<string, Installed> packages, List<Entry> entries)
    {
        var sourceVersions = packages.Values.GroupBy(p => p.Source).ToDictionary(g => g.Key, g => g.Select(p => p.SourceVersion).Distinct().Single());
        var relevant = entries.Where(e => sourceVersions.ContainsKey(e.Source)).ToList();
        var below = await DpkgLessThanAsync(relevant.SelectMany(e => e.Fixes.Select(f => (sourceVersions[e.Source], f))).Distinct().ToList());

        // Per source: the reported ids and, for each, the fixes below which the source version lies, and the related CVEs.
        var perSource = new Dictionary<string, Dictionary<string, (List<string> Fixes, List<string> Related)>>(StringComparer.Ordinal);
        var ruledOut = 0;
        foreach (var e in relevant)
        {
            var version = sourceVersions[e.Source];
            var fixesAbove = e.Fixes.Where(f => below[(version, f)]).ToList();
            if (!e.Unfixed && fixesAbove.Count == 0 && !e.Versions.Contains(version))
            {
                ruledOut++;
                continue;
            }

            var ids = perSource.TryGetValue(e.Source, out var known) ? known : perSource[e.Source] = new(StringComparer.Ordinal);
            if (!ids.TryGetValue(e.ReportId, out var hit))
            {
                ids[e.ReportId] = hit = ([], []);
            }

            hit.Fixes.AddRange(fixesAbove);
            hit.Related.AddRange(e.Related.Where(IsCve));
        }

        // As Berth reports it: a Debian advisory without a CVE alias whose related CVEs are all reported for the
        // package is folded into those CVEs (its fix goes with them).
        foreach (var ids in perSource.Values)
        {
            foreach (var (id, (fixes, related)) in ids.Where(i => !IsCve(i.Key) && i.Value.Related.Count > 0 && i.Value.Related.All(ids.ContainsKey)).ToList())
            {
                ids.Remove(id);
                foreach (var cve in related.Distinct())
                {
                    ids[cve].Fixes.AddRange(fixes);
                }
            }
        }

        var expected = new Dictionary<(string, string), List<string>>();
        foreach (var package in packages.Values)
        {
            if (!perSource.TryGetValue(package.Source, out var ids))
            {
                continue;
            }

            foreach (var (id, hit) in ids)
            {
                expected[(package.Name, id)] = hit.Fixes.Distinct().ToList();
            }
        }

        return (expected, ruledOut);
    }

    /// <summary><c>dpkg --compare-versions A lt B</c> for every pair, in one shell loop.</summary>
    private static async Task<Dictionary<(string, string), bool>> DpkgLessThanAsync(List<(string A, string B)> pairs)
    {
        using var work = new TempDirectory("dpkg-compare");
        var file = work.Sub("pairs.txt");
        await File.WriteAllLinesAsync(file, pairs.Select(p => p.A + " " + p.B));
        ExternalTools.Require("dpkg");
        var result = await ProcessRunner.RunCheckedAsync(ExternalTools.Require("bash"),
        [
            "-c",
            "while read -r a b; do if dpkg --compare-versions \"$a\" lt \"$b\"; then echo 1; else echo 0; fi; done < \"$1\"",
            "compare",
            file,
        ], TimeSpan.FromMinutes(5));
        var answers = result.StandardOutputText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(pairs.Count, answers.Length);
        return pairs.Select((p, i) => (p, answers[i] == "1")).ToDictionary(x => x.p, x => x.Item2);
    }

    private static List<string> Strings(JsonElement element, string property) =>
        element.TryGetProperty(property, out var array) && array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().Select(a => a.GetString()!).ToList()
            : [];

    private static bool IsCve(string id) => id.StartsWith("CVE-", StringComparison.Ordinal);

    private static string TestData(string relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "testdata", relative);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"tests/testdata/{relative} not found above {AppContext.BaseDirectory}");
    }
}
