using System.Net;
using System.Text.Json;
using Berth.Core.Scanning;
using Berth.Scanning.Results;
using Berth.Scanning.Tests.Sbom;
using Berth.Testing;
using static Berth.Testing.TestImages;

namespace Berth.Management.Tests;

/// <summary>
/// Scan results and SBOMs of images in the registry (<c>/api/v1/repositories/scan</c> and <c>/sbom</c>): every status,
/// indexes per platform, the documents of <c>findings=true</c>, who may read and who may ask for a scan, bad input.
/// Results are written straight into the store, as the registry's scanner would.
/// </summary>
public sealed class ScanResultTests : IDisposable
{
    // The scanner runtime is off: these tests write the stored results themselves (a push would queue a scan).
    private readonly ManagementApp _app = new(new Dictionary<string, string?> { ["Berth:Scanning:Enabled"] = "false" });

    public void Dispose() => _app.Dispose();

    private IServiceProvider Services => _app.App.Services;

    private static string ScanPath(string repository, string reference, string? extra = null) =>
        $"/api/v1/repositories/scan?repository={repository}&reference={Uri.EscapeDataString(reference)}{extra}";

    private static string SbomPath(string repository, string reference, string? extra = null) =>
        $"/api/v1/repositories/sbom?repository={repository}&reference={Uri.EscapeDataString(reference)}{extra}";

    private async Task<TestManifest> PushImageAsync(string repository = "shop/app", string tag = "v1", int seed = 1)
    {
        var image = OciImage(seed);
        await _app.Admin.PushManifestAsync(repository, image, tag);
        return image;
    }

    [Fact]
    public async Task Get_Image_ReportsEveryStatus()
    {
        await _app.CreateProjectAsync("shop");
        var image = await PushImageAsync();

        var none = await _app.Admin.GetJsonAsync(ScanPath("shop/app", "v1"));
        Assert.Equal(("shop/app", "v1", image.Digest, OciManifest), (none.GetProperty("repository").GetString(), none.GetProperty("reference").GetString(),
            none.GetProperty("digest").GetString(), none.GetProperty("mediaType").GetString()));
        Assert.Equal(0, none.GetProperty("databaseVersion").GetInt64());
        Assert.Equal(JsonValueKind.Null, none.GetProperty("platforms").ValueKind);
        Assert.Equal("not_scanned", none.GetProperty("scan").GetProperty("status").GetString());

        var cases = new (ScanResult Result, string Word)[]
        {
            (TestScans.InState(image.Digest, ScanStatus.Queued), "queued"),
            (TestScans.InState(image.Digest, ScanStatus.Scanning), "scanning"),
            (TestScans.InState(image.Digest, ScanStatus.Failed, "layer sha256:… is truncated"), "failed"),
            (TestScans.InState(image.Digest, ScanStatus.Unsupported, "unknown OS"), "unsupported"),
            (TestScans.Done(image.Digest, version: null), "not_scanned"), // scanned before any advisories: not scanned for readers
            (TestScans.Done(image.Digest, version: 3), "done"),
        };
        foreach (var (result, word) in cases)
        {
            await Services.StoreAsync(result);
            var scan = (await _app.Admin.GetJsonAsync(ScanPath("shop/app", image.Digest))).GetProperty("scan");
            Assert.Equal(word, scan.GetProperty("status").GetString());
            Assert.Equal(result.Status == ScanStatus.Done ? null : result.Error, scan.GetProperty("error").GetString());
            Assert.False(scan.TryGetProperty("inventory", out var inventory) && inventory.ValueKind != JsonValueKind.Null);
        }

        var done = (await _app.Admin.GetJsonAsync(ScanPath("shop/app", "v1"))).GetProperty("scan");
        Assert.Equal(3, done.GetProperty("databaseVersion").GetInt64());
        Assert.Equal("2026-03-01T12:00:00.000Z", done.GetProperty("scannedAt").GetString());
        var counts = done.GetProperty("counts");
        Assert.Equal((0, 0, 1, 1, 1, 3), (counts.GetProperty("unknown").GetInt32(), counts.GetProperty("low").GetInt32(), counts.GetProperty("medium").GetInt32(),
            counts.GetProperty("high").GetInt32(), counts.GetProperty("critical").GetInt32(), counts.GetProperty("total").GetInt32()));
        Assert.Equal(["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003"], done.GetProperty("worstIds").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Get_FindingsTrue_AddsTheStoredDocumentsAsJson()
    {
        await _app.CreateProjectAsync("shop");
        var image = await PushImageAsync();
        await Services.StoreAsync(TestScans.Done(image.Digest));

        var scan = (await _app.Admin.GetJsonAsync(ScanPath("shop/app", "v1", "&findings=true"))).GetProperty("scan");

        var inventory = scan.GetProperty("inventory");
        Assert.Equal(JsonValueKind.Object, inventory.ValueKind);
        Assert.Equal("debian", inventory.GetProperty("os").GetProperty("id").GetString());
        Assert.Equal(["libssl3", "zlib1g", "requests"], inventory.GetProperty("packages").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        var findings = scan.GetProperty("findings").GetProperty("findings").EnumerateArray().ToList();
        Assert.Equal(["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003"], findings.Select(f => f.GetProperty("vulnerabilityId").GetString()));
        Assert.Equal("3.0.13-1~deb12u1", findings[0].GetProperty("fixedVersion").GetString());

        // What the CLI does with them: the stored codec reads them back whole.
        var read = ScanDocuments.ReadInventory(inventory.GetRawText());
        Assert.Equal(3, read.Inventory.Packages.Count);
        Assert.Equal(TestScans.Findings, ScanDocuments.ReadFindings(scan.GetProperty("findings").GetRawText()), new FindingComparer());

        // Without the flag, or with findings=false, no documents.
        var plain = (await _app.Admin.GetJsonAsync(ScanPath("shop/app", "v1", "&findings=false"))).GetProperty("scan");
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("inventory").ValueKind);
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("findings").ValueKind);
    }

    [Fact]
    public async Task Get_Index_OneEntryPerPlatformAndArtifactsLeftOut()
    {
        await _app.CreateProjectAsync("shop");
        var amd = OciImage(1);
        var arm = OciImage(2);
        var attestation = Artifact("application/vnd.in-toto+json", Bytes(50, 9));
        var index = TestScans.PlatformIndex((amd, "linux/amd64"), (arm, "linux/arm64/v8"), (attestation, "unknown/unknown"));
        await _app.Admin.PushManifestAsync("shop/app", index, "multi");
        await Services.StoreAsync(TestScans.Done(amd.Digest));
        await Services.StoreAsync(TestScans.InState(arm.Digest, ScanStatus.Failed, "truncated layer"));

        var json = await _app.Admin.GetJsonAsync(ScanPath("shop/app", "multi"));

        Assert.Equal((index.Digest, OciIndex), (json.GetProperty("digest").GetString(), json.GetProperty("mediaType").GetString()));
        Assert.Equal(JsonValueKind.Null, json.GetProperty("scan").ValueKind);
        var platforms = json.GetProperty("platforms").EnumerateArray().ToList();
        Assert.Equal(2, platforms.Count);
        Assert.Equal((amd.Digest, "linux", "amd64", null, "done"), (platforms[0].GetProperty("digest").GetString(), platforms[0].GetProperty("os").GetString(),
            platforms[0].GetProperty("architecture").GetString(), platforms[0].GetProperty("variant").GetString(), platforms[0].GetProperty("scan").GetProperty("status").GetString()));
        Assert.Equal((arm.Digest, "arm64", "v8", "failed", "truncated layer"), (platforms[1].GetProperty("digest").GetString(), platforms[1].GetProperty("architecture").GetString(),
            platforms[1].GetProperty("variant").GetString(), platforms[1].GetProperty("scan").GetProperty("status").GetString(),
            platforms[1].GetProperty("scan").GetProperty("error").GetString()));
    }

    [Fact]
    public async Task Get_Artifact_IsUnsupported()
    {
        await _app.CreateProjectAsync("shop");
        var artifact = Artifact("application/vnd.cncf.helm.config.v1+json", Bytes(80, 4));
        await _app.Admin.PushManifestAsync("shop/chart", artifact, "1.0.0");

        var scan = (await _app.Admin.GetJsonAsync(ScanPath("shop/chart", "1.0.0"))).GetProperty("scan");

        Assert.Equal("unsupported", scan.GetProperty("status").GetString());
        Assert.Contains("not an image", scan.GetProperty("error").GetString(), StringComparison.Ordinal);

        // Asking for a scan of it queues nothing.
        using var post = await _app.Admin.PostAsync(ScanPath("shop/chart", "1.0.0"), null);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        Assert.Null(await _app.Service<IScanResultStore>().GetAsync(Berth.Oci.Digest.Parse(artifact.Digest), default));
    }

    [Fact]
    public async Task Post_Image_QueuesAuditsAndSaysNoDatabase()
    {
        await _app.CreateProjectAsync("shop");
        var image = await PushImageAsync();

        using var response = await _app.Admin.PostAsync(ScanPath("shop/app", "v1"), null);

        await Expect.StatusAsync(response, HttpStatusCode.Accepted);
        var json = await response.ReadJsonAsync();
        Assert.Equal(0, json.GetProperty("databaseVersion").GetInt64());
        Assert.Equal("queued", json.GetProperty("scan").GetProperty("status").GetString());
        var stored = await _app.Service<IScanResultStore>().GetAsync(Berth.Oci.Digest.Parse(image.Digest), default);
        Assert.Equal(ScanStatus.Queued, stored!.Status);
        var audit = Assert.Single(await _app.AuditAsync(ScanAuditActions.ScanRequest));
        Assert.Equal(("admin", "shop/app"), (audit.ActorName, audit.Repository?.Value));
        Assert.Contains(image.Digest, audit.Detail!, StringComparison.Ordinal);

        // Again while queued: still 202, nothing new queued.
        using var again = await _app.Admin.PostAsync(ScanPath("shop/app", "v1"), null);
        await Expect.StatusAsync(again, HttpStatusCode.Accepted);
        Assert.Equal("queued", (await again.ReadJsonAsync()).GetProperty("scan").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Post_ConcurrentRequests_QueueTheImageOnce()
    {
        await _app.CreateProjectAsync("shop");
        var image = await PushImageAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => _app.Admin.PostAsync(ScanPath("shop/app", "v1"), null)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        foreach (var response in responses)
        {
            response.Dispose();
        }

        var audit = await _app.AuditAsync(ScanAuditActions.ScanRequest);
        Assert.Equal(6, audit.Count);
        Assert.Single(audit, e => e.Detail!.Contains($"\"queued\":[\"{image.Digest}\"]", StringComparison.Ordinal));
        Assert.Equal(ScanStatus.Queued, (await _app.Service<IScanResultStore>().GetAsync(Berth.Oci.Digest.Parse(image.Digest), default))!.Status);
    }

    [Fact]
    public async Task Post_Index_QueuesEveryPlatform()
    {
        await _app.CreateProjectAsync("shop");
        var amd = OciImage(1);
        var arm = OciImage(2);
        await _app.Admin.PushManifestAsync("shop/app", TestScans.PlatformIndex((amd, "linux/amd64"), (arm, "linux/arm64")), "multi");

        using var response = await _app.Admin.PostAsync(ScanPath("shop/app", "multi"), null);

        await Expect.StatusAsync(response, HttpStatusCode.Accepted);
        var platforms = (await response.ReadJsonAsync()).GetProperty("platforms").EnumerateArray().ToList();
        Assert.All(platforms, p => Assert.Equal("queued", p.GetProperty("scan").GetProperty("status").GetString()));
        var store = _app.Service<IScanResultStore>();
        Assert.Equal(ScanStatus.Queued, (await store.GetAsync(Berth.Oci.Digest.Parse(amd.Digest), default))!.Status);
        Assert.Equal(ScanStatus.Queued, (await store.GetAsync(Berth.Oci.Digest.Parse(arm.Digest), default))!.Status);
    }

    [Fact]
    public async Task PullOnlyRobotAndToken_Read_ButMayNotAskForAScan()
    {
        await _app.CreateProjectAsync("shop");
        var image = await PushImageAsync();
        await Services.StoreAsync(TestScans.Done(image.Digest));
        using (var created = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "reader", scope = "pull" }))
        {
            await Expect.StatusAsync(created, HttpStatusCode.Created);
        }

        using var tokenResponse = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots/reader/tokens", new { name = "ci" });
        var robot = _app.WithBearer((await tokenResponse.ReadJsonAsync()).GetProperty("token").GetString()!);
        var (_, secret) = await ManagementApp.CreateTokenAsync(_app.Admin, "pull-only", "pull");
        var token = _app.WithBearer(secret);

        foreach (var client in new[] { robot, token })
        {
            Assert.Equal("done", (await client.GetJsonAsync(ScanPath("shop/app", "v1"))).GetProperty("scan").GetProperty("status").GetString());
            using var sbom = await client.GetAsync(SbomPath("shop/app", "v1"));
            Assert.Equal(HttpStatusCode.OK, sbom.StatusCode);
            using var post = await client.PostAsync(ScanPath("shop/app", "v1"), null);
            await Expect.ProblemAsync(post, HttpStatusCode.Forbidden);
        }

        Assert.Empty(await _app.AuditAsync(ScanAuditActions.ScanRequest));
    }

    [Fact]
    public async Task Anonymous_PrivateProjectHidden_PublicProjectReadsButMayNotPost()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateProjectAsync("open", isPublic: true);
        await PushImageAsync("shop/app");
        await PushImageAsync("open/app");

        // As every repository route: a private project is hidden from anonymous callers (404, never its scans); asking for
        // a scan needs credentials (401 with the Basic challenge).
        using var hidden = await _app.Anonymous.GetAsync(ScanPath("shop/app", "v1"));
        await Expect.ProblemAsync(hidden, HttpStatusCode.NotFound);
        using var hiddenSbom = await _app.Anonymous.GetAsync(SbomPath("shop/app", "v1"));
        await Expect.ProblemAsync(hiddenSbom, HttpStatusCode.NotFound);
        using var hiddenPost = await _app.Anonymous.PostAsync(ScanPath("shop/app", "v1"), null);
        Assert.Equal(HttpStatusCode.Unauthorized, hiddenPost.StatusCode);
        Assert.Equal("not_scanned", (await _app.Anonymous.GetJsonAsync(ScanPath("open/app", "v1"))).GetProperty("scan").GetProperty("status").GetString());
        using var post = await _app.Anonymous.PostAsync(ScanPath("open/app", "v1"), null);
        Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);

        // A signed-in user who is no member of the private project sees nothing there.
        await _app.CreateUserAsync("eve");
        using var eve = await _app.As("eve").GetAsync(ScanPath("shop/app", "v1"));
        await Expect.ProblemAsync(eve, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("/api/v1/repositories/scan?repository=shop/app&reference=v2", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/repositories/scan?repository=shop/nothing&reference=v1", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/repositories/scan?repository=ghost/app&reference=v1", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/repositories/scan?repository=shop/app&reference=sha256:0000000000000000000000000000000000000000000000000000000000000000", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/repositories/scan?repository=shop/app&reference=bad%20tag", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/scan?repository=shop/app&reference=sha256:short", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/scan?repository=shop/app", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/scan?reference=v1", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/scan?repository=Shop/App&reference=v1", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/scan?repository=shop/app&reference=v1&findings=maybe", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/sbom?repository=shop/app&reference=v1&format=xml", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/sbom?repository=shop/app&reference=v1&format=table", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/sbom?repository=shop/app&reference=v1&platform=linux", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/sbom?repository=shop/app&reference=nope", HttpStatusCode.NotFound)]
    public async Task BadOrUnknown_ClearProblems(string path, HttpStatusCode expected)
    {
        await _app.CreateProjectAsync("shop");
        await PushImageAsync();

        using var response = await _app.Admin.GetAsync(path);
        var problem = await Expect.ProblemAsync(response, expected);
        Assert.False(string.IsNullOrEmpty(problem.TryGetProperty("detail", out var d) ? d.GetString() : problem.GetProperty("title").GetString()));
        if (path.Contains("/scan?", StringComparison.Ordinal))
        {
            using var post = await _app.Admin.PostAsync(path, null);
            Assert.Equal(expected == HttpStatusCode.BadRequest && path.Contains("findings=", StringComparison.Ordinal) ? HttpStatusCode.Accepted : expected, post.StatusCode);
        }
    }

    [Fact]
    public async Task Sbom_CycloneDxAndSpdx_ValidAgainstTheSchemasWithTheirMediaTypes()
    {
        await _app.CreateProjectAsync("shop");
        var image = await PushImageAsync();
        await Services.StoreAsync(TestScans.Done(image.Digest));

        using var cyclonedx = await _app.Admin.GetAsync(SbomPath("shop/app", "v1"));
        Assert.Equal(HttpStatusCode.OK, cyclonedx.StatusCode);
        Assert.Equal("application/vnd.cyclonedx+json", cyclonedx.Content.Headers.ContentType!.MediaType);
        var cdx = await cyclonedx.Content.ReadAsByteArrayAsync();
        Assert.Empty(Schemas.CycloneDxErrors(cdx));
        using (var doc = JsonDocument.Parse(cdx))
        {
            Assert.Equal("1.6", doc.RootElement.GetProperty("specVersion").GetString());
            var purls = doc.RootElement.GetProperty("components").EnumerateArray().Select(c => c.TryGetProperty("purl", out var p) ? p.GetString() : null).ToList();
            Assert.Contains(purls, p => p is not null && p.StartsWith("pkg:deb/debian/libssl3@", StringComparison.Ordinal));
            Assert.Contains(purls, p => p is not null && p.StartsWith("pkg:pypi/requests@2.31.0", StringComparison.Ordinal));
        }

        using var spdx = await _app.Admin.GetAsync(SbomPath("shop/app", image.Digest, "&format=spdx-json"));
        Assert.Equal(HttpStatusCode.OK, spdx.StatusCode);
        Assert.Equal("application/spdx+json", spdx.Content.Headers.ContentType!.MediaType);
        var spdxBytes = await spdx.Content.ReadAsByteArrayAsync();
        Assert.Empty(Schemas.SpdxErrors(spdxBytes));
        using (var doc = JsonDocument.Parse(spdxBytes))
        {
            Assert.Equal("SPDX-2.3", doc.RootElement.GetProperty("spdxVersion").GetString());
        }
    }

    [Fact]
    public async Task Sbom_NotScannedYet_409()
    {
        await _app.CreateProjectAsync("shop");
        var image = await PushImageAsync();

        foreach (var state in new ScanResult?[] { null, TestScans.InState(image.Digest, ScanStatus.Queued), TestScans.Done(image.Digest, version: null) })
        {
            if (state is not null)
            {
                await Services.StoreAsync(state);
            }

            using var response = await _app.Admin.GetAsync(SbomPath("shop/app", "v1"));
            var problem = await Expect.ProblemAsync(response, HttpStatusCode.Conflict);
            Assert.Contains("not scanned yet", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Sbom_Index_NeedsAPlatformAndListsThem()
    {
        await _app.CreateProjectAsync("shop");
        var amd = OciImage(1);
        var arm = OciImage(2);
        await _app.Admin.PushManifestAsync("shop/app", TestScans.PlatformIndex((amd, "linux/amd64"), (arm, "linux/arm64/v8")), "multi");
        await Services.StoreAsync(TestScans.Done(arm.Digest));

        using var none = await _app.Admin.GetAsync(SbomPath("shop/app", "multi"));
        var problem = await Expect.ValidationAsync(none, "platform");
        Assert.Contains("linux/amd64, linux/arm64/v8", problem.GetRawText(), StringComparison.Ordinal);

        using var wrong = await _app.Admin.GetAsync(SbomPath("shop/app", "multi", "&platform=linux/s390x"));
        await Expect.ValidationAsync(wrong, "platform");

        using var arm64 = await _app.Admin.GetAsync(SbomPath("shop/app", "multi", "&platform=linux/arm64"));
        Assert.Equal(HttpStatusCode.OK, arm64.StatusCode);
        Assert.Empty(Schemas.CycloneDxErrors(await arm64.Content.ReadAsByteArrayAsync()));

        using var amd64 = await _app.Admin.GetAsync(SbomPath("shop/app", "multi", "&platform=linux/amd64"));
        await Expect.ProblemAsync(amd64, HttpStatusCode.Conflict);
    }

    /// <summary>Findings compared by value (their lists compared by content).</summary>
    private sealed class FindingComparer : IEqualityComparer<Berth.Scanning.Findings.Finding>
    {
        public bool Equals(Berth.Scanning.Findings.Finding? x, Berth.Scanning.Findings.Finding? y) =>
            x is not null && y is not null && x.VulnerabilityId == y.VulnerabilityId && x.AdvisoryId == y.AdvisoryId && x.Aliases.SequenceEqual(y.Aliases)
            && x.Package with { Licenses = null } == y.Package with { Licenses = null } && x.FixedVersion == y.FixedVersion && x.Severity == y.Severity && x.Title == y.Title;

        public int GetHashCode(Berth.Scanning.Findings.Finding obj) => obj.VulnerabilityId.GetHashCode(StringComparison.Ordinal);
    }
}
