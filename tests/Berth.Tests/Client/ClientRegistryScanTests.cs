using System.Text.Json.Nodes;
using Berth.Core.Scanning;
using Berth.Oci;
using Berth.Scanning.Findings;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests.Client;

/// <summary>
/// <c>berth scan REF</c> and <c>berth sbom REF</c> against the real server in memory, with scan results written into its
/// store as the registry's scanner would: Trivy's JSON layout and table, exit codes, indexes per platform, the wait for
/// a scan (done, timed out, no database), failures, SBOMs and bad references.
/// </summary>
public sealed class ClientRegistryScanTests : IDisposable
{
    private const string Url = "http://localhost";
    // The scanner runtime is off: the tests play the scanner (a push would queue a scan at once).
    private readonly BerthApplication _app = new(new Dictionary<string, string?> { ["Berth:Scanning:Enabled"] = "false" }) { DefaultCredentials = null };
    private readonly string _config = Directory.CreateTempSubdirectory("berth-cli-scan-").FullName;
    private readonly string _work = Directory.CreateTempSubdirectory("berth-cli-scan-out-").FullName;
    private HttpClient? _admin;

    public void Dispose()
    {
        _admin?.Dispose();
        _app.Dispose();
        Directory.Delete(_config, recursive: true);
        Directory.Delete(_work, recursive: true);
    }

    private Task<RunResult> Run(params string[] args) => InProcessCli.RunAsync(_app, _config, args);

    private static void Ok(RunResult result) => InProcessCli.Ok(result);

    private IScanResultStore Store => _app.Services.GetRequiredService<IScanResultStore>();

    /// <summary>Logged in as the administrator, project <c>shop</c>, image <c>shop/app:v1</c>.</summary>
    private async Task<TestManifest> SetUpAsync(bool scanned = true, IReadOnlyList<Finding>? findings = null)
    {
        Ok(await Run("login", Url, "-u", BerthApplication.AdminUser, "--password-stdin"));
        Ok(await Run("project", "create", "shop"));
        _admin = _app.CreateClient(BerthApplication.AdminUser, BerthApplication.AdminPassword);
        var image = TestImages.OciImage(1);
        await _admin.PushManifestAsync("shop/app", image, "v1");
        if (scanned)
        {
            await _app.Services.StoreAsync(TestScans.Done(image.Digest, findings: findings));
        }

        return image;
    }

    private async Task ImportEmptyDatabaseAsync()
    {
        var store = _app.Services.GetRequiredService<IAdvisoryStore>();
        var start = await store.BeginImportAsync("test", "admin", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1), default);
        await store.FinishImportAsync(start.Import.Id, DateTimeOffset.UtcNow, default);
        Assert.True((await store.GetStatusAsync(default)).Version > 0);
    }

    [Fact]
    public async Task Json_HasTrivysLayout()
    {
        var image = await SetUpAsync();

        var result = await Run("scan", "shop/app:v1", "--format", "json");

        Ok(result);
        var report = JsonNode.Parse(result.Out)!;
        Assert.Equal(2, report["SchemaVersion"]!.GetValue<int>());
        Assert.Equal("shop/app:v1", report["ArtifactName"]!.GetValue<string>());
        var results = report["Results"]!.AsArray();
        var os = results.Single(r => r!["Class"]!.GetValue<string>() == "os-pkgs")!;
        Assert.Equal(("shop/app:v1 (debian 12.5)", "debian"), (os["Target"]!.GetValue<string>(), os["Type"]!.GetValue<string>()));
        var critical = os["Vulnerabilities"]!.AsArray().Single(v => v!["VulnerabilityID"]!.GetValue<string>() == "CVE-2024-0001")!;
        Assert.Equal(("libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "CRITICAL", "openssl: remote code execution"),
            (critical["PkgName"]!.GetValue<string>(), critical["InstalledVersion"]!.GetValue<string>(), critical["FixedVersion"]!.GetValue<string>(),
            critical["Severity"]!.GetValue<string>(), critical["Title"]!.GetValue<string>()));
        var python = results.Single(r => r!["Class"]!.GetValue<string>() == "lang-pkgs")!;
        Assert.Equal("python-pkg", python["Type"]!.GetValue<string>());
        Assert.Equal("CVE-2024-0003", python["Vulnerabilities"]![0]!["VulnerabilityID"]!.GetValue<string>());
        Assert.Contains($"shop/app@{image.Digest}", report["Metadata"]!["RepoDigests"]!.AsArray().Select(d => d!.GetValue<string>()));

        // The same by digest, and with the registry's host in front (the login for it is used).
        Ok(await Run("scan", $"shop/app@{image.Digest}", "--format", "json"));
        var hosted = await Run("scan", "localhost/shop/app:v1", "--format", "json", "--output", Path.Combine(_work, "r.json"));
        Ok(hosted);
        Assert.Equal("localhost/shop/app:v1", JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_work, "r.json")))!["ArtifactName"]!.GetValue<string>());
    }

    [Fact]
    public async Task Table_ShowsTrivysColumnsAndTotals()
    {
        await SetUpAsync();

        var result = await Run("scan", "shop/app:v1");

        Ok(result);
        Assert.Contains("Total: 2 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 1, CRITICAL: 1)", result.Out, StringComparison.Ordinal);
        Assert.Contains("Total: 1 (UNKNOWN: 0, LOW: 0, MEDIUM: 1, HIGH: 0, CRITICAL: 0)", result.Out, StringComparison.Ordinal);
        foreach (var column in new[] { "Library", "Vulnerability", "Severity", "Installed Version", "Fixed Version", "Title" })
        {
            Assert.Contains(column, result.Out, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ExitCode_FollowsSeverityAndUnfixedFilters()
    {
        await SetUpAsync();

        Assert.Equal(1, (await Run("scan", "shop/app:v1", "--exit-code", "1", "--severity", "CRITICAL")).Exit);
        Assert.Equal(0, (await Run("scan", "shop/app:v1", "--severity", "CRITICAL")).Exit); // no --exit-code: 0
        Assert.Equal(0, (await Run("scan", "shop/app:v1", "--exit-code", "1", "--severity", "LOW")).Exit);
        Assert.Equal(0, (await Run("scan", "shop/app:v1", "--exit-code", "1", "--severity", "HIGH", "--ignore-unfixed")).Exit); // the HIGH has no fix

        var ignore = Path.Combine(_work, ".trivyignore");
        await File.WriteAllTextAsync(ignore, "CVE-2024-0001\n");
        var ignored = await Run("scan", "shop/app:v1", "--exit-code", "4", "--severity", "CRITICAL", "--ignorefile", ignore, "--format", "json");
        Assert.Equal(0, ignored.Exit);
        Assert.Equal(7, (await Run("scan", "shop/app:v1", "--exit-code", "7")).Exit);
    }

    [Fact]
    public async Task Index_ReportsEveryPlatformOrTheOneChosen()
    {
        await SetUpAsync(scanned: false);
        var amd = TestImages.OciImage(11);
        var arm = TestImages.OciImage(12);
        await _admin!.PushManifestAsync("shop/app", TestScans.PlatformIndex((amd, "linux/amd64"), (arm, "linux/arm64/v8")), "multi");
        await _app.Services.StoreAsync(TestScans.Done(amd.Digest));
        await _app.Services.StoreAsync(TestScans.Done(arm.Digest, findings: [TestScans.Findings[2]]));

        var table = await Run("scan", "shop/app:multi");
        Ok(table);
        Assert.Contains($"Platform linux/amd64 ({amd.Digest})", table.Out, StringComparison.Ordinal);
        Assert.Contains($"Platform linux/arm64/v8 ({arm.Digest})", table.Out, StringComparison.Ordinal);

        var json = await Run("scan", "shop/app:multi", "--format", "json");
        Ok(json);
        var targets = JsonNode.Parse(json.Out)!["Results"]!.AsArray().Select(r => r!["Target"]!.GetValue<string>()).ToList();
        Assert.Contains("shop/app:multi (linux/amd64) (debian 12.5)", targets);
        Assert.Contains("shop/app:multi (linux/arm64/v8) (debian 12.5)", targets);
        Assert.Contains("Python (linux/arm64/v8)", targets);

        // --platform picks one: only arm64's MEDIUM, so a CRITICAL gate passes there and fails on amd64.
        Assert.Equal(0, (await Run("scan", "shop/app:multi", "--platform", "linux/arm64", "--severity", "CRITICAL", "--exit-code", "1")).Exit);
        Assert.Equal(1, (await Run("scan", "shop/app:multi", "--platform", "linux/amd64", "--severity", "CRITICAL", "--exit-code", "1")).Exit);
        Assert.Equal(1, (await Run("scan", "shop/app:multi", "--severity", "CRITICAL", "--exit-code", "1")).Exit);
        var sarif = await Run("scan", "shop/app:multi", "--platform", "linux/arm64", "--format", "sarif");
        Ok(sarif);
        Assert.Equal("2.1.0", JsonNode.Parse(sarif.Out)!["version"]!.GetValue<string>());

        var missing = await Run("scan", "shop/app:multi", "--platform", "linux/s390x");
        Assert.Equal(1, missing.Exit);
        Assert.Contains("linux/amd64, linux/arm64/v8", missing.Error, StringComparison.Ordinal);
        var many = await Run("scan", "shop/app:multi", "--format", "cyclonedx");
        Assert.Equal(2, many.Exit);
        Assert.Contains("--platform", many.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotScanned_QueuesAndWaitsForTheScan()
    {
        var image = await SetUpAsync(scanned: false);
        await ImportEmptyDatabaseAsync();

        // A stand-in for the server's scanner: finishes the scan once the CLI has queued it.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var scanner = Task.Run(async () =>
        {
            var digest = Digest.Parse(image.Digest);
            while ((await Store.GetAsync(digest, stop.Token))?.Status != ScanStatus.Queued)
            {
                await Task.Delay(50, stop.Token);
            }

            await Store.UpsertAsync(TestScans.Done(image.Digest), stop.Token);
        }, stop.Token);

        var result = await Run("scan", "shop/app:v1", "--format", "json", "--timeout", "30s", "--severity", "CRITICAL", "--exit-code", "3");
        await scanner;

        Assert.Equal(3, result.Exit);
        Assert.Contains("waiting for the scan of shop/app:v1", result.Error, StringComparison.Ordinal);
        Assert.Single(JsonNode.Parse(result.Out)!["Results"]!.AsArray().SelectMany(r => r!["Vulnerabilities"]?.AsArray() ?? []));
    }

    [Fact]
    public async Task NotScanned_TimesOutWithAClearMessage()
    {
        var image = await SetUpAsync(scanned: false);
        await ImportEmptyDatabaseAsync();

        var result = await Run("scan", "shop/app:v1", "--timeout", "1s");

        Assert.Equal(1, result.Exit);
        Assert.Contains("did not finish within", result.Error, StringComparison.Ordinal);
        Assert.Contains("queued", result.Error, StringComparison.Ordinal);
        Assert.Equal(ScanStatus.Queued, (await Store.GetAsync(Digest.Parse(image.Digest), default))!.Status);
        Assert.Equal(string.Empty, result.Out);
    }

    [Fact]
    public async Task NotScanned_NoAdvisoryDatabase_SaysSoAtOnce()
    {
        await SetUpAsync(scanned: false);

        var result = await Run("scan", "shop/app:v1", "--timeout", "5m");

        Assert.Equal(1, result.Exit);
        Assert.Contains("no advisory database", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailedOrUnsupported_Exit1WithTheReason()
    {
        var image = await SetUpAsync(scanned: false);
        await Store.UpsertAsync(TestScans.InState(image.Digest, ScanStatus.Failed, "layer sha256:abc is truncated"), default);

        var failed = await Run("scan", "shop/app:v1");
        Assert.Equal(1, failed.Exit);
        Assert.Contains("the scan failed: layer sha256:abc is truncated", failed.Error, StringComparison.Ordinal);

        await _admin!.PushManifestAsync("shop/chart", TestImages.Artifact("application/vnd.cncf.helm.config.v1+json", TestImages.Bytes(40, 3)), "1.0");
        var artifact = await Run("scan", "shop/chart:1.0");
        Assert.Equal(1, artifact.Exit);
        Assert.Contains("not supported", artifact.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("shop")]
    [InlineData("Shop/App:v1")]
    [InlineData("shop/app:bad tag")]
    [InlineData("shop/app@v1")]
    [InlineData("shop/app@sha256:short")]
    public async Task BadReference_UsageError(string reference)
    {
        await SetUpAsync();

        var result = await Run("scan", reference);

        Assert.Equal(2, result.Exit);
        Assert.Contains("berth scan --help", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownImage_Exit1()
    {
        await SetUpAsync();

        var result = await Run("scan", "shop/app:v9");

        Assert.Equal(1, result.Exit);
        Assert.Contains("not in repository", result.Error, StringComparison.Ordinal);
        Assert.Equal(2, (await Run("scan", "shop/app:v1", "--input", "x.tar")).Exit);
    }

    [Fact]
    public async Task Sbom_CycloneDxAndSpdx_ToStdoutAndFile()
    {
        await SetUpAsync();

        var cyclonedx = await Run("sbom", "shop/app:v1");
        Ok(cyclonedx);
        var bom = JsonNode.Parse(cyclonedx.Out)!;
        Assert.Equal(("CycloneDX", "1.6"), (bom["bomFormat"]!.GetValue<string>(), bom["specVersion"]!.GetValue<string>()));
        Assert.Contains(bom["components"]!.AsArray(), c => c!["name"]!.GetValue<string>() == "libssl3");

        var file = Path.Combine(_work, "sbom.spdx.json");
        Ok(await Run("sbom", "shop/app:v1", "--format", "spdx-json", "--output", file));
        Assert.Equal("SPDX-2.3", JsonNode.Parse(await File.ReadAllTextAsync(file))!["spdxVersion"]!.GetValue<string>());

        Assert.Equal(2, (await Run("sbom", "shop/app:v1", "--format", "json")).Exit);
    }

    [Fact]
    public async Task Sbom_NotScannedOrIndexWithoutPlatform_Exit1WithTheReason()
    {
        await SetUpAsync(scanned: false);
        var notScanned = await Run("sbom", "shop/app:v1");
        Assert.Equal(1, notScanned.Exit);
        Assert.Contains("not scanned yet", notScanned.Error, StringComparison.Ordinal);

        var amd = TestImages.OciImage(11);
        await _admin!.PushManifestAsync("shop/app", TestScans.PlatformIndex((amd, "linux/amd64"), (TestImages.OciImage(12), "linux/arm64")), "multi");
        await _app.Services.StoreAsync(TestScans.Done(amd.Digest));
        var index = await Run("sbom", "shop/app:multi");
        Assert.Equal(1, index.Exit);
        Assert.Contains("linux/amd64, linux/arm64", index.Error, StringComparison.Ordinal);
        Ok(await Run("sbom", "shop/app:multi", "--platform", "linux/amd64"));
    }
}
