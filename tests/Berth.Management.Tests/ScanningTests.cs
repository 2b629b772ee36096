using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Core.Scanning;

namespace Berth.Management.Tests;

/// <summary>
/// Scanning's storage through HTTP: advisory imports (<c>/api/v1/vulndb</c>), the projects' scanning policies and the
/// CVE allowlists, with who may, validation of hostile bodies and the audit entries.
/// </summary>
public sealed class ScanningTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    private static string Record(string id, string modified = "2024-05-01T00:00:00Z", string ecosystem = "Debian:12", string name = "openssl", string? withdrawn = null) =>
        $$"""{"id":"{{id}}","modified":"{{modified}}",{{(withdrawn is null ? "" : $"\"withdrawn\":\"{withdrawn}\",")}}"affected":[{"package":{"ecosystem":"{{ecosystem}}","name":"{{name}}"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}""";

    private static async Task<HttpResponseMessage> PostRawAsync(HttpClient client, string path, string body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        return await client.SendAsync(request);
    }

    private async Task<long> BeginAsync(string source = "osv-debian")
    {
        using var response = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/vulndb/imports", new { source });
        await Expect.StatusAsync(response, HttpStatusCode.Created);
        var json = await response.ReadJsonAsync();
        Assert.Equal("running", json.GetProperty("status").GetString());
        return json.GetProperty("id").GetInt64();
    }

    [Fact]
    public async Task VulnDb_ImportBatchesFinish_StoresRecordsBumpsVersionAndAudits()
    {
        await _app.CreateUserAsync("rob");
        var id = await BeginAsync();
        using (var batch = await PostRawAsync(_app.Admin, $"/api/v1/vulndb/imports/{id}/records",
            "[" + Record("DSA-1") + "," + Record("DSA-2", ecosystem: "Debian:11") + "," + Record("GHSA-w", withdrawn: "2024-06-01T00:00:00Z") + "]"))
        {
            await Expect.StatusAsync(batch, HttpStatusCode.OK);
            var json = await batch.ReadJsonAsync();
            Assert.Equal((3, 1), (json.GetProperty("added").GetInt32(), json.GetProperty("withdrawn").GetInt32()));
        }

        // While it runs, status shows it to any signed-in caller; the version is still 0.
        var running = await _app.As("rob").GetJsonAsync("/api/v1/vulndb");
        Assert.Equal(0, running.GetProperty("version").GetInt64());
        Assert.Equal(id, running.GetProperty("running").GetProperty("id").GetInt64());

        using (var finish = await _app.Admin.SendJsonAsync(HttpMethod.Post, $"/api/v1/vulndb/imports/{id}/finish"))
        {
            await Expect.StatusAsync(finish, HttpStatusCode.OK);
            Assert.Equal(id, (await finish.ReadJsonAsync()).GetProperty("version").GetInt64());
        }

        var status = await _app.As("rob").GetJsonAsync("/api/v1/vulndb");
        Assert.Equal(id, status.GetProperty("version").GetInt64());
        Assert.Equal(3, status.GetProperty("records").GetInt64());
        Assert.Equal(1, status.GetProperty("withdrawnRecords").GetInt64());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("running").ValueKind);
        var source = Assert.Single(status.GetProperty("sources").EnumerateArray().ToList());
        Assert.Equal(("osv-debian", 3L, "finished"), (source.GetProperty("source").GetString(), source.GetProperty("records").GetInt64(),
            source.GetProperty("lastImport").GetProperty("status").GetString()));
        Assert.Equal(["Debian:11=1", "Debian:12=1"], status.GetProperty("ecosystems").EnumerateArray()
            .Select(e => $"{e.GetProperty("ecosystem").GetString()}={e.GetProperty("records").GetInt64()}"));

        Assert.Equal(["DSA-1"], (await _app.Service<IAdvisoryStore>().FindAsync("Debian:12", "openssl", default)).Select(h => h.Id));
        var audit = await _app.AuditAsync(ScanAuditActions.VulnDbImport);
        Assert.Equal(2, audit.Count);
        Assert.All(audit, e => Assert.Equal("admin", e.ActorName));
        Assert.Contains(audit, e => e.Detail!.Contains("\"phase\":\"finished\"", StringComparison.Ordinal) && e.Detail.Contains("\"added\":3", StringComparison.Ordinal));

        using var anonymous = await _app.Anonymous.GetAsync("/api/v1/vulndb");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task VulnDb_HostileBatches_AreRefusedWholeWithTheRecordNamed()
    {
        var id = await BeginAsync();
        var path = $"/api/v1/vulndb/imports/{id}/records";

        var missingId = await Expect.ValidationAsync(await PostRawAsync(_app.Admin, path, "[" + Record("OK-1") + ",{\"modified\":\"2024-01-01T00:00:00Z\"}]"), "[1]");
        Assert.Contains("record 1", missingId.ToString(), StringComparison.Ordinal);
        var badTime = await Expect.ValidationAsync(await PostRawAsync(_app.Admin, path, "[" + Record("BAD-T", modified: "yesterday") + "]"), "[0]");
        Assert.Contains("BAD-T", badTime.ToString(), StringComparison.Ordinal);
        await Expect.ValidationAsync(await PostRawAsync(_app.Admin, path, "[{\"id\":42,\"modified\":\"2024-01-01T00:00:00Z\"}]"), "[0]");
        await Expect.ValidationAsync(await PostRawAsync(_app.Admin, path, "[\"DSA-1\"]"), "[0]");
        await Expect.ValidationAsync(await PostRawAsync(_app.Admin, path, Record("NOT-AN-ARRAY")), "body");
        await Expect.ValidationAsync(await PostRawAsync(_app.Admin, path, "[]"), "body");
        await Expect.ValidationAsync(await PostRawAsync(_app.Admin, path, "[" + Record("TRUNC")), "body");
        await Expect.ValidationAsync(await PostRawAsync(_app.Admin, path,
            "[" + string.Join(",", Enumerable.Range(0, 1001).Select(i => Record($"MANY-{i}"))) + "]"), "body");
        var huge = "[" + Record("HUGE").Replace("\"affected\"", $"\"details\":\"{new string('x', AdvisoryLimits.MaxRecordBytes)}\",\"affected\"", StringComparison.Ordinal) + "]";
        Assert.Contains("larger than", (await Expect.ValidationAsync(await PostRawAsync(_app.Admin, path, huge), "[0]")).ToString(), StringComparison.Ordinal);
        await Expect.ProblemAsync(await PostRawAsync(_app.Admin, path, "[" + new string(' ', (int)ScanningEndpointsLimit) + "]"), HttpStatusCode.RequestEntityTooLarge);
        await Expect.ProblemAsync(await PostRawAsync(_app.Admin, path, "<records/>", "application/xml"), HttpStatusCode.UnsupportedMediaType);
        await Expect.ValidationAsync(await PostRawAsync(_app.Admin, path, "[" + new string('[', 100) + new string(']', 100) + "]"), "body"); // too deep

        // Nothing of the refused batches was stored, the import counts nothing, and it still takes a good batch.
        Assert.Null(await _app.Service<IAdvisoryStore>().GetAsync("OK-1", default));
        var import = await _app.Admin.GetJsonAsync($"/api/v1/vulndb/imports/{id}");
        Assert.Equal(0, import.GetProperty("added").GetInt64());
        using var good = await PostRawAsync(_app.Admin, path, "[" + Record("OK-1") + "]");
        await Expect.StatusAsync(good, HttpStatusCode.OK);
    }

    private const long ScanningEndpointsLimit = 16 * 1024 * 1024 + 1;

    [Fact]
    public async Task VulnDb_ImportsAreSerialisedAndOnlyAdministratorsImport()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("mia");
        await _app.AddMemberAsync("shop", "mia", "owner");
        using (var refused = await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/vulndb/imports", new { source = "x" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        await Expect.ValidationAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/vulndb/imports", new { source = "" }), "source");
        await Expect.ValidationAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/vulndb/imports", new { source = "a\u0001b" }), "source");
        await Expect.ValidationAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/vulndb/imports", new { source = "x", extra = 1 }), "extra");

        var first = await BeginAsync("first");
        var busy = await Expect.ProblemAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/vulndb/imports", new { source = "second" }), HttpStatusCode.Conflict);
        Assert.Contains($"import {first}", busy.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using (var forbidden = await PostRawAsync(_app.As("mia"), $"/api/v1/vulndb/imports/{first}/records", "[" + Record("X-1") + "]"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        await Expect.StatusAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, $"/api/v1/vulndb/imports/{first}/finish"), HttpStatusCode.OK);
        await Expect.ProblemAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, $"/api/v1/vulndb/imports/{first}/finish"), HttpStatusCode.Conflict);
        await Expect.ProblemAsync(await PostRawAsync(_app.Admin, $"/api/v1/vulndb/imports/{first}/records", "[" + Record("X-1") + "]"), HttpStatusCode.Conflict);
        await Expect.ProblemAsync(await PostRawAsync(_app.Admin, "/api/v1/vulndb/imports/999999/records", "[" + Record("X-1") + "]"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/vulndb/imports/999999/finish"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await _app.Admin.GetAsync("/api/v1/vulndb/imports/999999"), HttpStatusCode.NotFound);
        Assert.True(await BeginAsync("second") > first);
    }

    [Fact]
    public async Task ScanPolicy_MembersReadMaintainersChangeFieldsLeftOutKeepTheirValue()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("mia");
        await _app.CreateUserAsync("dev");
        await _app.AddMemberAsync("shop", "mia", "maintainer");
        await _app.AddMemberAsync("shop", "dev", "developer");

        var policy = await _app.As("dev").GetJsonAsync("/api/v1/projects/shop/scan-policy");
        Assert.Equal((true, "NONE", false, false), (policy.GetProperty("scanOnPush").GetBoolean(), policy.GetProperty("blockSeverity").GetString(),
            policy.GetProperty("blockUnscanned").GetBoolean(), policy.GetProperty("sbomOnPush").GetBoolean()));

        using (var denied = await _app.As("dev").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { blockSeverity = "critical" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        using (var set = await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { blockSeverity = "critical", blockUnscanned = true }))
        {
            await Expect.StatusAsync(set, HttpStatusCode.OK);
        }

        using (var more = await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { sbomOnPush = true, scanOnPush = false }))
        {
            await Expect.StatusAsync(more, HttpStatusCode.OK);
            var json = await more.ReadJsonAsync();
            Assert.Equal((false, "CRITICAL", true, true), (json.GetProperty("scanOnPush").GetBoolean(), json.GetProperty("blockSeverity").GetString(),
                json.GetProperty("blockUnscanned").GetBoolean(), json.GetProperty("sbomOnPush").GetBoolean()));
        }

        Assert.Equal(new ScanPolicy(false, BlockSeverity.Critical, true, true, _app.App.Clock.GetUtcNow()),
            await _app.Service<IScanPolicyStore>().GetPolicyAsync(Core.Access.ProjectName.Parse("shop"), default));

        using (var none = await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { blockSeverity = "none" }))
        {
            Assert.Equal("NONE", (await none.ReadJsonAsync()).GetProperty("blockSeverity").GetString());
        }

        await Expect.ValidationAsync(await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { blockSeverity = "SEVERE" }), "blockSeverity");
        await Expect.ValidationAsync(await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { blockUnscanned = "yes" }), "blockUnscanned");
        await Expect.ValidationAsync(await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { block = "HIGH" }), "block");
        await Expect.ProblemAsync(await _app.Admin.GetAsync("/api/v1/projects/nope/scan-policy"), HttpStatusCode.NotFound);

        var audit = await _app.AuditAsync(ScanAuditActions.ScanPolicySet);
        Assert.Equal(3, audit.Count);
        Assert.All(audit, e => Assert.Equal(("mia", "shop"), (e.ActorName, e.Project?.Value)));
    }

    [Fact]
    public async Task CveAllowlist_ServerWideForAdministratorsProjectForItsMaintainers()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("mia");
        await _app.CreateUserAsync("rob");
        await _app.AddMemberAsync("shop", "mia", "maintainer");
        await _app.AddMemberAsync("shop", "rob", "reader");

        using (var server = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/cve-allowlist", new { vulnerability = "CVE-2024-0001", reason = "not reachable" }))
        {
            await Expect.StatusAsync(server, HttpStatusCode.Created);
            var json = await server.ReadJsonAsync();
            Assert.Equal(JsonValueKind.Null, json.GetProperty("project").ValueKind);
            Assert.Equal(("CVE-2024-0001", "admin", false), (json.GetProperty("vulnerability").GetString(), json.GetProperty("createdBy").GetString(), json.GetProperty("expired").GetBoolean()));
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/cve-allowlist", new { vulnerability = "CVE-1" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _app.As("mia").GetAsync("/api/v1/cve-allowlist")).StatusCode);

        using (var project = await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/cve-allowlist", new { vulnerability = "GHSA-jfh8-c2jp-5v3q", expiresAt = "2099-12-31" }))
        {
            await Expect.StatusAsync(project, HttpStatusCode.Created);
            var json = await project.ReadJsonAsync();
            Assert.Equal(("shop", "2100-01-01T00:00:00.000Z"), (json.GetProperty("project").GetString(), json.GetProperty("expiresAt").GetString()));
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await _app.As("rob").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/cve-allowlist", new { vulnerability = "CVE-2" })).StatusCode);
        var listed = await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/cve-allowlist");
        Assert.Equal(["GHSA-jfh8-c2jp-5v3q"], listed.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("vulnerability").GetString()));

        await Expect.ProblemAsync(await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/cve-allowlist", new { vulnerability = "ghsa-JFH8-c2jp-5v3q" }), HttpStatusCode.Conflict);
        await Expect.ValidationAsync(await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/cve-allowlist", new { vulnerability = "CVE 1; rm" }), "vulnerability");
        await Expect.ValidationAsync(await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/cve-allowlist", new { reason = "no id" }), "vulnerability");
        await Expect.ValidationAsync(await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/cve-allowlist", new { vulnerability = "CVE-3", expiresAt = "2001-01-01" }), "expiresAt");
        await Expect.ValidationAsync(await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/cve-allowlist", new { vulnerability = "CVE-3", expiresAt = "soon" }), "expiresAt");
        await Expect.ValidationAsync(await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/cve-allowlist",
            new { vulnerability = "CVE-3", reason = new string('r', CveAllowLimits.MaxReasonLength + 1) }), "reason");

        Assert.Equal(HttpStatusCode.Forbidden, (await _app.As("rob").DeleteAsync("/api/v1/projects/shop/cve-allowlist/GHSA-jfh8-c2jp-5v3q")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _app.As("mia").DeleteAsync("/api/v1/projects/shop/cve-allowlist/ghsa-jfh8-c2jp-5v3q")).StatusCode);
        await Expect.ProblemAsync(await _app.As("mia").DeleteAsync("/api/v1/projects/shop/cve-allowlist/GHSA-jfh8-c2jp-5v3q"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await _app.As("mia").DeleteAsync("/api/v1/projects/shop/cve-allowlist/CVE-2024-0001"), HttpStatusCode.NotFound); // server-wide: not the project's
        Assert.Equal(HttpStatusCode.NoContent, (await _app.Admin.DeleteAsync("/api/v1/cve-allowlist/CVE-2024-0001")).StatusCode);
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/cve-allowlist")).GetProperty("items").EnumerateArray());

        Assert.Equal(2, (await _app.AuditAsync(ScanAuditActions.CveAllowAdd)).Count);
        var removed = await _app.AuditAsync(ScanAuditActions.CveAllowRemove);
        Assert.Equal([("admin", (string?)null), ("mia", "shop")], removed.Select(e => (e.ActorName, e.Project?.Value)).OrderBy(x => x.Item1));
    }
}
