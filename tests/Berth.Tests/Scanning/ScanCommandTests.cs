using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Tests.Client;

namespace Berth.Tests.Scanning;

/// <summary>
/// <c>berth scan --input</c> end to end in-process: an OCI layout built here holding a real Debian 12 package database
/// (tests/testdata/debian12), real Debian advisories (tests/testdata/vulndb), and Trivy's options: formats, severity
/// filter, unfixed filter, ignore file, exit code, output file; and the mistakes a user makes.
/// </summary>
public sealed class ScanCommandTests : IDisposable
{
    private readonly ClientHarness _harness = new(loggedIn: false);
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-scan-").FullName;
    private readonly string _layout;
    private readonly string _vulndb = TestData("vulndb", "debian");

    public ScanCommandTests() => _layout = BuildLayout(Path.Combine(_dir, "layout"));

    public void Dispose()
    {
        _harness.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Json_FollowsTrivysLayout_AndNamesTheDebianFindingsOfTheRealPackageDatabase()
    {
        var result = await _harness.RunAsync("scan", "--input", _layout, "--vulndb", _vulndb, "--format", "json");

        Assert.Equal(0, result.Exit);
        var report = JsonNode.Parse(result.Out)!;
        Assert.Equal(2, report["SchemaVersion"]!.GetValue<int>());
        var os = report["Results"]!.AsArray().Single(r => r!["Class"]!.GetValue<string>() == "os-pkgs")!;
        Assert.Equal("debian", os["Type"]!.GetValue<string>());
        var vulnerabilities = os["Vulnerabilities"]!.AsArray();
        Assert.True(vulnerabilities.Count > 50, $"only {vulnerabilities.Count} findings");

        // Every finding names an installed package at its installed version (from the dpkg status we put in the image).
        var installed = File.ReadAllLines(TestData("debian12", "bookworm-packages.txt")).Where(l => !l.StartsWith('#'))
            .Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
        Assert.All(vulnerabilities, v =>
        {
            var name = v!["PkgName"]!.GetValue<string>();
            Assert.True(installed.TryGetValue(name, out var version), name);
            Assert.Equal(version, v["InstalledVersion"]!.GetValue<string>());
            Assert.False(string.IsNullOrEmpty(v["VulnerabilityID"]!.GetValue<string>()));
            Assert.Contains(v["Severity"]!.GetValue<string>(), new[] { "UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL" });
        });

        // An independent route to one expected finding: a record that leaves a Debian 12 source package unfixed
        // (one range, introduced "0", nothing after it) and a binary package of that source in the status file.
        var sources = File.ReadAllLines(TestData("debian12", "bookworm-packages.txt")).Where(l => !l.StartsWith('#'))
            .Select(l => l.Split('\t')[3]).ToHashSet();
        var unfixed = Directory.EnumerateFiles(_vulndb, "CVE-*.json", SearchOption.AllDirectories)
            .Select(f => JsonNode.Parse(File.ReadAllText(f))!)
            .First(r => r["withdrawn"] is null && r["affected"]!.AsArray().Any(a =>
                a?["package"]?["ecosystem"]?.GetValue<string>() == "Debian:12"
                && sources.Contains(a["package"]?["name"]?.GetValue<string>() ?? "")
                && a["ranges"] is JsonArray ranges && ranges.Count == 1
                && ranges[0]!["events"]!.AsArray() is { Count: 1 } events && events[0]!["introduced"]?.GetValue<string>() == "0"));
        Assert.Contains(vulnerabilities, v => v!["VulnerabilityID"]!.GetValue<string>() == unfixed["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task SeverityAndUnfixedFilters_AndExitCode()
    {
        var all = await _harness.RunAsync("scan", "--input", _layout, "--vulndb", _vulndb, "--format", "json");
        var critical = await _harness.RunAsync("scan", "--input", _layout, "--vulndb", _vulndb, "--format", "json", "--severity", "critical,HIGH", "--exit-code", "3");
        var fixedOnly = await _harness.RunAsync("scan", "--input", _layout, "--vulndb", _vulndb, "--format", "json", "--ignore-unfixed");

        var allIds = Ids(all.Out);
        var severe = Findings(critical.Out).ToList();
        Assert.NotEmpty(severe);
        Assert.All(severe, v => Assert.Contains(v["Severity"]!.GetValue<string>(), new[] { "HIGH", "CRITICAL" }));
        Assert.True(severe.Count < allIds.Count);
        Assert.Equal(3, critical.Exit);
        Assert.All(Findings(fixedOnly.Out), v => Assert.False(string.IsNullOrEmpty(v["FixedVersion"]?.GetValue<string>())));
        Assert.True(Ids(fixedOnly.Out).Count < allIds.Count);
    }

    [Fact]
    public async Task IgnoreFile_LeavesOutItsIds_UntilTheyExpire()
    {
        var first = Findings((await _harness.RunAsync("scan", "--input", _layout, "--vulndb", _vulndb, "--format", "json")).Out)
            .Select(v => v["VulnerabilityID"]!.GetValue<string>()).Distinct().Take(2).ToArray();
        var ignore = Path.Combine(_dir, ".trivyignore");
        // The harness's clock says 2026-11-29: the second entry has expired.
        await File.WriteAllTextAsync(ignore, $"# accepted\n{first[0]}\n{first[1]} exp:2026-01-01\n");

        var result = await _harness.RunAsync("scan", "--input", _layout, "--vulndb", _vulndb, "--format", "json", "--ignorefile", ignore);

        var ids = Ids(result.Out);
        Assert.DoesNotContain(first[0], ids);
        Assert.Contains(first[1], ids);
    }

    [Fact]
    public async Task Table_HasTrivysTotalLine_AndOutputGoesToTheFileGiven()
    {
        var file = Path.Combine(_dir, "report.txt");
        var result = await _harness.RunAsync("scan", "--input", _layout, "--vulndb", _vulndb, "--severity", "HIGH,CRITICAL", "--output", file);

        Assert.Equal(0, result.Exit);
        Assert.Equal("", result.Out);
        var text = await File.ReadAllTextAsync(file);
        Assert.Matches(@"Total: \d+ \(HIGH: \d+, CRITICAL: \d+\)", text);
        Assert.Contains("Library", text, StringComparison.Ordinal);
        Assert.Contains("Installed Version", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cyclonedx", "bomFormat")]
    [InlineData("spdx-json", "spdxVersion")]
    [InlineData("sarif", "$schema")]
    public async Task OtherFormats_AreTheirDocuments(string format, string property)
    {
        var result = await _harness.RunAsync("scan", "--input", _layout, "--vulndb", _vulndb, "--format", format);

        Assert.Equal(0, result.Exit);
        Assert.NotNull(JsonNode.Parse(result.Out)![property]);
    }

    [Theory]
    [InlineData("--format", "xml", "--format is one of")]
    [InlineData("--severity", "SEVERE", "SEVERE")]
    [InlineData("--exit-code", "-1", "--exit-code")]
    [InlineData("--exit-code", "256", "--exit-code")]
    [InlineData("--platform", "linux", "--platform")]
    public async Task UsageMistakes_ExitTwoWithTheReason(string option, string value, string expected)
    {
        var result = await _harness.RunAsync("scan", "--input", _layout, "--vulndb", _vulndb, option, value);
        Assert.Equal(2, result.Exit);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingInputOrDatabase_AreUsageMistakes()
    {
        Assert.Equal(2, (await _harness.RunAsync("scan", "--vulndb", _vulndb)).Exit);
        var noDb = await _harness.RunAsync("scan", "--input", _layout);
        Assert.Equal(2, noDb.Exit);
        Assert.Contains("--vulndb", noDb.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreadableImageOrEmptyDatabase_ExitOneWithOneLine()
    {
        var garbage = Path.Combine(_dir, "garbage.tar");
        await File.WriteAllBytesAsync(garbage, RandomNumberGenerator.GetBytes(5000));
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;

        var bad = await _harness.RunAsync("scan", "--input", garbage, "--vulndb", _vulndb);
        var missing = await _harness.RunAsync("scan", "--input", Path.Combine(_dir, "nope.tar"), "--vulndb", _vulndb);
        var nothing = await _harness.RunAsync("scan", "--input", _layout, "--vulndb", empty);

        Assert.Equal(1, bad.Exit);
        Assert.StartsWith($"berth: {garbage}:", bad.Error, StringComparison.Ordinal);
        Assert.Equal(1, missing.Exit);
        Assert.Equal(1, nothing.Exit);
        Assert.Contains("no OSV records", nothing.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", bad.Error + missing.Error + nothing.Error, StringComparison.Ordinal);
    }

    private static IEnumerable<JsonNode> Findings(string json) =>
        JsonNode.Parse(json)!["Results"]!.AsArray().SelectMany(r => r!["Vulnerabilities"]?.AsArray() ?? []).Select(v => v!);

    private static HashSet<string> Ids(string json) => Findings(json).Select(v => v["VulnerabilityID"]!.GetValue<string>()).ToHashSet();

    private static string TestData(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine([dir.FullName, "tests", "testdata", .. parts]);
            if (Path.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/testdata/" + string.Join('/', parts) + " not found");
    }

    /// <summary>An OCI image layout with one gzip layer: etc/os-release and var/lib/dpkg/status of the real Debian 12 root.</summary>
    private static string BuildLayout(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "blobs", "sha256"));
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (path, source) in new[] { ("etc/os-release", "bookworm-os-release"), ("var/lib/dpkg/status", "bookworm-dpkg-status") })
            {
                var bytes = File.ReadAllBytes(TestData("debian12", source));
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = new MemoryStream(bytes) });
            }
        }

        var diffId = Blob(tar.ToArray(), write: null);
        using var gz = new MemoryStream();
        using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(tar.ToArray());
        }

        var layer = Blob(gz.ToArray(), root);
        var config = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            architecture = "amd64",
            os = "linux",
            created = "2026-11-29T00:00:00Z",
            rootfs = new { type = "layers", diff_ids = new[] { diffId.Digest } },
        }));
        var configBlob = Blob(config, root);
        var manifest = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configBlob.Digest, size = configBlob.Size },
            ["layers"] = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = layer.Digest, size = layer.Size } },
        }));
        var manifestBlob = Blob(manifest, root);
        File.WriteAllText(Path.Combine(root, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        File.WriteAllText(Path.Combine(root, "index.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new[]
            {
                new Dictionary<string, object>
                {
                    ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
                    ["digest"] = manifestBlob.Digest,
                    ["size"] = manifestBlob.Size,
                    ["annotations"] = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = "bookworm" },
                },
            },
        }));
        return root;
    }

    private static (string Digest, long Size) Blob(byte[] content, string? write)
    {
        var hex = Convert.ToHexStringLower(SHA256.HashData(content));
        if (write is not null)
        {
            File.WriteAllBytes(Path.Combine(write, "blobs", "sha256", hex), content);
        }

        return ("sha256:" + hex, content.Length);
    }
}
