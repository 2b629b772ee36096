using Berth.Core.Metadata;
using Berth.Oci;

namespace Berth.Storage.Conformance;

/// <summary>The <see cref="IRepositoryBrowser"/> contract: listings with sizes and times, and the delete of a repository.</summary>
public abstract partial class MetadataStoreConformance
{
    protected IRepositoryBrowser Browser => _stores!.Browser;

    /// <summary>Links a blob of <paramref name="size"/> bytes named after <paramref name="n"/> and returns its reference.</summary>
    private async Task<ManifestReference> LayerAsync(RepositoryName repository, int n, long size)
    {
        await BlobIndex.LinkAsync(repository, Blob(n), size, None);
        return new ManifestReference(Blob(n), size, IsManifest: false);
    }

    [Fact]
    public async Task ListRepositoriesOfProject_SharedLayer_CountsItOnce()
    {
        var config1 = await LayerAsync(App, 1, 100);
        var config2 = await LayerAsync(App, 2, 200);
        var shared = await LayerAsync(App, 3, 10_000);
        var one = Manifest(1);
        var two = Manifest(2);
        await PutAsync(App, one, [config1, shared], "v1");
        await PutAsync(App, two, [config2, shared], "v2");
        await Manifests.PutAsync(App, two, [config2, shared], Tag.Parse("latest"), None);

        var page = await Browser.ListRepositoriesAsync("project", null, 10, None);

        var app = Assert.Single(page.Repositories);
        Assert.Equal(App, app.Name);
        Assert.Equal(3, app.TagCount);
        Assert.Equal(2, app.ManifestCount);
        Assert.Equal(100 + 200 + 10_000 + one.Body.Length + two.Body.Length, app.Size);
        Assert.Equal(Clock.GetUtcNow(), app.LastPushedAt);
        Assert.Null(app.LastPulledAt);
        Assert.False(page.HasMore);
    }

    [Fact]
    public async Task ListRepositoriesOfProject_OnlyLinkedBlobs_SizeZeroAndNoPush()
    {
        await LayerAsync(App, 1, 100);

        var app = Assert.Single((await Browser.ListRepositoriesAsync("project", null, 10, None)).Repositories);

        Assert.Equal(0, app.Size);
        Assert.Equal(0, app.ManifestCount);
        Assert.Null(app.LastPushedAt);
    }

    [Fact]
    public async Task ListRepositoriesOfProject_OtherProjectsWithSimilarNames_AreLeftOut()
    {
        // "a" owns "a" and "a/…", never "a-b", "a.b", "a_b" (which sort between "a" and "a/" or after it).
        foreach (var name in new[] { "a", "a/x", "a/x/y", "a-b/c", "a.b/c", "a_b/c", "b/a" })
        {
            await LayerAsync(RepositoryName.Parse(name), 1, 1);
        }

        var page = await Browser.ListRepositoriesAsync("a", null, 10, None);

        Assert.Equal(["a", "a/x", "a/x/y"], page.Repositories.Select(r => r.Name.Value));
    }

    [Fact]
    public async Task ListRepositoriesOfProject_Paged_WalksEveryNameOnce()
    {
        for (var i = 0; i < 5; i++)
        {
            await LayerAsync(RepositoryName.Parse($"project/r{i}"), 1, 1);
        }

        var seen = new List<string>();
        string? last = null;
        var pages = 0;
        while (true)
        {
            var page = await Browser.ListRepositoriesAsync("project", last, 2, None);
            pages++;
            seen.AddRange(page.Repositories.Select(r => r.Name.Value));
            if (!page.HasMore)
            {
                break;
            }

            last = page.Repositories[^1].Name.Value;
        }

        Assert.Equal(3, pages);
        Assert.Equal(["project/r0", "project/r1", "project/r2", "project/r3", "project/r4"], seen);
    }

    [Fact]
    public async Task ListRepositoriesOfProject_UnknownProject_IsEmpty()
    {
        var page = await Browser.ListRepositoriesAsync(MissingProject, null, 10, None);

        Assert.Empty(page.Repositories);
        Assert.False(page.HasMore);
    }

    [Fact]
    public async Task ListRepositoriesOfProject_HostileCursor_IsOnlyAPosition()
    {
        await LayerAsync(App, 1, 1);

        var page = await Browser.ListRepositoriesAsync("project", "' OR 1=1 --", 10, None);

        Assert.Equal([App], page.Repositories.Select(r => r.Name));
    }

    [Fact]
    public async Task ListRepositoriesOfProject_AfterPull_ReportsLastPull()
    {
        var config = await LayerAsync(App, 1, 100);
        var one = Manifest(1);
        await PutAsync(App, one, [config], "v1");
        var pulledAt = Clock.GetUtcNow().AddMinutes(5);
        await Manifests.RecordPullsAsync([new PullRecord(App, one.Digest, Tag.Parse("v1"), pulledAt)], None);

        var app = Assert.Single((await Browser.ListRepositoriesAsync("project", null, 10, None)).Repositories);

        Assert.Equal(pulledAt, app.LastPulledAt);
    }

    [Fact]
    public async Task ListArtifacts_EveryManifestWithTagsTimesSubjectAndChildren_PagedInDigestOrder()
    {
        var config = await LayerAsync(App, 1, 100);
        var image1 = Manifest(1);
        var image2 = Manifest(2);
        await PutAsync(App, image1, [config], "v1");
        await Manifests.PutAsync(App, image1, [config], Tag.Parse("latest"), None);
        Clock.Advance(TimeSpan.FromMinutes(1));
        image2 = image2 with { PushedAt = Clock.GetUtcNow() };
        await PutAsync(App, image2, [config], null);
        var index = Manifest(3, MediaTypes.OciIndex);
        await PutAsync(App, index, [new ManifestReference(image2.Digest, image2.Body.Length, IsManifest: true), new ManifestReference(image1.Digest, image1.Body.Length, IsManifest: true)], "multi");
        var signature = Manifest(4, artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json", subject: image1.Digest);
        await PutAsync(App, signature, [config], null);
        var pulledAt = Clock.GetUtcNow().AddMinutes(5);
        await Manifests.RecordPullsAsync([new PullRecord(App, image1.Digest, null, pulledAt)], None);
        await PutAsync(Other, Manifest(5), [await LayerAsync(Other, 1, 100)], "elsewhere");

        var all = new List<ArtifactRecord>();
        Digest? last = null;
        var pages = 0;
        while (true)
        {
            var page = await Browser.ListArtifactsAsync(App, last, 3, None);
            Assert.NotNull(page);
            all.AddRange(page.Artifacts);
            pages++;
            if (!page.HasMore)
            {
                break;
            }

            last = page.Artifacts[^1].Digest;
        }

        Assert.Equal(2, pages);
        Assert.Equal(new[] { image1, image2, index, signature }.Select(m => m.Digest.ToString()).Order(StringComparer.Ordinal), all.Select(a => a.Digest.ToString()));
        var byDigest = all.ToDictionary(a => a.Digest);
        Assert.Equal(["latest", "v1"], byDigest[image1.Digest].Tags.Select(t => t.Value));
        Assert.Equal(pulledAt, byDigest[image1.Digest].LastPulledAt);
        Assert.Equal(image1.Body.Length, byDigest[image1.Digest].Size);
        Assert.Empty(byDigest[image2.Digest].Tags);
        Assert.Null(byDigest[image2.Digest].LastPulledAt);
        Assert.Equal(image2.PushedAt, byDigest[image2.Digest].PushedAt);
        Assert.Equal(new[] { image1.Digest, image2.Digest }.Select(d => d.ToString()).Order(StringComparer.Ordinal), byDigest[index.Digest].Children.Select(d => d.ToString()));
        Assert.Equal(MediaTypes.OciIndex, byDigest[index.Digest].MediaType);
        Assert.Equal(image1.Digest, byDigest[signature.Digest].Subject);
        Assert.Empty(byDigest[image1.Digest].Children);
    }

    [Fact]
    public async Task ListArtifacts_UnknownRepositoryIsNull_EmptyRepositoryIsAnEmptyPage()
    {
        await LayerAsync(App, 1, 100);

        Assert.Null(await Browser.ListArtifactsAsync(RepositoryName.Parse("project/none"), null, 10, None));
        var page = await Browser.ListArtifactsAsync(App, null, 10, None);
        Assert.NotNull(page);
        Assert.Empty(page.Artifacts);
        Assert.False(page.HasMore);
    }

    [Fact]
    public async Task ListTagDetails_UnknownRepository_IsNull()
    {
        Assert.Null(await Browser.ListTagDetailsAsync(App, null, 10, None));
    }

    [Fact]
    public async Task ListTagDetails_Image_SizeIsBodyConfigAndLayers()
    {
        var config = await LayerAsync(App, 1, 100);
        var layer = await LayerAsync(App, 2, 5_000);
        var image = Manifest(1);
        await PutAsync(App, image, [config, layer], "v1");

        var page = await Browser.ListTagDetailsAsync(App, null, 10, None);

        var tag = Assert.Single(page!.Tags);
        Assert.Equal("v1", tag.Name.Value);
        Assert.Equal(image.Digest, tag.Digest);
        Assert.Equal(MediaTypes.OciManifest, tag.MediaType);
        Assert.Equal(100 + 5_000 + image.Body.Length, tag.Size);
        Assert.Equal(Clock.GetUtcNow(), tag.PushedAt);
        Assert.Null(tag.LastPulledAt);
    }

    [Fact]
    public async Task ListTagDetails_Index_CountsChildrenAndTheirBlobsOnce()
    {
        var config = await LayerAsync(App, 1, 100);
        var shared = await LayerAsync(App, 2, 5_000);
        var armLayer = await LayerAsync(App, 3, 7_000);
        var amd = Manifest(1);
        var arm = Manifest(2);
        await PutAsync(App, amd, [config, shared], null);
        await PutAsync(App, arm, [config, shared, armLayer], null);
        var index = Manifest(3, MediaTypes.OciIndex);
        await PutAsync(App, index, [new ManifestReference(amd.Digest, amd.Body.Length, true), new ManifestReference(arm.Digest, arm.Body.Length, true)], "multi");

        var tag = Assert.Single((await Browser.ListTagDetailsAsync(App, null, 10, None))!.Tags);

        Assert.Equal(MediaTypes.OciIndex, tag.MediaType);
        Assert.Equal(index.Body.Length + amd.Body.Length + arm.Body.Length + 100 + 5_000 + 7_000, tag.Size);
    }

    [Fact]
    public async Task ListTagDetails_Paged_WalksInOrderAndReportsPulls()
    {
        var config = await LayerAsync(App, 1, 100);
        var image = Manifest(1);
        foreach (var name in new[] { "c", "a", "b" })
        {
            await PutAsync(App, image, [config], name);
        }

        var pulledAt = Clock.GetUtcNow().AddHours(1);
        await Manifests.RecordPullsAsync([new PullRecord(App, image.Digest, Tag.Parse("b"), pulledAt)], None);

        var first = await Browser.ListTagDetailsAsync(App, null, 2, None);
        var second = await Browser.ListTagDetailsAsync(App, first!.Tags[^1].Name.Value, 2, None);

        Assert.Equal(["a", "b"], first.Tags.Select(t => t.Name.Value));
        Assert.True(first.HasMore);
        Assert.Equal(["c"], second!.Tags.Select(t => t.Name.Value));
        Assert.False(second.HasMore);
        Assert.Equal(pulledAt, first.Tags[1].LastPulledAt);
        Assert.Null(first.Tags[0].LastPulledAt);
    }

    [Fact]
    public async Task DeleteRepository_RemovesManifestsTagsAndLinks_KeepsOtherRepositories()
    {
        var config = await LayerAsync(App, 1, 100);
        await LayerAsync(Other, 1, 100);
        await PutAsync(App, Manifest(1), [config], "v1");
        await PutAsync(Other, Manifest(1), [config], "v1");
        await Sessions.CreateAsync(Session("upload-1", Clock.GetUtcNow()), None);

        var result = await Browser.DeleteRepositoryAsync(App, None);

        Assert.Equal(DeleteResult.Deleted, result.Status);
        Assert.Equal(1, result.Manifests);
        Assert.Equal(1, result.Tags);
        Assert.Equal(["upload-1"], result.Uploads!);
        Assert.False(await Repositories.ExistsAsync(App, None));
        Assert.Null(await Manifests.GetAsync(App, Ref("v1"), None));
        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
        Assert.Null(await Sessions.GetAsync("upload-1", None));
        Assert.NotNull(await Manifests.GetAsync(Other, Ref("v1"), None));
        Assert.Equal(100, await BlobIndex.GetLinkedSizeAsync(Other, Blob(1), None));
    }

    [Fact]
    public async Task DeleteRepository_Unknown_IsNotFound()
    {
        Assert.Equal(DeleteResult.NotFound, (await Browser.DeleteRepositoryAsync(App, None)).Status);
    }

    [Fact]
    public async Task DeleteRepository_ThenPushAgain_StartsEmpty()
    {
        var config = await LayerAsync(App, 1, 100);
        await PutAsync(App, Manifest(1), [config], "v1");
        await Browser.DeleteRepositoryAsync(App, None);

        var missing = await PutAsync(App, Manifest(2), [config], "v2");
        var again = await LayerAsync(App, 1, 100);
        var stored = await PutAsync(App, Manifest(2), [again], "v2");

        Assert.Equal(ManifestPutStatus.ReferenceUnknown, missing.Status);
        Assert.Equal(ManifestPutStatus.Stored, stored.Status);
        var tags = await Browser.ListTagDetailsAsync(App, null, 10, None);
        Assert.Equal(["v2"], tags!.Tags.Select(t => t.Name.Value));
    }

    [Fact]
    public async Task DeleteRepository_NestedRepository_LeavesParentAndChildren()
    {
        var parent = RepositoryName.Parse("project/app/sub");
        await LayerAsync(App, 1, 1);
        await LayerAsync(parent, 1, 1);

        await Browser.DeleteRepositoryAsync(App, None);

        Assert.True(await Repositories.ExistsAsync(parent, None));
    }
}
