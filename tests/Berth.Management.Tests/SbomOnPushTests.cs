using System.Net;
using System.Text.Json;
using Berth.Application.Scanning;
using Berth.Core.Scanning;
using Berth.Oci;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;
using Berth.Scanning.Results;
using Berth.Testing;
using static Berth.Testing.TestImages;

namespace Berth.Management.Tests;

/// <summary>
/// SBOM at push (issue 14 item 6): a project with <c>sbomOnPush</c> gets a CycloneDX referrer on each pushed image once
/// its scan has an inventory, listed by the referrers API and fetched as a blob; never twice; nothing for projects
/// without it, for failed scans, or for an index itself.
/// </summary>
public sealed class SbomOnPushTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    private static readonly ImageInventory Inventory = new(new OsInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)", "bookworm"),
    [
        new InstalledPackage("Debian", "libssl3", "3.0.11-1~deb12u2", "openssl", null, "debian", "var/lib/dpkg/status", null, ["Apache-2.0"]),
        new InstalledPackage("PyPI", "requests", "2.31.0", null, null, "python-pkg", "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", null),
    ]);

    private async Task SetPolicyAsync(string project, bool sbomOnPush)
    {
        using var response = await _app.Admin.SendJsonAsync(HttpMethod.Put, $"/api/v1/projects/{project}/scan-policy", new { sbomOnPush });
        await Expect.StatusAsync(response, HttpStatusCode.OK);
    }

    private async Task ScannedAsync(string digest, ScanStatus status = ScanStatus.Done, string? error = null)
    {
        var store = _app.Service<IScanResultStore>();
        var now = _app.App.Clock.GetUtcNow();
        var inventory = status == ScanStatus.Done ? ScanDocuments.WriteInventory(ImageFacts.None, Inventory) : null;
        await store.UpsertAsync(new ScanResult(Digest.Parse(digest), status, error, 1, now, inventory, status == ScanStatus.Done ? ScanDocuments.WriteFindings([]) : null,
            default, null, now), CancellationToken.None);
    }

    private async Task<JsonElement> ReferrersAsync(string repository, string digest)
    {
        using var response = await _app.Admin.GetAsync($"/v2/{repository}/referrers/{digest}");
        await Expect.StatusAsync(response, HttpStatusCode.OK);
        return (await response.ReadJsonAsync()).GetProperty("manifests");
    }

    [Fact]
    public async Task Push_WithSbomOnPush_AttachesCycloneDxReferrer_Once()
    {
        await _app.CreateProjectAsync("shop");
        await SetPolicyAsync("shop", sbomOnPush: true);
        var image = OciImage(1);
        await _app.Admin.PushManifestAsync("shop/api", image, "v1");

        var queued = await _app.Service<IScanResultStore>().GetAsync(Digest.Parse(image.Digest), CancellationToken.None);
        Assert.Equal(ScanStatus.Queued, queued?.Status); // the SBOM needs the inventory: its scan is queued
        var job = _app.Service<SbomOnPushJob>();
        await job.RunAsync(CancellationToken.None);
        Assert.Equal(0, (await ReferrersAsync("shop/api", image.Digest)).GetArrayLength()); // not scanned yet: waits

        await ScannedAsync(image.Digest);
        await job.RunAsync(CancellationToken.None);
        await job.RunAsync(CancellationToken.None);

        var referrer = Assert.Single((await ReferrersAsync("shop/api", image.Digest)).EnumerateArray());
        Assert.Equal(SbomOnPushJob.ArtifactType, referrer.GetProperty("artifactType").GetString());
        Assert.True(referrer.GetProperty("annotations").TryGetProperty(SbomOnPushJob.CreatorAnnotation, out _));
        Assert.Null(await _app.Service<IScanResultStore>().GetAsync(Digest.Parse(referrer.GetProperty("digest").GetString()!), CancellationToken.None)); // its own push is not queued
        var audit = await _app.AuditAsync(Berth.Core.Access.AuditActions.Push);
        Assert.Contains(audit, e => e.ActorName == "sbom-on-push" && e.Repository?.Value == "shop/api");

        using var manifest = await _app.Admin.GetAsync($"/v2/shop/api/manifests/{referrer.GetProperty("digest").GetString()}");
        await Expect.StatusAsync(manifest, HttpStatusCode.OK);
        var body = await manifest.ReadJsonAsync();
        Assert.Equal(image.Digest, body.GetProperty("subject").GetProperty("digest").GetString());
        var layer = Assert.Single(body.GetProperty("layers").EnumerateArray());
        Assert.Equal(SbomOnPushJob.ArtifactType, layer.GetProperty("mediaType").GetString());

        using var blob = await _app.Admin.GetAsync($"/v2/shop/api/blobs/{layer.GetProperty("digest").GetString()}");
        await Expect.StatusAsync(blob, HttpStatusCode.OK);
        var sbom = await blob.ReadJsonAsync();
        Assert.Equal("CycloneDX", sbom.GetProperty("bomFormat").GetString());
        Assert.Equal("1.6", sbom.GetProperty("specVersion").GetString());
        var purls = sbom.GetProperty("components").EnumerateArray().Select(c => c.TryGetProperty("purl", out var p) ? p.GetString() : null).ToList();
        Assert.Contains(purls, p => p?.StartsWith("pkg:deb/debian/libssl3@3.0.11-1~deb12u2", StringComparison.Ordinal) == true);
        Assert.Contains("pkg:pypi/requests@2.31.0", purls);

        // Pushed again (a new event): its scan is not queued again, and it still has one SBOM.
        await _app.Admin.PushManifestAsync("shop/api", image, "v1-again");
        Assert.Equal(1, _app.Service<SbomOnPush>().Count);
        Assert.Equal(ScanStatus.Done, (await _app.Service<IScanResultStore>().GetAsync(Digest.Parse(image.Digest), CancellationToken.None))?.Status);
        await job.RunAsync(CancellationToken.None);
        Assert.Equal(0, _app.Service<SbomOnPush>().Count);
        Assert.Single((await ReferrersAsync("shop/api", image.Digest)).EnumerateArray());

        // A rescan queued later keeps the inventory: an SBOM made meanwhile for another repository uses it.
        await _app.Service<IScanResultStore>().EnqueueAsync(Digest.Parse(image.Digest), _app.App.Clock.GetUtcNow(), TimeSpan.FromMinutes(10), CancellationToken.None);
        await _app.Admin.PushManifestAsync("shop/copy", image, "v1");
        await job.RunAsync(CancellationToken.None);
        Assert.Single((await ReferrersAsync("shop/copy", image.Digest)).EnumerateArray());
    }

    [Fact]
    public async Task Push_WithoutSbomOnPush_AttachesNothing()
    {
        await _app.CreateProjectAsync("shop");
        await SetPolicyAsync("shop", sbomOnPush: false);
        var image = OciImage(2);
        await _app.Admin.PushManifestAsync("shop/api", image, "v1");
        await ScannedAsync(image.Digest);

        await _app.Service<SbomOnPushJob>().RunAsync(CancellationToken.None);

        Assert.Equal(0, (await ReferrersAsync("shop/api", image.Digest)).GetArrayLength());
        Assert.Equal(0, _app.Service<SbomOnPush>().Count);
    }

    [Fact]
    public async Task FailedScan_IsDropped_WithoutSbom()
    {
        await _app.CreateProjectAsync("shop");
        await SetPolicyAsync("shop", sbomOnPush: true);
        var image = OciImage(3);
        await _app.Admin.PushManifestAsync("shop/api", image, "v1");
        await ScannedAsync(image.Digest, ScanStatus.Failed, "truncated gzip stream");

        await _app.Service<SbomOnPushJob>().RunAsync(CancellationToken.None);

        Assert.Equal(0, (await ReferrersAsync("shop/api", image.Digest)).GetArrayLength());
        Assert.Equal(0, _app.Service<SbomOnPush>().Count);
    }

    [Fact]
    public async Task ScanNeverFinishing_IsDroppedAfterAnHour()
    {
        await _app.CreateProjectAsync("shop");
        await SetPolicyAsync("shop", sbomOnPush: true);
        var image = OciImage(4);
        await _app.Admin.PushManifestAsync("shop/api", image, "v1");
        var job = _app.Service<SbomOnPushJob>();

        await job.RunAsync(CancellationToken.None);
        Assert.Equal(1, _app.Service<SbomOnPush>().Count);
        _app.App.Clock.Advance(SbomOnPushJob.GiveUpAfter + TimeSpan.FromSeconds(1));
        await job.RunAsync(CancellationToken.None);

        Assert.Equal(0, _app.Service<SbomOnPush>().Count);
    }

    [Fact]
    public async Task Index_EachPlatformGetsItsSbom_TheIndexNone()
    {
        await _app.CreateProjectAsync("shop");
        await SetPolicyAsync("shop", sbomOnPush: true);
        var amd = OciImage(5);
        var arm = OciImage(6);
        var index = Index([amd, arm]);
        await _app.Admin.PushManifestAsync("shop/multi", index, "v1");
        await ScannedAsync(amd.Digest);
        await ScannedAsync(arm.Digest);

        await _app.Service<SbomOnPushJob>().RunAsync(CancellationToken.None);

        Assert.Single((await ReferrersAsync("shop/multi", amd.Digest)).EnumerateArray());
        Assert.Single((await ReferrersAsync("shop/multi", arm.Digest)).EnumerateArray());
        Assert.Equal(0, (await ReferrersAsync("shop/multi", index.Digest)).GetArrayLength());
    }

    [Fact]
    public void PendingSet_IsBounded()
    {
        var pending = new SbomOnPush();
        var repository = RepositoryName.Parse("shop/api");
        for (var i = 0; i < SbomOnPush.Capacity; i++)
        {
            Assert.True(pending.Add(repository, Digest.Compute(DigestAlgorithm.Sha256, BitConverter.GetBytes(i)), DateTimeOffset.UnixEpoch));
        }

        Assert.False(pending.Add(repository, Digest.Compute(DigestAlgorithm.Sha256, "one more"u8), DateTimeOffset.UnixEpoch));
        Assert.True(pending.Add(repository, Digest.Compute(DigestAlgorithm.Sha256, BitConverter.GetBytes(0)), DateTimeOffset.UnixEpoch)); // already there
        Assert.Equal(SbomOnPush.Capacity, pending.Count);
    }
}
