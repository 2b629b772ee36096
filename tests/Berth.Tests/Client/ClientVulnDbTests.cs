using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Client;
using Berth.Core.Scanning;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests.Client;

/// <summary>
/// <c>berth vulndb import|status</c>, <c>berth cve-allow</c> and the scanning flags of <c>berth project update</c> against
/// the real server in memory, importing real OSV records (tests/testdata/vulndb-import: Debian JSON, PyPA YAML, GitHub
/// JSON with a withdrawn record).
/// </summary>
public sealed class ClientVulnDbTests : IDisposable
{
    private const string Url = "http://localhost";
    private readonly BerthApplication _app = new() { DefaultCredentials = null };
    private readonly string _config = Directory.CreateTempSubdirectory("berth-cli-vulndb-").FullName;
    private readonly string _work = Directory.CreateTempSubdirectory("berth-cli-vulndb-data-").FullName;

    public void Dispose()
    {
        _app.Dispose();
        Directory.Delete(_config, recursive: true);
        Directory.Delete(_work, recursive: true);
    }

    private Task<RunResult> Run(params string[] args) => InProcessCli.RunAsync(_app, _config, args);

    private static void Ok(RunResult result) => InProcessCli.Ok(result);

    private async Task LoginAsync() => Ok(await Run("login", Url, "-u", BerthApplication.AdminUser, "--password-stdin"));

    /// <summary>tests/testdata/vulndb-import, found from the test's folder upwards.</summary>
    private static string TestData()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "testdata", "vulndb-import");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/testdata/vulndb-import");
    }

    /// <summary>A copy of the test records plus a file that is not a record and two broken ones.</summary>
    private string CopyWithExtras()
    {
        var folder = Path.Combine(_work, "osv");
        foreach (var file in Directory.EnumerateFiles(TestData(), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(folder, Path.GetRelativePath(TestData(), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        File.WriteAllText(Path.Combine(folder, "README.txt"), "not a record");
        File.WriteAllText(Path.Combine(folder, "ghsa", "broken.json"), "{\"modified\":\"2024-01-01T00:00:00Z\"}");
        File.WriteAllText(Path.Combine(folder, "pypa", "broken.yaml"), "id: PYSEC-X\naffected: [unclosed\n");
        return folder;
    }

    private IAdvisoryStore Store => _app.Services.GetRequiredService<IAdvisoryStore>();

    [Fact]
    public async Task Import_RealRecordsFolder_StoresEveryRecordNamesBadFilesAndExitsOne()
    {
        await LoginAsync();
        var folder = CopyWithExtras();

        var import = await Run("vulndb", "import", folder);

        Assert.Equal(1, import.Exit);
        Assert.Contains("Imported 'osv': 6 added, 0 updated, 0 unchanged, 1 withdrawn; 2 other files skipped, 2 invalid.", import.Out, StringComparison.Ordinal);
        Assert.Contains(Path.Combine("ghsa", "broken.json") + ": a record must have a string \"id\"", import.Error, StringComparison.Ordinal);
        Assert.Contains(Path.Combine("pypa", "broken.yaml") + ": not valid YAML", import.Error, StringComparison.Ordinal);
        Assert.Contains("berth vulndb import: records ", import.Error, StringComparison.Ordinal); // progress (not a terminal: whole lines)

        // The YAML record arrived as JSON with its versions as strings ("2.0" stays "2.0", 2.7.2 stays text).
        var jinja = Assert.Single(await Store.FindAsync("PyPI", "Jinja2", default));
        Assert.Equal("PYSEC-2014-8", jinja.Id);
        var json = JsonNode.Parse(jinja.Json)!;
        Assert.Equal("2.7.2", json["affected"]![0]!["ranges"]![0]!["events"]![1]!["fixed"]!.GetValue<string>());
        Assert.Equal("2.0", json["affected"]![0]!["versions"]![0]!.GetValue<string>());
        Assert.Equal(["CVE-2023-6129"], (await Store.FindAsync("Debian:12", "openssl", default)).Select(h => h.Id));
        Assert.Equal(["CVE-2023-6129"], (await Store.FindAsync("Alpine:v3.19", "openssl", default)).Select(h => h.Id));
        Assert.Equal(["DSA-5514-1"], (await Store.FindAsync("Debian:11", "glibc", default)).Select(h => h.Id));
        Assert.Empty(await Store.FindAsync("npm", "minimist", default)); // GHSA-7fhm-mqm4-2wp7 is withdrawn
        Assert.NotNull((await Store.GetAsync("GHSA-7fhm-mqm4-2wp7", default))!.Withdrawn);

        var status = await Run("vulndb", "status");
        Ok(status);
        Assert.Contains("6 records (1 withdrawn)", status.Out, StringComparison.Ordinal);
        Assert.Contains("osv ", status.Out, StringComparison.Ordinal);
        Assert.Contains("Debian:12", status.Out, StringComparison.Ordinal);
        var statusJson = await Run("vulndb", "status", "--output", "json");
        Ok(statusJson);
        var version = JsonDocument.Parse(statusJson.Out).RootElement.GetProperty("version").GetInt64();
        Assert.True(version > 0);

        // The same records again change nothing but the version.
        var again = await Run("vulndb", "import", folder, "--output", "json");
        Assert.Equal(1, again.Exit);
        var report = JsonDocument.Parse(again.Out).RootElement;
        Assert.Equal((0, 0, 6, 2, 2), (report.GetProperty("added").GetInt32(), report.GetProperty("updated").GetInt32(), report.GetProperty("unchanged").GetInt32(),
            report.GetProperty("filesSkipped").GetInt32(), report.GetProperty("filesFailed").GetInt32()));
        Assert.True(report.GetProperty("version").GetInt64() > version);
    }

    [Fact]
    public async Task Import_Zip_UsesItsNameOrTheSourceLabelAndExitsZeroWhenAllAreRecords()
    {
        await LoginAsync();
        var zip = Path.Combine(_work, "osv-export.zip");
        ZipFile.CreateFromDirectory(TestData(), zip);

        var import = await Run("vulndb", "import", zip);
        Ok(import);
        Assert.Contains("Imported 'osv-export.zip': 6 added", import.Out, StringComparison.Ordinal);
        Assert.Contains("1 other files skipped, 0 invalid", import.Out, StringComparison.Ordinal); // SOURCES.md

        var labelled = await Run("vulndb", "import", zip, "--source", "mirror-2026-12");
        Ok(labelled);
        var status = await Run("vulndb", "status");
        Assert.Contains("mirror-2026-12", status.Out, StringComparison.Ordinal);
        Assert.Contains("osv-export.zip", status.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_BadPathOrABusyDatabase_FailsWithOneLine()
    {
        await LoginAsync();
        var missing = await Run("vulndb", "import", Path.Combine(_work, "nope"));
        Assert.Equal(2, missing.Exit);
        Assert.Contains("no such folder or zip file", missing.Error, StringComparison.Ordinal);

        var notZip = Path.Combine(_work, "records.json");
        File.WriteAllText(notZip, "{}");
        var refused = await Run("vulndb", "import", notZip);
        Assert.NotEqual(0, refused.Exit);
        Assert.Contains("is not a folder or a zip file", refused.Error, StringComparison.Ordinal);

        // Another import is running (a stopped importer's): this one is refused and names it.
        var running = await Store.BeginImportAsync("elsewhere", "admin", _app.Clock.GetUtcNow(), TimeSpan.FromHours(1), default);
        var busy = await Run("vulndb", "import", TestData());
        Assert.Equal(1, busy.Exit);
        Assert.Contains($"import {running.Import.Id} ('elsewhere'", busy.Error, StringComparison.Ordinal);
        var status = await Run("vulndb", "status");
        Assert.Contains($"Import {running.Import.Id} of 'elsewhere' is running", status.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProjectUpdateAndCveAllow_ExactForms()
    {
        await LoginAsync();
        Ok(await Run("project", "create", "shop"));

        var update = await Run("project", "update", "shop", "--block-severity", "critical", "--block-unscanned", "true", "--sbom-on-push", "false", "--scan-on-push", "true");
        Ok(update);
        Assert.Contains("CRITICAL", update.Out, StringComparison.Ordinal);
        var policy = await _app.Services.GetRequiredService<IScanPolicyStore>().GetPolicyAsync(Core.Access.ProjectName.Parse("shop"), default);
        Assert.Equal((true, BlockSeverity.Critical, true, false), (policy!.ScanOnPush, policy.BlockSeverity, policy.BlockUnscanned, policy.SbomOnPush));
        Ok(await Run("project", "update", "shop", "--block-severity", "none"));
        Assert.Equal(BlockSeverity.None, (await _app.Services.GetRequiredService<IScanPolicyStore>().GetPolicyAsync(Core.Access.ProjectName.Parse("shop"), default))!.BlockSeverity);

        var bad = await Run("project", "update", "shop", "--block-unscanned", "maybe");
        Assert.Equal(2, bad.Exit);
        Assert.Contains("--block-unscanned takes true or false", bad.Error, StringComparison.Ordinal);
        Assert.Equal(2, (await Run("project", "update", "shop", "--block-severity", "severe")).Exit);

        Ok(await Run("cve-allow", "add", "CVE-2024-0001", "--reason", "not reachable", "--expires", "2099-12-31"));
        Ok(await Run("cve-allow", "add", "CVE-2024-0002", "--project", "shop"));
        var server = await Run("cve-allow", "list");
        Ok(server);
        Assert.Contains("CVE-2024-0001", server.Out, StringComparison.Ordinal);
        Assert.Contains("(server-wide)", server.Out, StringComparison.Ordinal);
        Assert.Contains("2100-01-01 00:00", server.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("CVE-2024-0002", server.Out, StringComparison.Ordinal);
        var project = await Run("cve-allow", "list", "--project", "shop", "--output", "json");
        Ok(project);
        Assert.Equal("CVE-2024-0002", JsonDocument.Parse(project.Out).RootElement[0].GetProperty("vulnerability").GetString());

        var duplicate = await Run("cve-allow", "add", "cve-2024-0002", "--project", "shop");
        Assert.Equal(1, duplicate.Exit);
        Assert.Contains("already lists CVE-2024-0002", duplicate.Error, StringComparison.Ordinal);
        var past = await Run("cve-allow", "add", "CVE-2024-0003", "--expires", "2001-01-01");
        Assert.Equal(1, past.Exit);
        Assert.Contains("past", past.Error, StringComparison.Ordinal);

        Ok(await Run("cve-allow", "remove", "CVE-2024-0002", "--project", "shop"));
        Ok(await Run("cve-allow", "remove", "CVE-2024-0001"));
        Assert.Equal(1, (await Run("cve-allow", "remove", "CVE-2024-0001")).Exit);
    }
}
