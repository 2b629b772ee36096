using System.Diagnostics;
using Berth.Core.Metadata;
using Berth.Core.Quotas;
using Berth.Oci;

namespace Berth.Storage.Conformance;

/// <summary>The <see cref="IProjectQuotaStore"/> contract: usage, quotas, and the quota check inside the manifest PUT.</summary>
public abstract partial class MetadataStoreConformance
{
    protected IProjectQuotaStore Quotas => _stores!.Quotas ?? throw new InvalidOperationException("the provider supplies no quota store");

    private static readonly RepositoryName Web = RepositoryName.Parse("project/web");

    private async Task<long> UsedAsync(string project = "project") => (await Quotas.GetUsageAsync(project, None))!.UsedBytes;

    [Fact]
    public async Task Usage_NewProject_IsZeroWithoutQuota()
    {
        var usage = await Quotas.GetUsageAsync("project", None);

        Assert.Equal(new ProjectUsage(null, 0), usage);
    }

    [Fact]
    public async Task Usage_UnknownProject_IsNull()
    {
        Assert.Null(await Quotas.GetUsageAsync(MissingProject, None));
        Assert.Null(await Quotas.GetQuotaAsync(MissingProject, None));
    }

    [Fact]
    public async Task Usage_SharedBlobAcrossRepositories_CountsItOnce()
    {
        var shared = await LayerAsync(App, 1, 10_000);
        await LayerAsync(Web, 1, 10_000);
        var appConfig = await LayerAsync(App, 2, 100);
        var webConfig = await LayerAsync(Web, 3, 200);
        var one = Manifest(1);
        var two = Manifest(2);
        await PutAsync(App, one, [appConfig, shared], "v1");
        await PutAsync(Web, two, [webConfig, shared], "v1");

        Assert.Equal(10_000 + 100 + 200 + one.Body.Length + two.Body.Length, await UsedAsync());
    }

    [Fact]
    public async Task Usage_SameManifestInTwoRepositories_CountsItOnce()
    {
        var layer = await LayerAsync(App, 1, 500);
        await LayerAsync(Web, 1, 500);
        var one = Manifest(1);
        await PutAsync(App, one, [layer], "v1");
        await PutAsync(Web, one, [layer], "v1");

        Assert.Equal(500 + one.Body.Length, await UsedAsync());
    }

    [Fact]
    public async Task Usage_OtherProjectsAndLinkedOnlyBlobs_AreNotCounted()
    {
        // "a" owns "a" and "a/…", never "a-b/…" or "a.b" (which sort next to it); a linked blob no manifest references is free.
        var mine = await LayerAsync(RepositoryName.Parse("a/x"), 1, 100);
        await LayerAsync(RepositoryName.Parse("a/x"), 9, 1_000_000);
        foreach (var other in new[] { "a-b/c", "a.b", "a_b/c", "b/a" })
        {
            var repository = RepositoryName.Parse(other);
            var layer = await LayerAsync(repository, 2, 7_000);
            await PutAsync(repository, Manifest(2), [layer], "v1");
        }

        var manifest = Manifest(1);
        await PutAsync(RepositoryName.Parse("a/x"), manifest, [mine], "v1");

        Assert.Equal(100 + manifest.Body.Length, await UsedAsync("a"));
    }

    [Fact]
    public async Task Usage_TagDeleteLeavingTheManifest_ChangesNothing()
    {
        var layer = await LayerAsync(App, 1, 1_000);
        var one = Manifest(1);
        await PutAsync(App, one, [layer], "v1");
        await Manifests.PutAsync(App, one, [layer], Tag.Parse("latest"), None);
        var before = await UsedAsync();

        await Manifests.DeleteTagAsync(App, Tag.Parse("v1"), None);
        await Manifests.DeleteTagAsync(App, Tag.Parse("latest"), None);

        Assert.Equal(before, await UsedAsync());
        Assert.Equal(1_000 + one.Body.Length, before);
    }

    [Fact]
    public async Task Usage_ManifestDelete_DropsItAtOnce()
    {
        var shared = await LayerAsync(App, 1, 1_000);
        var own = await LayerAsync(App, 2, 50);
        var one = Manifest(1);
        var two = Manifest(2);
        await PutAsync(App, one, [shared], "v1");
        await PutAsync(App, two, [shared, own], "v2");

        await Manifests.DeleteManifestAsync(App, two.Digest, None);

        Assert.Equal(1_000 + one.Body.Length, await UsedAsync());
        await Manifests.DeleteManifestAsync(App, one.Digest, None);
        Assert.Equal(0, await UsedAsync());
    }

    [Fact]
    public async Task Usage_UploadsInProgress_CountTheirAcknowledgedBytes()
    {
        var at = Clock.GetUtcNow();
        await Sessions.CreateAsync(new UploadSession("up1", App, at, at), None);
        await Sessions.CreateAsync(new UploadSession("up2", RepositoryName.Parse("project/new/deep"), at, at), None);
        await Sessions.CreateAsync(new UploadSession("elsewhere", RepositoryName.Parse("a-b/c"), at, at), None);
        await Sessions.AdvanceAsync("up1", 0, 4_000, null, null, at, None);
        await Sessions.AdvanceAsync("up2", 0, 600, null, null, at, None);
        await Sessions.AdvanceAsync("elsewhere", 0, 9_999, null, null, at, None);

        Assert.Equal(4_600, await UsedAsync());

        await Sessions.CompleteAsync("up1", App, Blob(1), 4_000, None); // linked, referenced by no manifest: not counted
        Assert.Equal(600, await UsedAsync());
    }

    [Fact]
    public async Task ReferencesBlob_OnlyBlobsOfTheProjectsManifests()
    {
        var layer = await LayerAsync(App, 1, 100);
        await LayerAsync(App, 2, 100); // linked, referenced by no manifest
        await PutAsync(App, Manifest(1), [layer], "v1");
        var elsewhere = await LayerAsync(RepositoryName.Parse("a-b/c"), 3, 100);
        await PutAsync(RepositoryName.Parse("a-b/c"), Manifest(2), [elsewhere], "v1");

        Assert.True(await Quotas.ReferencesBlobAsync("project", Blob(1).ToString(), None));
        Assert.False(await Quotas.ReferencesBlobAsync("project", Blob(2).ToString(), None));
        Assert.False(await Quotas.ReferencesBlobAsync("a", Blob(3).ToString(), None));
        Assert.True(await Quotas.ReferencesBlobAsync("a-b", Blob(3).ToString(), None));
        Assert.False(await Quotas.ReferencesBlobAsync("project", Manifest(1).Digest.ToString(), None)); // a manifest is not a blob
    }

    [Fact]
    public async Task SetQuota_SetsReadsAndRemovesIt()
    {
        Assert.Equal(QuotaSetResult.Set, await Quotas.SetQuotaAsync("project", 10L << 30, None));
        Assert.Equal(10L << 30, await Quotas.GetQuotaAsync("project", None));
        Assert.Equal(new ProjectUsage(10L << 30, 0), await Quotas.GetUsageAsync("project", None));
        Assert.Null(await Quotas.GetQuotaAsync("a", None));

        Assert.Equal(QuotaSetResult.Set, await Quotas.SetQuotaAsync("project", null, None));
        Assert.Null(await Quotas.GetQuotaAsync("project", None));
        Assert.Equal(QuotaSetResult.Set, await Quotas.SetQuotaAsync("project", long.MaxValue, None));
        Assert.Equal(long.MaxValue, await Quotas.GetQuotaAsync("project", None));
    }

    [Fact]
    public async Task SetQuota_UnknownProject_IsNotFound()
    {
        Assert.Equal(QuotaSetResult.ProjectNotFound, await Quotas.SetQuotaAsync(MissingProject, 100, None));
    }

    [Fact]
    public async Task SetQuota_Negative_Throws()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Quotas.SetQuotaAsync("project", -1, None));
    }

    [Fact]
    public async Task PutManifest_OverQuota_IsRefusedAndStoresNothing()
    {
        var first = await LayerAsync(App, 1, 600);
        var second = await LayerAsync(App, 2, 600);
        var one = Manifest(1);
        var two = Manifest(2);
        await PutAsync(App, one, [first], "v1");
        var used = await UsedAsync();
        await Quotas.SetQuotaAsync("project", used + 500, None);

        var result = await PutAsync(App, two, [second], "v2");

        Assert.Equal(ManifestPutStatus.QuotaExceeded, result.Status);
        Assert.Equal(new QuotaExceeded(used, used + 500, 600 + two.Body.Length), result.Quota);
        Assert.Null(await Manifests.GetAsync(App, Reference.Of(two.Digest), None));
        Assert.Null(await Manifests.GetAsync(App, Ref("v2"), None));
        Assert.Equal(used, await UsedAsync());
    }

    [Fact]
    public async Task PutManifest_OnlyNewBytesCount_SharedLayerAndRepushAreFree()
    {
        var shared = await LayerAsync(App, 1, 10_000);
        var small = await LayerAsync(App, 2, 10);
        var one = Manifest(1);
        await PutAsync(App, one, [shared], "v1");
        await LayerAsync(Web, 1, 10_000);
        await LayerAsync(Web, 2, 10);
        var two = Manifest(2);
        await Quotas.SetQuotaAsync("project", await UsedAsync() + 10 + two.Body.Length, None);

        // The shared layer is referenced already: only the small one and the body are new, which fit exactly.
        Assert.Equal(ManifestPutStatus.Stored, (await PutAsync(Web, two, [shared, small], "v1")).Status);

        // Now full: a re-push of what is there adds nothing and passes, as does a new tag of it in another repository.
        Assert.Equal(ManifestPutStatus.Stored, (await PutAsync(App, one, [shared], "v1")).Status);
        Assert.Equal(ManifestPutStatus.Stored, (await PutAsync(Web, one, [shared], "again")).Status);
        var three = Manifest(3);
        var refused = await PutAsync(App, three, [shared], "v3");
        Assert.Equal(ManifestPutStatus.QuotaExceeded, refused.Status);
        Assert.Equal(three.Body.Length, refused.Quota!.NeededBytes);
    }

    [Fact]
    public async Task PutManifest_QuotaRaised_PushSucceeds()
    {
        var layer = await LayerAsync(App, 1, 5_000);
        await Quotas.SetQuotaAsync("project", 1_000, None);
        var one = Manifest(1);
        Assert.Equal(ManifestPutStatus.QuotaExceeded, (await PutAsync(App, one, [layer], "v1")).Status);

        await Quotas.SetQuotaAsync("project", 5_000 + one.Body.Length, None);

        Assert.Equal(ManifestPutStatus.Stored, (await PutAsync(App, one, [layer], "v1")).Status);
        Assert.Equal(5_000 + one.Body.Length, await UsedAsync());
    }

    [Fact]
    public async Task PutManifest_UploadsInProgressCount_TowardTheQuota()
    {
        var layer = await LayerAsync(App, 1, 100);
        var at = Clock.GetUtcNow();
        await Sessions.CreateAsync(new UploadSession("busy", App, at, at), None);
        await Sessions.AdvanceAsync("busy", 0, 1_000, null, null, at, None);
        var one = Manifest(1);
        await Quotas.SetQuotaAsync("project", 1_050 + one.Body.Length, None);

        var result = await PutAsync(App, one, [layer], "v1");

        Assert.Equal(ManifestPutStatus.QuotaExceeded, result.Status);
        Assert.Equal(1_000, result.Quota!.UsedBytes);
    }

    [Fact]
    public async Task PutManifest_ZeroQuota_RefusesAnythingNew()
    {
        await Quotas.SetQuotaAsync("project", 0, None);

        var result = await PutAsync(App, Manifest(1), [], "v1");

        Assert.Equal(ManifestPutStatus.QuotaExceeded, result.Status);
        Assert.False(await Repositories.ExistsAsync(App, None) && await Manifests.GetAsync(App, Ref("v1"), None) is not null);
    }

    [Fact]
    public async Task PutManifest_ConcurrentPushesThatFitOnlyOneAtATime_OnlyOnePasses()
    {
        // Eight pushes of 600 new bytes each into a quota of 1,000: whatever the interleaving, exactly one is stored.
        var pushes = Enumerable.Range(1, 8).Select(i => (Repository: RepositoryName.Parse($"project/r{i}"), Manifest: Manifest(i))).ToList();
        var layers = new List<ManifestReference>();
        foreach (var (repository, _) in pushes)
        {
            layers.Add(await LayerAsync(repository, 100 + layers.Count, 600 - 0));
        }

        await Quotas.SetQuotaAsync("project", 1_000, None);

        var results = await Task.WhenAll(pushes.Select((p, i) => Task.Run(() => PutAsync(p.Repository, p.Manifest, [layers[i]], "v1"))));

        Assert.Equal(1, results.Count(r => r.Status == ManifestPutStatus.Stored));
        Assert.Equal(7, results.Count(r => r.Status == ManifestPutStatus.QuotaExceeded));
        Assert.True(await UsedAsync() <= 1_000);
    }

    [Fact]
    public async Task Usage_TenThousandManifests_OneQueryWellUnderASecond()
    {
        // 10,000 images in 10 repositories: each a config of its own and two of 50 shared layers.
        const int count = 10_000;
        var repositories = Enumerable.Range(0, 10).Select(i => RepositoryName.Parse($"project/svc{i}")).ToArray();
        foreach (var repository in repositories)
        {
            for (var layer = 0; layer < 50; layer++)
            {
                await BlobIndex.LinkAsync(repository, Blob(1_000_000 + layer), 1_000 + layer, None);
            }
        }

        long expected = Enumerable.Range(0, 50).Sum(layer => 1_000L + layer);
        for (var start = 0; start < count; start += 200)
        {
            await Task.WhenAll(Enumerable.Range(start, 200).Select(async n =>
            {
                var repository = repositories[n % repositories.Length];
                await BlobIndex.LinkAsync(repository, Blob(n), 10, None);
                var record = Manifest(n);
                await Manifests.PutAsync(repository, record,
                    [new(Blob(n), 10, false), new(Blob(1_000_000 + (n % 50)), 1_000 + (n % 50), false), new(Blob(1_000_000 + ((n + 7) % 50)), 1_000 + ((n + 7) % 50), false)],
                    null, None);
            }));
        }

        for (var n = 0; n < count; n++)
        {
            expected += 10 + Manifest(n).Body.Length;
        }

        await UsedAsync(); // warm
        var watch = Stopwatch.StartNew();
        var used = await UsedAsync();
        watch.Stop();

        Assert.Equal(expected, used);
        if (Environment.GetEnvironmentVariable("BERTH_TEST_TIMINGS") is { Length: > 0 } file)
        {
            await File.AppendAllTextAsync(file, $"{GetType().Name}: usage of {count} manifests in {watch.Elapsed.TotalMilliseconds:0.0} ms{Environment.NewLine}");
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"the usage query took {watch.Elapsed.TotalMilliseconds:0} ms");
    }
}
