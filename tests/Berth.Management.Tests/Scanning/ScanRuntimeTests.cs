using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
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
    /// <summary>
    /// The 25 Debian:12 records for sources zlib (installed 1:1.2.13.dfsg-1) and tar (1.34+dfsg-1.2+deb12u1) in the test
    /// data: all have a fixed version below the installed one (dpkg --compare-versions lt is false) except these two,
    /// which have no fix in bookworm.
    /// </summary>
    private static readonly string[] ExpectedIds = ["CVE-2005-2541", "CVE-2023-45853"];

    private static readonly string[] RecordFiles =
    [
        "CVE/2002/CVE-2002-1216", "CVE/2003/CVE-2003-0107", "CVE/2004/CVE-2004-0797", "CVE/2005/CVE-2005-1849", "CVE/2005/CVE-2005-1918",
        "CVE/2005/CVE-2005-2096", "CVE/2005/CVE-2005-2541", "CVE/2006/CVE-2006-0300", "CVE/2006/CVE-2006-6097", "CVE/2007/CVE-2007-4131",
        "CVE/2007/CVE-2007-4476", "CVE/2010/CVE-2010-0624", "CVE/2016/CVE-2016-6321", "CVE/2017/CVE-2016-9840", "CVE/2017/CVE-2016-9841",
        "CVE/2017/CVE-2016-9842", "CVE/2017/CVE-2016-9843", "CVE/2018/CVE-2018-20482", "CVE/2019/CVE-2019-9923", "CVE/2021/CVE-2021-20193",
        "CVE/2022/CVE-2018-25032", "CVE/2022/CVE-2022-37434", "CVE/2023/CVE-2022-48303", "CVE/2023/CVE-2023-45853", "CVE/2024/CVE-2023-39804",
    ];

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

    // ---------------------------------------------------------------- helpers

    /// <summary>Imports <see cref="RecordFiles"/> into the advisory store and finishes the import; answers the new version.</summary>
    private async Task<long> ImportAsync()
    {
        var store = _app.Service<IAdvisoryStore>();
        var now = _app.App.Clock.GetUtcNow();
        var start = await store.BeginImportAsync("osv-debian", "test", now, TimeSpan.FromMinutes(5), Ct);
        Assert.Equal(AdvisoryImportStartStatus.Started, start.Status);
        var records = RecordFiles.Select(f => AdvisoryRecordReader.Read(File.ReadAllBytes(Path.Combine(TestData("vulndb"), "debian", "osv", f + ".json")))).ToList();
        await store.AddBatchAsync(start.Import.Id, records, now, Ct);
        var finished = await store.FinishImportAsync(start.Import.Id, now, Ct);
        return finished.Import!.Version!.Value;
    }

    private sealed record Layer(byte[] Compressed, string DiffId);

    private static Layer DebianLayer()
    {
        var tar = Tar(
            ("etc/os-release", File.ReadAllBytes(Path.Combine(TestData("debian12"), "bookworm-os-release"))),
            ("var/lib/dpkg/status", File.ReadAllBytes(Path.Combine(TestData("debian12"), "bookworm-dpkg-status"))));
        return new Layer(Gzip(tar), TestImages.Sha256(tar));
    }

    private static TestManifest DebianImage(out string layerDigest)
    {
        var layer = DebianLayer();
        layerDigest = TestImages.Sha256(layer.Compressed);
        return Image(layer.Compressed, layer.DiffId);
    }

    private static TestManifest Image(byte[] layer, string? diffId)
    {
        var diffIds = diffId is null ? string.Empty : "\"" + diffId + "\"";
        var config = Encoding.UTF8.GetBytes("""{"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z","rootfs":{"type":"layers","diff_ids":[""" + diffIds + """]},"config":{}}""");
        var body = TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, config), [TestDescriptor.Of(TestImages.OciLayer, layer)]);
        return new TestManifest(TestImages.OciManifest, body, [config, layer], []);
    }

    private static byte[] Tar(params (string Name, byte[] Content)[] files)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }

        return buffer.ToArray();
    }

    private static byte[] Gzip(byte[] content)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return buffer.ToArray();
    }

    private static string TestData(string folder)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "testdata", folder);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"tests/testdata/{folder} not found above {AppContext.BaseDirectory}");
    }
}
