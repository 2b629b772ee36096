using Berth.Core.Metadata;
using Berth.Oci;

namespace Berth.Storage.Conformance;

/// <summary>Garbage collection's side of the metadata store (<see cref="IBlobCollectionIndex"/>) and its effect on links and manifest puts.</summary>
public abstract partial class MetadataStoreConformance
{
    private static readonly TimeSpan Grace = TimeSpan.FromHours(1);

    private IBlobCollectionIndex Collections =>
        BlobIndex as IBlobCollectionIndex ?? throw new InvalidOperationException("the metadata store does not implement IBlobCollectionIndex");

    private DateTimeOffset Cutoff => Clock.GetUtcNow() - Grace;

    [Fact]
    public async Task FindGarbage_UnreferencedLinkOlderThanGrace_IsGarbage()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        await BlobIndex.LinkAsync(App, Blob(2), 10, None);
        Clock.Advance(TimeSpan.FromHours(2));

        var garbage = await Collections.FindGarbageAsync([Blob(1), Blob(2)], Cutoff, None);

        Assert.Equal(new[] { Blob(1), Blob(2) }.OrderBy(d => d.ToString()), garbage.OrderBy(d => d.ToString()));
        Assert.Empty(await Collections.FindGarbageAsync([], Cutoff, None));
    }

    [Fact]
    public async Task FindGarbage_LinkWithinGrace_IsKept()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        Clock.Advance(TimeSpan.FromMinutes(30));

        Assert.Empty(await Collections.FindGarbageAsync([Blob(1)], Cutoff, None));
    }

    [Fact]
    public async Task FindGarbage_OneRecentLinkInAnotherRepository_IsKept()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        Clock.Advance(TimeSpan.FromMinutes(90));
        await BlobIndex.LinkAsync(Other, Blob(1), 10, None); // a mount
        Clock.Advance(TimeSpan.FromMinutes(30));

        Assert.Empty(await Collections.FindGarbageAsync([Blob(1)], Cutoff, None));
    }

    [Fact]
    public async Task Link_AgainInTheSameRepository_RefreshesItsTime()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        Clock.Advance(TimeSpan.FromHours(2));

        Assert.Equal(BlobLinkResult.Linked, await BlobIndex.LinkAsync(App, Blob(1), 10, None)); // a re-upload

        Assert.Equal(Clock.GetUtcNow(), (await BlobIndex.GetLinkAsync(App, Blob(1), None))?.LinkedAt);
        Assert.Empty(await Collections.FindGarbageAsync([Blob(1)], Cutoff, None));
    }

    [Fact]
    public async Task FindGarbage_ReferencedByAManifest_IsKeptUntilTheManifestGoes()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        var manifest = Manifest(1);
        Assert.Equal(ManifestPutStatus.Stored, (await PutAsync(App, manifest, [new ManifestReference(Blob(1), 10, false)], "v1")).Status);
        Clock.Advance(TimeSpan.FromHours(2));

        Assert.Empty(await Collections.FindGarbageAsync([Blob(1)], Cutoff, None));

        await Manifests.DeleteManifestAsync(App, manifest.Digest, None);
        Assert.Equal(new[] { Blob(1) }, await Collections.FindGarbageAsync([Blob(1)], Cutoff, None));
    }

    [Fact]
    public async Task FindGarbage_DigestWithoutAnyRow_IsGarbage()
    {
        // Bytes in the store that were never linked (a crash between commit and link): the caller checks their age.
        Assert.Equal(new[] { Blob(9) }, await Collections.FindGarbageAsync([Blob(9)], Cutoff, None));
    }

    [Fact]
    public async Task GetLink_AnswersSizeAndTime_NullWhenNotLinked()
    {
        var at = Clock.GetUtcNow();
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);

        Assert.Equal(new BlobLink(10, at), await BlobIndex.GetLinkAsync(App, Blob(1), None));
        Assert.Null(await BlobIndex.GetLinkAsync(Other, Blob(1), None));
        Assert.Null(await BlobIndex.GetLinkAsync(App, Blob(2), None));
    }

    [Fact]
    public async Task RefreshLink_OnlyAStaleLinkIsWritten()
    {
        var linkedAt = Clock.GetUtcNow();
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        Clock.Advance(TimeSpan.FromMinutes(5));

        Assert.True(await BlobIndex.RefreshLinkAsync(App, Blob(1), linkedAt, None)); // not older than that: unchanged
        Assert.Equal(linkedAt, (await BlobIndex.GetLinkAsync(App, Blob(1), None))?.LinkedAt);

        Assert.True(await BlobIndex.RefreshLinkAsync(App, Blob(1), Clock.GetUtcNow() - TimeSpan.FromMinutes(1), None));
        Assert.Equal(Clock.GetUtcNow(), (await BlobIndex.GetLinkAsync(App, Blob(1), None))?.LinkedAt);
    }

    [Fact]
    public async Task RefreshLink_MissingLink_IsFalse()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);

        Assert.False(await BlobIndex.RefreshLinkAsync(App, Blob(2), Clock.GetUtcNow(), None));
        Assert.False(await BlobIndex.RefreshLinkAsync(Other, Blob(1), Clock.GetUtcNow(), None));
        Assert.False(await BlobIndex.RefreshLinkAsync(RepositoryName.Parse("project/none"), Blob(1), Clock.GetUtcNow(), None));
    }

    [Fact]
    public async Task RefreshLink_AfterCollection_IsFalse()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        Clock.Advance(TimeSpan.FromHours(2));
        Assert.Single(await Collections.BeginCollectionAsync([Blob(1)], Cutoff, None));

        Assert.False(await BlobIndex.RefreshLinkAsync(App, Blob(1), Clock.GetUtcNow(), None));
    }

    [Fact]
    public async Task BeginCollection_RemovesLinksAndRefusesLinksUntilFinished()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        await BlobIndex.LinkAsync(Other, Blob(1), 10, None);
        Clock.Advance(TimeSpan.FromHours(2));

        Assert.Equal(new[] { Blob(1) }, await Collections.BeginCollectionAsync([Blob(1)], Cutoff, None));

        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
        Assert.Null(await BlobIndex.GetLinkedSizeAsync(Other, Blob(1), None));
        Assert.Equal(new[] { Blob(1) }, await Collections.ListUnfinishedCollectionsAsync(10, None));

        Assert.Equal(BlobLinkResult.BeingCollected, await BlobIndex.LinkAsync(App, Blob(1), 10, None));
        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
        await Sessions.CreateAsync(Session("up", Clock.GetUtcNow()), None);
        Assert.Equal(UploadCompleteResult.BeingCollected, await Sessions.CompleteAsync("up", App, Blob(1), 10, None));
        Assert.Null(await Sessions.GetAsync("up", None)); // the session ends: the client starts the upload again
        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));

        // Other digests are not concerned.
        Assert.Equal(BlobLinkResult.Linked, await BlobIndex.LinkAsync(App, Blob(2), 10, None));

        await Collections.FinishCollectionAsync([Blob(1)], None);
        Assert.Empty(await Collections.ListUnfinishedCollectionsAsync(10, None));
        Assert.Equal(BlobLinkResult.LinkedAfterCollection, await BlobIndex.LinkAsync(App, Blob(1), 10, None));
        Assert.Equal(10, await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
        await Sessions.CreateAsync(Session("again", Clock.GetUtcNow()), None);
        Assert.Equal(UploadCompleteResult.CompletedAfterCollection, await Sessions.CompleteAsync("again", Other, Blob(1), 10, None));
    }

    [Fact]
    public async Task BeginCollection_ReChecks_KeepsWhatWasUsedSinceTheQuery()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        await BlobIndex.LinkAsync(App, Blob(2), 10, None);
        await BlobIndex.LinkAsync(App, Blob(3), 10, None);
        Clock.Advance(TimeSpan.FromHours(2));
        var cutoff = Cutoff;
        Assert.Equal(3, (await Collections.FindGarbageAsync([Blob(1), Blob(2), Blob(3)], cutoff, None)).Count);

        // Between the query and the collection: a re-upload of 1 and a manifest referencing 2.
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        await PutAsync(App, Manifest(1), [new ManifestReference(Blob(2), 10, false)], null);

        Assert.Equal(new[] { Blob(3) }, await Collections.BeginCollectionAsync([Blob(1), Blob(2), Blob(3)], cutoff, None));
        Assert.Equal(10, await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
        Assert.Equal(10, await BlobIndex.GetLinkedSizeAsync(App, Blob(2), None));
        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Blob(3), None));
    }

    [Fact]
    public async Task ManifestPut_ReferencingACollectedBlob_IsReferenceUnknown()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        Clock.Advance(TimeSpan.FromHours(2));
        await Collections.BeginCollectionAsync([Blob(1)], Cutoff, None);
        await Collections.FinishCollectionAsync([Blob(1)], None);

        var put = await PutAsync(App, Manifest(1), [new ManifestReference(Blob(1), 10, false)], "v1");

        Assert.Equal(ManifestPutStatus.ReferenceUnknown, put.Status);
        Assert.Null(await Manifests.GetAsync(App, Ref("v1"), None));
    }

    [Fact]
    public async Task BeginCollection_OfADigestWithoutRows_MarksIt()
    {
        Assert.Equal(new[] { Blob(9) }, await Collections.BeginCollectionAsync([Blob(9)], Cutoff, None));
        Assert.Equal(BlobLinkResult.BeingCollected, await BlobIndex.LinkAsync(App, Blob(9), 10, None));

        // A marker left unfinished (a collector that stopped) is answered again by the next collection.
        Assert.Equal(new[] { Blob(9) }, await Collections.BeginCollectionAsync([Blob(9)], Cutoff, None));
    }

    [Fact]
    public async Task PurgeCollections_RemovesFinishedMarkersOlderThanTheTime()
    {
        await Collections.BeginCollectionAsync([Blob(1), Blob(2)], Cutoff, None);
        await Collections.FinishCollectionAsync([Blob(1)], None);
        Clock.Advance(TimeSpan.FromDays(2));

        Assert.Equal(1, await Collections.PurgeCollectionsAsync(Clock.GetUtcNow() - TimeSpan.FromDays(1), None));

        Assert.Equal(BlobLinkResult.Linked, await BlobIndex.LinkAsync(App, Blob(1), 10, None)); // forgotten: a plain link
        Assert.Equal(new[] { Blob(2) }, await Collections.ListUnfinishedCollectionsAsync(10, None)); // unfinished ones stay
        Assert.Equal(0, await Collections.PurgeCollectionsAsync(Clock.GetUtcNow(), None));
    }

    [Fact]
    public async Task ListUnfinishedCollections_HonoursTheLimit()
    {
        await Collections.BeginCollectionAsync([Blob(1), Blob(2), Blob(3)], Cutoff, None);

        Assert.Equal(2, (await Collections.ListUnfinishedCollectionsAsync(2, None)).Count);
    }
}
