using Berth.Application.Scanning;
using Berth.Core.Scanning;
using Berth.Core.Storage;
using Berth.Oci;
using Berth.Scanning.Results;
using Berth.Testing;

namespace Berth.Management.Tests.Scanning;

/// <summary>
/// The scanner runtime through a pushed image: scan on push queues it, <see cref="ScanQueueJob"/> scans it from the
/// stored layers against the imported advisories, <see cref="RescanAfterImportJob"/> re-matches stored inventories after
/// an import without reading layers, artifacts and hostile layers get their status, and claims race and lapse as the
/// store promises. The image is a real Debian 12 package database (tests/testdata/debian12) in one layer; the advisories
/// are real Debian OSV records for its zlib and tar sources (tests/testdata/vulndb). Which of them affect the installed
/// versions was decided by <c>dpkg --compare-versions</c> (an independent route, see <see cref="ExpectedIds"/>).
/// The jobs run when the tests call them (the poll and rescan intervals are a day on the test clock).
/// </summary>
public sealed class ScanRuntimeTests : IDisposable
{
    private static readonly string[] ExpectedIds = ScanTestData.ExpectedIds;

    private readonly ManagementApp _app = new(new Dictionary<string, string?>
    {
        ["Berth:Scanning:PollInterval"] = "1.00:00:00",
        ["Berth:Scanning:RescanInterval"] = "1.00:00:00",
    });

    public void Dispose() => _app.Dispose();

    private IScanResultStore Results => _app.Service<IScanResultStore>();

    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task Push_DebianImage_IsQueuedThenScannedWithTheExpectedFindings()
    {
        await _app.CreateProjectAsync("shop");
        var version = await ImportAsync();
        var image = DebianImage(out var layerDigest);

        var digest = Digest.Parse(await _app.Admin.PushManifestAsync("shop/api", image, "v1"));

        Assert.Equal(ScanStatus.Queued, (await Results.GetAsync(digest, Ct))!.Status);
        await _app.Service<ScanQueueJob>().RunAsync(Ct);

        var result = await Results.GetAsync(digest, Ct);
        Assert.NotNull(result);
        Assert.Equal(ScanStatus.Done, result.Status);
        Assert.Null(result.Error);
        Assert.Equal(version, result.DatabaseVersion);
        Assert.Null(result.ClaimedBy);
        var findings = ScanDocuments.ReadFindings(result.Findings!);
        Assert.Equal(ExpectedIds, findings.Select(f => f.VulnerabilityId).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(findings.Count, result.Counts.Total);
        Assert.All(ExpectedIds, id => Assert.Contains(id, result.WorstIds, StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Package.Name == "zlib1g" && f.Package.LayerDigest == layerDigest);

        var inventory = ScanDocuments.ReadInventory(result.Inventory!);
        Assert.Equal(("debian", "12"), (inventory.Inventory.Os!.Id, inventory.Inventory.Os.VersionId));
        Assert.Equal(131, inventory.Inventory.Packages.Count);
        Assert.Equal(("linux", "amd64"), (inventory.Image.Os, inventory.Image.Architecture));
        Assert.Equal(digest, inventory.Image.ManifestDigest);
        Assert.Single(inventory.Image.DiffIds!);
    }

    [Fact]
    public async Task Scan_WithoutAdvisories_IsNotScannedThenAnImportRematchesWithoutReadingLayers()
    {
        await _app.CreateProjectAsync("shop");
        var image = DebianImage(out var layerDigest);
        var digest = Digest.Parse(await _app.Admin.PushManifestAsync("shop/api", image, "v1"));
        await _app.Service<ScanQueueJob>().RunAsync(Ct);

        var before = await Results.GetAsync(digest, Ct);
        Assert.Equal(ScanStatus.Done, before!.Status);
        Assert.Null(before.DatabaseVersion); // "not scanned" to every reader
        Assert.Null(before.Findings);
        Assert.NotNull(before.Inventory);
        Assert.Equal(0, await _app.Service<RescanAfterImportJob>().RematchAsync(Ct)); // nothing imported: nothing to do

        // The layer's bytes go: a re-match that read layers would fail.
        Assert.Equal(BlobDeleteResult.Deleted, await _app.Service<IBlobStore>().DeleteAsync(Digest.Parse(layerDigest), Ct));
        var version = await ImportAsync();

        Assert.Equal(1, await _app.Service<RescanAfterImportJob>().RematchAsync(Ct));
        var after = await Results.GetAsync(digest, Ct);
        Assert.Equal(ScanStatus.Done, after!.Status);
        Assert.Equal(version, after.DatabaseVersion);
        Assert.Equal(ExpectedIds, ScanDocuments.ReadFindings(after.Findings!).Select(f => f.VulnerabilityId).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(before.Inventory, after.Inventory);
        Assert.Equal(before.ScannedAt, after.ScannedAt);
        Assert.True(after.Counts.Total >= 2);

        // Idempotent: the same version is not matched again.
        Assert.Equal(0, await _app.Service<RescanAfterImportJob>().RematchAsync(Ct));
    }

    [Fact]
    public async Task Push_ArtifactAndIndex_ArtifactIsUnsupportedAndTheIndexIsNotQueued()
    {
        await _app.CreateProjectAsync("shop");
        var artifact = TestImages.Artifact("application/vnd.example.sbom", "{}"u8.ToArray());
        var artifactDigest = Digest.Parse(await _app.Admin.PushManifestAsync("shop/api", artifact, "sbom"));
        var index = TestImages.Index([TestImages.OciImage(1), TestImages.OciImage(2)]);
        var indexDigest = Digest.Parse(await _app.Admin.PushManifestAsync("shop/api", index, "multi"));

        Assert.Null(await Results.GetAsync(indexDigest, Ct));
        await _app.Service<ScanQueueJob>().RunAsync(Ct);

        var result = await Results.GetAsync(artifactDigest, Ct);
        Assert.Equal(ScanStatus.Unsupported, result!.Status);
        Assert.Contains("artifact", result.Error, StringComparison.Ordinal);
        Assert.Null(result.DatabaseVersion);
        Assert.Null(await Results.GetAsync(indexDigest, Ct));

        // The platform manifests were queued and scanned (random bytes as layers: a layer that is not a tar fails).
        foreach (var child in index.Children)
        {
            var scanned = await Results.GetAsync(Digest.Parse(child.Digest), Ct);
            Assert.NotNull(scanned);
            Assert.True(scanned.Status is ScanStatus.Failed or ScanStatus.Done, $"{scanned.Status}: {scanned.Error}");
        }

        // An index scanned on demand (queued directly) is unsupported with its reason.
        await Results.EnqueueAsync(indexDigest, _app.App.Clock.GetUtcNow(), TimeSpan.FromMinutes(10), Ct);
        await _app.Service<ScanQueueJob>().RunAsync(Ct);
        var indexResult = await Results.GetAsync(indexDigest, Ct);
        Assert.Equal((ScanStatus.Unsupported, true), (indexResult!.Status, indexResult.Error!.Contains("index", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Scan_HostileLayers_FailWithAMessageAndTheQueueGoesOn()
    {
        await _app.CreateProjectAsync("shop");
        await ImportAsync();
        var layer = DebianLayer();
        var truncated = Image(layer.Compressed[..(layer.Compressed.Length / 2)], layer.DiffId);
        var traversal = Image(Gzip(Tar(("../../etc/passwd", "root:x:0:0::/root:/bin/sh\n"u8.ToArray()))), null);
        var good = DebianImage(out _);

        var truncatedDigest = Digest.Parse(await _app.Admin.PushManifestAsync("shop/bad", truncated, "truncated"));
        var traversalDigest = Digest.Parse(await _app.Admin.PushManifestAsync("shop/bad", traversal, "traversal"));
        var goodDigest = Digest.Parse(await _app.Admin.PushManifestAsync("shop/good", good, "v1"));

        await _app.Service<ScanQueueJob>().RunAsync(Ct);

        var first = await Results.GetAsync(truncatedDigest, Ct);
        Assert.Equal(ScanStatus.Failed, first!.Status);
        Assert.Contains(TestImages.Sha256(truncated.Blobs[1]), first.Error, StringComparison.Ordinal); // names the layer
        Assert.Null(first.Findings);
        var second = await Results.GetAsync(traversalDigest, Ct);
        Assert.Equal(ScanStatus.Failed, second!.Status);
        Assert.Contains("path traversal", second.Error, StringComparison.Ordinal);
        var third = await Results.GetAsync(goodDigest, Ct);
        Assert.Equal(ScanStatus.Done, third!.Status);
        Assert.Empty(await Results.ListQueueAsync(_app.App.Clock.GetUtcNow(), TimeSpan.FromMinutes(10), 10, Ct));
    }

    [Fact]
    public async Task Scan_ManifestDeletedWhileQueued_FailsAsNoLongerStored()
    {
        await _app.CreateProjectAsync("shop");
        var digest = await _app.Admin.PushManifestAsync("shop/api", DebianImage(out _), "v1");
        using (var deleted = await _app.Admin.DeleteAsync($"/v2/shop/api/manifests/{digest}"))
        {
            Assert.True(deleted.IsSuccessStatusCode, deleted.StatusCode.ToString());
        }

        await _app.Service<ScanQueueJob>().RunAsync(Ct);

        var result = await Results.GetAsync(Digest.Parse(digest), Ct);
        Assert.Equal((ScanStatus.Failed, "manifest no longer stored"), (result!.Status, result.Error));
    }

    [Fact]
    public async Task Claims_TwoNodesRace_OneWins()
    {
        await _app.CreateProjectAsync("shop");
        var digest = Digest.Parse(await _app.Admin.PushManifestAsync("shop/api", DebianImage(out _), "v1"));
        var now = _app.App.Clock.GetUtcNow();
        var lease = TimeSpan.FromMinutes(10);

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => Results.TryClaimAsync(digest, $"node-{i}", now, lease, Ct))));

        Assert.Single(claims, c => c);
        var winner = (await Results.GetAsync(digest, Ct))!.ClaimedBy;
        Assert.StartsWith("node-", winner, StringComparison.Ordinal);

        // This node's job finds nothing claimable while the winner's lease runs.
        await _app.Service<ScanQueueJob>().RunAsync(Ct);
        Assert.Equal((ScanStatus.Scanning, winner), ((await Results.GetAsync(digest, Ct))!.Status, (await Results.GetAsync(digest, Ct))!.ClaimedBy));
    }

    [Fact]
    public async Task Claims_ExpiredLease_IsTakenOverAndTheOldNodesCompleteIsRefused()
    {
        await _app.CreateProjectAsync("shop");
        await ImportAsync();
        var digest = Digest.Parse(await _app.Admin.PushManifestAsync("shop/api", DebianImage(out _), "v1"));
        var lease = TimeSpan.FromMinutes(10);
        Assert.True(await Results.TryClaimAsync(digest, "dead-node", _app.App.Clock.GetUtcNow(), lease, Ct));

        _app.App.Clock.Advance(lease + TimeSpan.FromSeconds(1));
        await _app.Service<ScanQueueJob>().RunAsync(Ct);

        var taken = await Results.GetAsync(digest, Ct);
        Assert.Equal(ScanStatus.Done, taken!.Status);
        Assert.NotNull(taken.DatabaseVersion);
        var late = taken with { Status = ScanStatus.Failed, Error = "old node", Findings = null, DatabaseVersion = null };
        Assert.False(await Results.CompleteAsync(late, "dead-node", Ct));
        Assert.False(await Results.RenewClaimAsync(digest, "dead-node", _app.App.Clock.GetUtcNow(), Ct));
        Assert.Equal(ScanStatus.Done, (await Results.GetAsync(digest, Ct))!.Status);
    }

    [Fact]
    public async Task Push_ScanOnPushOff_QueuesNothing()
    {
        await _app.CreateProjectAsync("quiet");
        Assert.True(await _app.Service<IScanPolicyStore>().SetPolicyAsync(Core.Access.ProjectName.Parse("quiet"), ScanPolicy.Default with { ScanOnPush = false }, Ct));

        var digest = Digest.Parse(await _app.Admin.PushManifestAsync("quiet/api", DebianImage(out _), "v1"));

        Assert.Null(await Results.GetAsync(digest, Ct));
        Assert.Empty(await Results.ListQueueAsync(_app.App.Clock.GetUtcNow(), TimeSpan.FromMinutes(10), 10, Ct));
    }

    [Fact]
    public void FindingSummary_WorstIds_NamesAtMostFiveWorstFirst()
    {
        var text = FindingSummary.WorstIds(
        [
            ("CVE-1", Berth.Scanning.Findings.Severity.Low), ("CVE-2", Berth.Scanning.Findings.Severity.Critical), ("CVE-3", Berth.Scanning.Findings.Severity.High),
            ("CVE-2", Berth.Scanning.Findings.Severity.Critical), ("CVE-4", Berth.Scanning.Findings.Severity.Unknown), ("CVE-5", Berth.Scanning.Findings.Severity.Medium),
            ("CVE-6", Berth.Scanning.Findings.Severity.High),
        ]);

        Assert.Equal("CVE-2 (CRITICAL), CVE-3 (HIGH), CVE-6 (HIGH), CVE-5 (MEDIUM), CVE-1 (LOW)", text);
        Assert.Null(FindingSummary.WorstIds(Array.Empty<(string, Berth.Scanning.Findings.Severity)>()));
    }

    private Task<long> ImportAsync() => ScanTestData.ImportAsync(_app);

    private static ScanTestData.Layer DebianLayer() => ScanTestData.DebianLayer();

    private static TestManifest DebianImage(out string layerDigest) => ScanTestData.DebianImage(out layerDigest);

    private static TestManifest Image(byte[] layer, string? diffId) => ScanTestData.Image(layer, diffId);

    private static byte[] Tar(params (string Name, byte[] Content)[] files) => ScanTestData.Tar(files);

    private static byte[] Gzip(byte[] content) => ScanTestData.Gzip(content);
}
