using System.Text;
using Berth.Core.Metadata;
using Berth.Oci;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Storage.Conformance;

/// <summary>
/// The contract of the metadata interfaces (<see cref="IRepositoryIndex"/>, <see cref="IBlobIndex"/>,
/// <see cref="IManifestIndex"/>, <see cref="IUploadSessionStore"/>; see their doc comments), for every provider.
/// A provider subclasses this once and supplies a fresh, empty store per test.
/// </summary>
public abstract partial class MetadataStoreConformance : IAsyncLifetime
{
    private static readonly RepositoryName App = RepositoryName.Parse("project/app");
    private static readonly RepositoryName Other = RepositoryName.Parse("project/other");

    private Stores? _stores;

    /// <summary>The clock the store sees; starts at 2026-01-01T00:00:00Z.</summary>
    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    protected IRepositoryIndex Repositories => (_stores ?? throw new InvalidOperationException("not initialised")).Repositories;

    protected IBlobIndex BlobIndex => _stores!.Blobs;

    protected IManifestIndex Manifests => _stores!.Manifests;

    protected IUploadSessionStore Sessions => _stores!.Sessions;

    protected static CancellationToken None => CancellationToken.None;

    /// <summary>The four metadata interfaces of one store.</summary>
    protected sealed record Stores(IRepositoryIndex Repositories, IBlobIndex Blobs, IManifestIndex Manifests, IUploadSessionStore Sessions, IRepositoryBrowser Browser,
        Core.Quotas.IProjectQuotaStore? Quotas = null);

    /// <summary>Creates a new, empty store for one test that uses <paramref name="clock"/>.</summary>
    protected abstract Task<Stores> CreateStoresAsync(TimeProvider clock);

    /// <summary>
    /// Creates projects (an <c>IProjectStore</c> project of the same database): repositories are created only inside
    /// existing projects. The suite creates every project its repository names use before each test, except
    /// <see cref="MissingProject"/>.
    /// </summary>
    protected abstract Task CreateProjectsAsync(IReadOnlyList<string> names);

    /// <summary>A project that never exists in the suite's stores.</summary>
    protected const string MissingProject = "nowhere";

    /// <summary>Removes what the test stored.</summary>
    protected abstract Task DeleteStoresAsync();

    /// <summary>When the manifest was last pulled, as recorded by <see cref="IManifestIndex.RecordPullsAsync"/> (a test hook).</summary>
    protected abstract Task<DateTimeOffset?> GetManifestLastPulledAsync(RepositoryName repository, Digest digest);

    /// <summary>When the tag was last pulled, as recorded by <see cref="IManifestIndex.RecordPullsAsync"/> (a test hook).</summary>
    protected abstract Task<DateTimeOffset?> GetTagLastPulledAsync(RepositoryName repository, Tag tag);

    public async Task InitializeAsync()
    {
        _stores = await CreateStoresAsync(Clock);
        await CreateProjectsAsync(["project", "a", "a-b", "a.b", "a_b", "b", "c", "d", "e", "z0"]);
    }

    public Task DisposeAsync() => DeleteStoresAsync();

    // ---------------------------------------------------------------- IRepositoryIndex

    [Fact]
    public async Task Exists_UnknownRepository_IsFalse()
    {
        Assert.False(await Repositories.ExistsAsync(App, None));
    }

    [Fact]
    public async Task Exists_AfterFirstBlobLink_IsTrue()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);

        Assert.True(await Repositories.ExistsAsync(App, None));
        Assert.False(await Repositories.ExistsAsync(Other, None));
    }

    [Fact]
    public async Task Exists_AfterFirstManifest_IsTrue()
    {
        await PutAsync(App, Manifest(1), [], "v1");

        Assert.True(await Repositories.ExistsAsync(App, None));
    }

    [Fact]
    public async Task ListRepositories_Empty_ReturnsEmptyPage()
    {
        var page = await Repositories.ListAsync(null, 10, None);

        Assert.Empty(page.Names);
        Assert.False(page.HasMore);
    }

    [Fact]
    public async Task ListRepositories_ReturnsNamesInOrdinalOrder()
    {
        string[] names = ["b/app", "a-b/c", "a/b", "a", "a.b", "z0/y", "a/b/c", "a_b"];
        foreach (var name in names)
        {
            await BlobIndex.LinkAsync(RepositoryName.Parse(name), Blob(1), 10, None);
        }

        var page = await Repositories.ListAsync(null, 100, None);

        Assert.Equal(names.Order(StringComparer.Ordinal), page.Names);
        Assert.False(page.HasMore);
    }

    [Fact]
    public async Task ListRepositories_PagesWithLastExclusiveAndHasMore()
    {
        foreach (var name in new[] { "e", "d", "c", "b", "a" })
        {
            await BlobIndex.LinkAsync(RepositoryName.Parse(name), Blob(1), 10, None);
        }

        var first = await Repositories.ListAsync(null, 2, None);
        var second = await Repositories.ListAsync(first.Names[^1], 2, None);
        var third = await Repositories.ListAsync(second.Names[^1], 2, None);

        Assert.Equal(["a", "b"], first.Names);
        Assert.True(first.HasMore);
        Assert.Equal(["c", "d"], second.Names);
        Assert.True(second.HasMore);
        Assert.Equal(["e"], third.Names);
        Assert.False(third.HasMore);
    }

    [Fact]
    public async Task ListRepositories_LimitEqualToCount_HasNoMore()
    {
        await BlobIndex.LinkAsync(RepositoryName.Parse("a"), Blob(1), 10, None);
        await BlobIndex.LinkAsync(RepositoryName.Parse("b"), Blob(1), 10, None);

        var page = await Repositories.ListAsync(null, 2, None);

        Assert.Equal(["a", "b"], page.Names);
        Assert.False(page.HasMore);
    }

    [Fact]
    public async Task ListRepositories_LastThatIsNotAName_StartsAfterItLexically()
    {
        foreach (var name in new[] { "a", "b/c", "c" })
        {
            await BlobIndex.LinkAsync(RepositoryName.Parse(name), Blob(1), 10, None);
        }

        var page = await Repositories.ListAsync("b", 10, None);

        Assert.Equal(["b/c", "c"], page.Names);
    }

    // ---------------------------------------------------------------- IBlobIndex

    [Fact]
    public async Task GetLinkedSize_NotLinked_IsNull()
    {
        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
    }

    [Fact]
    public async Task Link_MakesTheBlobVisibleWithItsSize()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 1234, None);

        Assert.Equal(1234L, await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
    }

    [Fact]
    public async Task Link_Twice_SucceedsAndKeepsTheLink()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);

        await BlobIndex.LinkAsync(App, Blob(1), 10, None);

        Assert.Equal(10L, await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
    }

    [Fact]
    public async Task Link_IsScopedToTheRepository()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);

        Assert.Null(await BlobIndex.GetLinkedSizeAsync(Other, Blob(1), None));
        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Blob(2), None));
    }

    [Fact]
    public async Task Link_SameBlobInTwoRepositories_BothSeeIt()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        await BlobIndex.LinkAsync(Other, Blob(1), 10, None);

        Assert.Equal(10L, await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
        Assert.Equal(10L, await BlobIndex.GetLinkedSizeAsync(Other, Blob(1), None));
    }

    [Fact]
    public async Task Link_Sha512Digest_IsDistinctFromSha256()
    {
        var sha512 = Digest.Compute(DigestAlgorithm.Sha512, [1]);
        await BlobIndex.LinkAsync(App, sha512, 1, None);

        Assert.Equal(1L, await BlobIndex.GetLinkedSizeAsync(App, sha512, None));
        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Digest.Compute(DigestAlgorithm.Sha256, [1]), None));
    }

    [Fact]
    public async Task Unlink_Linked_ReturnsDeletedAndRemovesTheLink()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);

        Assert.Equal(DeleteResult.Deleted, await BlobIndex.UnlinkAsync(App, Blob(1), None));

        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
        Assert.Equal(DeleteResult.NotFound, await BlobIndex.UnlinkAsync(App, Blob(1), None));
    }

    [Fact]
    public async Task Unlink_InOneRepository_LeavesOthers()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        await BlobIndex.LinkAsync(Other, Blob(1), 10, None);

        await BlobIndex.UnlinkAsync(App, Blob(1), None);

        Assert.Equal(10L, await BlobIndex.GetLinkedSizeAsync(Other, Blob(1), None));
    }

    [Fact]
    public async Task Unlink_UnknownRepositoryOrBlob_ReturnsNotFound()
    {
        Assert.Equal(DeleteResult.NotFound, await BlobIndex.UnlinkAsync(App, Blob(1), None));
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        Assert.Equal(DeleteResult.NotFound, await BlobIndex.UnlinkAsync(App, Blob(2), None));
    }

    [Fact]
    public async Task Unlink_ThenLinkAgain_RestoresTheLink()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        await BlobIndex.UnlinkAsync(App, Blob(1), None);

        await BlobIndex.LinkAsync(App, Blob(1), 10, None);

        Assert.Equal(10L, await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
    }

    [Fact]
    public async Task Link_RepositoryWhoseProjectIsMissing_ReturnsProjectNotFoundAndCreatesNothing()
    {
        var orphan = RepositoryName.Parse(MissingProject + "/app");

        Assert.Equal(BlobLinkResult.ProjectNotFound, await BlobIndex.LinkAsync(orphan, Blob(1), 10, None));

        Assert.False(await Repositories.ExistsAsync(orphan, None));
        Assert.Null(await BlobIndex.GetLinkedSizeAsync(orphan, Blob(1), None));
        Assert.Empty((await Repositories.ListAsync(null, 10, None)).Names);
    }

    [Fact]
    public async Task Link_RepositoryNamedLikeItsProject_IsCreated()
    {
        Assert.Equal(BlobLinkResult.Linked, await BlobIndex.LinkAsync(RepositoryName.Parse("project"), Blob(1), 10, None));

        Assert.True(await Repositories.ExistsAsync(RepositoryName.Parse("project"), None));
    }

    // ---------------------------------------------------------------- IManifestIndex: put and get

    [Fact]
    public async Task Put_RepositoryWhoseProjectIsMissing_ReturnsProjectNotFoundAndStoresNothing()
    {
        var orphan = RepositoryName.Parse(MissingProject + "/app");
        var record = Manifest(1);

        var result = await PutAsync(orphan, record, [], "v1");

        Assert.Equal(ManifestPutStatus.ProjectNotFound, result.Status);
        Assert.False(await Repositories.ExistsAsync(orphan, None));
        Assert.Null(await Manifests.GetAsync(orphan, Reference.Of(record.Digest), None));
    }

    [Fact]
    public async Task Put_WithoutReferences_StoresEveryField()
    {
        var subject = Blob(99);
        var record = Manifest(1, artifactType: "application/x", subject: subject, annotations: """{"a":"b"}""");

        var result = await PutAsync(App, record, [], null);

        Assert.Equal(ManifestPutStatus.Stored, result.Status);
        var stored = await Manifests.GetAsync(App, Reference.Of(record.Digest), None);
        AssertSameManifest(record, stored);
    }

    [Fact]
    public async Task Put_WithTag_IsFoundByTagAndByDigest()
    {
        var record = Manifest(1);

        await PutAsync(App, record, [], "v1");

        AssertSameManifest(record, await Manifests.GetAsync(App, Ref("v1"), None));
        AssertSameManifest(record, await Manifests.GetAsync(App, Reference.Of(record.Digest), None));
    }

    [Fact]
    public async Task Put_WithTag_ReportsWhereTheTagPointedBefore()
    {
        var first = await PutAsync(App, Manifest(1), [], "v1");
        var moved = await PutAsync(App, Manifest(2), [], "v1");
        var same = await PutAsync(App, Manifest(2), [], "v1");
        var untagged = await PutAsync(App, Manifest(3), [], null);
        var elsewhere = await PutAsync(Other, Manifest(1), [], "v1");

        Assert.Null(first.PreviousTagTarget);
        Assert.Equal(Manifest(1).Digest, moved.PreviousTagTarget);
        Assert.Equal(Manifest(2).Digest, same.PreviousTagTarget);
        Assert.Null(untagged.PreviousTagTarget);
        Assert.Null(elsewhere.PreviousTagTarget); // tags are per repository
    }

    [Fact]
    public async Task Put_RefusedWithTag_ReportsNoPreviousTargetAndLeavesTheTag()
    {
        await PutAsync(App, Manifest(1), [], "v1");

        var refused = await PutAsync(App, Manifest(2), [new ManifestReference(Blob(7), 1, false)], "v1");

        Assert.Equal(ManifestPutStatus.ReferenceUnknown, refused.Status);
        Assert.Null(refused.PreviousTagTarget);
        AssertSameManifest(Manifest(1), await Manifests.GetAsync(App, Ref("v1"), None));
    }

    [Fact]
    public async Task Get_Unknown_ReturnsNull()
    {
        await PutAsync(App, Manifest(1), [], "v1");

        Assert.Null(await Manifests.GetAsync(App, Ref("v2"), None));
        Assert.Null(await Manifests.GetAsync(App, Reference.Of(Manifest(2).Digest), None));
        Assert.Null(await Manifests.GetAsync(Other, Ref("v1"), None));
        Assert.Null(await Manifests.GetAsync(Other, Reference.Of(Manifest(1).Digest), None));
    }

    [Fact]
    public async Task Put_WithLinkedBlobReferences_IsStored()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        await BlobIndex.LinkAsync(App, Blob(2), 20, None);

        var result = await PutAsync(App, Manifest(1), [new(Blob(1), 10, false), new(Blob(2), 20, false)], "v1");

        Assert.Equal(ManifestPutStatus.Stored, result.Status);
    }

    [Fact]
    public async Task Put_WithMissingBlob_ReturnsReferenceUnknownAndStoresNothing()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        var missing = new ManifestReference(Blob(2), 20, false);
        var record = Manifest(1);

        var result = await PutAsync(App, record, [new(Blob(1), 10, false), missing], "v1");

        Assert.Equal(ManifestPutStatus.ReferenceUnknown, result.Status);
        Assert.Equal(missing, result.Missing);
        Assert.Null(await Manifests.GetAsync(App, Reference.Of(record.Digest), None));
        Assert.Null(await Manifests.GetAsync(App, Ref("v1"), None));
        Assert.Empty((await Manifests.ListTagsAsync(App, null, 10, None))!.Names);
    }

    [Fact]
    public async Task Put_WithMissingBlobInNewRepository_DoesNotCreateTheRepository()
    {
        var result = await PutAsync(App, Manifest(1), [new(Blob(1), 10, false)], "v1");

        Assert.Equal(ManifestPutStatus.ReferenceUnknown, result.Status);
        Assert.False(await Repositories.ExistsAsync(App, None));
        Assert.Null(await Manifests.ListTagsAsync(App, null, 10, None));
        Assert.Empty((await Repositories.ListAsync(null, 10, None)).Names);
    }

    [Fact]
    public async Task Put_WithBlobOfDifferentSize_ReturnsReferenceSizeMismatchAndStoresNothing()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);
        var reference = new ManifestReference(Blob(1), 11, false);
        var record = Manifest(1);

        var result = await PutAsync(App, record, [reference], "v1");

        Assert.Equal(ManifestPutStatus.ReferenceSizeMismatch, result.Status);
        Assert.Equal(reference, result.Missing);
        Assert.Equal(10L, result.ActualSize);
        Assert.Null(await Manifests.GetAsync(App, Reference.Of(record.Digest), None));
    }

    [Fact]
    public async Task Put_WithBlobLinkedOnlyInAnotherRepository_ReturnsReferenceUnknown()
    {
        await BlobIndex.LinkAsync(Other, Blob(1), 10, None);

        var result = await PutAsync(App, Manifest(1), [new(Blob(1), 10, false)], "v1");

        Assert.Equal(ManifestPutStatus.ReferenceUnknown, result.Status);
    }

    [Fact]
    public async Task Put_IndexWithChildManifestPresent_IsStored()
    {
        var child = Manifest(1);
        await PutAsync(App, child, [], null);

        var result = await PutAsync(App, Manifest(2, MediaTypes.OciIndex), [new(child.Digest, child.Body.Length, true)], "multi");

        Assert.Equal(ManifestPutStatus.Stored, result.Status);
    }

    [Fact]
    public async Task Put_IndexWithMissingChildManifest_ReturnsReferenceUnknownAndStoresNothing()
    {
        var present = Manifest(1);
        await PutAsync(App, present, [], null);
        var absent = Manifest(3);
        var index = Manifest(2, MediaTypes.OciIndex);

        var result = await PutAsync(App, index, [new(present.Digest, present.Body.Length, true), new(absent.Digest, absent.Body.Length, true)], "multi");

        Assert.Equal(ManifestPutStatus.ReferenceUnknown, result.Status);
        Assert.Equal(absent.Digest, result.Missing!.Digest);
        Assert.True(result.Missing.IsManifest);
        Assert.Null(await Manifests.GetAsync(App, Reference.Of(index.Digest), None));
        Assert.Null(await Manifests.GetAsync(App, Ref("multi"), None));
    }

    [Fact]
    public async Task Put_ChildManifestThatIsOnlyALinkedBlob_ReturnsReferenceUnknown()
    {
        var child = Manifest(1);
        await BlobIndex.LinkAsync(App, child.Digest, child.Body.Length, None);

        var result = await PutAsync(App, Manifest(2, MediaTypes.OciIndex), [new(child.Digest, child.Body.Length, true)], null);

        Assert.Equal(ManifestPutStatus.ReferenceUnknown, result.Status);
    }

    [Fact]
    public async Task Put_ChildManifestOfDifferentSize_ReturnsReferenceSizeMismatch()
    {
        var child = Manifest(1);
        await PutAsync(App, child, [], null);

        var result = await PutAsync(App, Manifest(2, MediaTypes.OciIndex), [new(child.Digest, child.Body.Length + 1, true)], null);

        Assert.Equal(ManifestPutStatus.ReferenceSizeMismatch, result.Status);
        Assert.Equal(child.Body.Length, result.ActualSize);
    }

    [Fact]
    public async Task Put_FailedPush_DoesNotMoveAnExistingTag()
    {
        var first = Manifest(1);
        await PutAsync(App, first, [], "v1");

        var result = await PutAsync(App, Manifest(2), [new(Blob(5), 5, false)], "v1");

        Assert.Equal(ManifestPutStatus.ReferenceUnknown, result.Status);
        Assert.Equal(first.Digest, (await Manifests.GetAsync(App, Ref("v1"), None))!.Digest);
    }

    [Fact]
    public async Task Put_SameDigestAgain_KeepsTheManifest()
    {
        var record = Manifest(1);
        await PutAsync(App, record, [], "v1");

        var again = await PutAsync(App, record, [], "v2");

        Assert.Equal(ManifestPutStatus.Stored, again.Status);
        AssertSameManifest(record, await Manifests.GetAsync(App, Reference.Of(record.Digest), None));
        Assert.Equal(["v1", "v2"], (await Manifests.ListTagsAsync(App, null, 10, None))!.Names);
    }

    [Fact]
    public async Task Put_ExistingTag_MovesItToTheNewManifest()
    {
        var first = Manifest(1);
        var second = Manifest(2);
        await PutAsync(App, first, [], "latest");

        await PutAsync(App, second, [], "latest");

        Assert.Equal(second.Digest, (await Manifests.GetAsync(App, Ref("latest"), None))!.Digest);
        Assert.NotNull(await Manifests.GetAsync(App, Reference.Of(first.Digest), None));
        Assert.Equal(["latest"], (await Manifests.ListTagsAsync(App, null, 10, None))!.Names);
    }

    [Fact]
    public async Task Put_SameManifestInTwoRepositories_IsIndependent()
    {
        var record = Manifest(1);
        await PutAsync(App, record, [], "v1");
        await PutAsync(Other, record, [], "v1");

        await Manifests.DeleteManifestAsync(App, record.Digest, None);

        Assert.Null(await Manifests.GetAsync(App, Ref("v1"), None));
        Assert.NotNull(await Manifests.GetAsync(Other, Ref("v1"), None));
    }

    [Fact]
    public async Task Put_Sha512Manifest_IsFoundBySha512Digest()
    {
        var body = Encoding.UTF8.GetBytes("{\"sha512\":true}");
        var record = new ManifestRecord(Digest.Compute(DigestAlgorithm.Sha512, body), MediaTypes.OciManifest, body, null, null, null, Clock.GetUtcNow());

        await PutAsync(App, record, [], null);

        AssertSameManifest(record, await Manifests.GetAsync(App, Reference.Of(record.Digest), None));
    }

    // ---------------------------------------------------------------- IManifestIndex: find a manifest's repository

    [Fact]
    public async Task FindRepositoryOfManifest_UnknownDigest_IsNull()
    {
        await PutAsync(App, Manifest(1), [], "v1");

        Assert.Null(await Manifests.FindRepositoryOfManifestAsync(Manifest(2).Digest, None));
    }

    [Fact]
    public async Task FindRepositoryOfManifest_OneHolder_IsThatRepository()
    {
        await PutAsync(App, Manifest(1), [], null);
        await PutAsync(Other, Manifest(2), [], "v1");

        Assert.Equal(App, await Manifests.FindRepositoryOfManifestAsync(Manifest(1).Digest, None));
        Assert.Equal(Other, await Manifests.FindRepositoryOfManifestAsync(Manifest(2).Digest, None));
    }

    [Fact]
    public async Task FindRepositoryOfManifest_SeveralHolders_IsOneOfThemAndFollowsDeletes()
    {
        await PutAsync(App, Manifest(1), [], "v1");
        await PutAsync(Other, Manifest(1), [], "v1");

        var found = await Manifests.FindRepositoryOfManifestAsync(Manifest(1).Digest, None);
        Assert.True(found == App || found == Other, $"found {found}");

        Assert.Equal(ManifestDeleteStatus.Deleted, (await Manifests.DeleteManifestAsync(found!.Value, Manifest(1).Digest, None)).Status);
        var remaining = found == App ? Other : App;
        Assert.Equal(remaining, await Manifests.FindRepositoryOfManifestAsync(Manifest(1).Digest, None));

        await Manifests.DeleteManifestAsync(remaining, Manifest(1).Digest, None);
        Assert.Null(await Manifests.FindRepositoryOfManifestAsync(Manifest(1).Digest, None));
    }

    [Fact]
    public async Task FindRepositoryOfManifest_ABlobOrAReferenceWithThatDigest_IsNotAManifest()
    {
        var child = Manifest(2);
        await BlobIndex.LinkAsync(App, Blob(7), 10, None);
        await PutAsync(App, child, [], null);
        await PutAsync(App, Manifest(3), [new ManifestReference(child.Digest, child.Body.Length, true)], "v1");
        await Manifests.DeleteManifestAsync(App, Manifest(3).Digest, None);

        Assert.Null(await Manifests.FindRepositoryOfManifestAsync(Blob(7), None));
        Assert.Equal(App, await Manifests.FindRepositoryOfManifestAsync(child.Digest, None));
    }

    // ---------------------------------------------------------------- IManifestIndex: parents of a manifest

    [Fact]
    public async Task ListParentManifests_IndexesReferringToTheManifest_InDigestOrder()
    {
        var child = Manifest(2);
        var first = Manifest(3, MediaTypes.OciIndex);
        var second = Manifest(4, MediaTypes.OciIndex);
        await PutAsync(App, child, [], null);
        await PutAsync(App, first, [new ManifestReference(child.Digest, child.Body.Length, true)], "a");
        await PutAsync(App, second, [new ManifestReference(child.Digest, child.Body.Length, true)], "b");
        await PutAsync(App, Manifest(5, MediaTypes.OciIndex), [], "c");

        var parents = await Manifests.ListParentManifestsAsync(App, child.Digest, 10, None);

        Assert.Equal(new[] { first.Digest, second.Digest }.OrderBy(d => d.ToString(), StringComparer.Ordinal), parents);
        Assert.Single(await Manifests.ListParentManifestsAsync(App, child.Digest, 1, None));
    }

    [Fact]
    public async Task ListParentManifests_OtherRepositoryBlobReferenceOrDeletedParent_AreNotParents()
    {
        var child = Manifest(2);
        var elsewhere = Manifest(3, MediaTypes.OciIndex);
        var deleted = Manifest(5, MediaTypes.OciIndex);
        await BlobIndex.LinkAsync(App, Blob(7), 10, None);
        await PutAsync(App, child, [], null);
        await PutAsync(Other, child, [], null);
        await PutAsync(Other, elsewhere, [new ManifestReference(child.Digest, child.Body.Length, true)], "a");
        await PutAsync(App, Manifest(4), [new ManifestReference(Blob(7), 10, false)], "b");
        await PutAsync(App, deleted, [new ManifestReference(child.Digest, child.Body.Length, true)], "c");
        await Manifests.DeleteManifestAsync(App, deleted.Digest, None);

        Assert.Empty(await Manifests.ListParentManifestsAsync(App, child.Digest, 10, None));
        Assert.Empty(await Manifests.ListParentManifestsAsync(App, Blob(7), 10, None));
        Assert.Equal([elsewhere.Digest], await Manifests.ListParentManifestsAsync(Other, child.Digest, 10, None));
        Assert.Empty(await Manifests.ListParentManifestsAsync(RepositoryName.Parse("project/unknown"), child.Digest, 10, None));
    }

    // ---------------------------------------------------------------- IManifestIndex: delete

    [Fact]
    public async Task DeleteManifest_RemovesItAndEveryTagPointingAtIt()
    {
        var record = Manifest(1);
        var keep = Manifest(2);
        await PutAsync(App, record, [], "a");
        await PutAsync(App, record, [], "b");
        await PutAsync(App, keep, [], "c");

        Assert.Equal(ManifestDeleteStatus.Deleted, (await Manifests.DeleteManifestAsync(App, record.Digest, None)).Status);

        Assert.Null(await Manifests.GetAsync(App, Reference.Of(record.Digest), None));
        Assert.Null(await Manifests.GetAsync(App, Ref("a"), None));
        Assert.Null(await Manifests.GetAsync(App, Ref("b"), None));
        Assert.Equal(["c"], (await Manifests.ListTagsAsync(App, null, 10, None))!.Names);
        Assert.Equal(keep.Digest, (await Manifests.GetAsync(App, Ref("c"), None))!.Digest);
    }

    [Fact]
    public async Task DeleteManifest_Unknown_ReturnsNotFound()
    {
        Assert.Equal(ManifestDeleteStatus.NotFound, (await Manifests.DeleteManifestAsync(App, Manifest(1).Digest, None)).Status);
        await PutAsync(App, Manifest(1), [], "v1");
        Assert.Equal(ManifestDeleteStatus.NotFound, (await Manifests.DeleteManifestAsync(App, Manifest(2).Digest, None)).Status);
        Assert.Equal(ManifestDeleteStatus.NotFound, (await Manifests.DeleteManifestAsync(Other, Manifest(1).Digest, None)).Status);
    }

    [Fact]
    public async Task DeleteManifest_Twice_SecondReturnsNotFound()
    {
        var record = Manifest(1);
        await PutAsync(App, record, [], "v1");
        await Manifests.DeleteManifestAsync(App, record.Digest, None);

        Assert.Equal(ManifestDeleteStatus.NotFound, (await Manifests.DeleteManifestAsync(App, record.Digest, None)).Status);
    }

    [Fact]
    public async Task DeleteManifest_ThenPutAgain_StoresItAgain()
    {
        var record = Manifest(1);
        await PutAsync(App, record, [], "v1");
        await Manifests.DeleteManifestAsync(App, record.Digest, None);

        var result = await PutAsync(App, record, [], "v1");

        Assert.Equal(ManifestPutStatus.Stored, result.Status);
        AssertSameManifest(record, await Manifests.GetAsync(App, Ref("v1"), None));
    }

    [Fact]
    public async Task DeleteTag_RemovesOnlyTheTag()
    {
        var record = Manifest(1);
        await PutAsync(App, record, [], "a");
        await PutAsync(App, record, [], "b");

        Assert.Equal(ManifestDeleteStatus.Deleted, (await Manifests.DeleteTagAsync(App, Tag.Parse("a"), None)).Status);

        Assert.Null(await Manifests.GetAsync(App, Ref("a"), None));
        Assert.NotNull(await Manifests.GetAsync(App, Ref("b"), None));
        AssertSameManifest(record, await Manifests.GetAsync(App, Reference.Of(record.Digest), None));
        Assert.Equal(["b"], (await Manifests.ListTagsAsync(App, null, 10, None))!.Names);
    }

    [Fact]
    public async Task DeleteTag_Unknown_ReturnsNotFound()
    {
        Assert.Equal(ManifestDeleteStatus.NotFound, (await Manifests.DeleteTagAsync(App, Tag.Parse("v1"), None)).Status);
        await PutAsync(App, Manifest(1), [], "v1");
        Assert.Equal(ManifestDeleteStatus.NotFound, (await Manifests.DeleteTagAsync(App, Tag.Parse("v2"), None)).Status);
        Assert.Equal(ManifestDeleteStatus.NotFound, (await Manifests.DeleteTagAsync(Other, Tag.Parse("v1"), None)).Status);
        await Manifests.DeleteTagAsync(App, Tag.Parse("v1"), None);
        Assert.Equal(ManifestDeleteStatus.NotFound, (await Manifests.DeleteTagAsync(App, Tag.Parse("v1"), None)).Status);
    }

    // ---------------------------------------------------------------- IManifestIndex: tags list

    [Fact]
    public async Task ListTags_UnknownRepository_ReturnsNull()
    {
        Assert.Null(await Manifests.ListTagsAsync(App, null, 10, None));
    }

    [Fact]
    public async Task ListTags_RepositoryWithoutTags_ReturnsEmptyPage()
    {
        await BlobIndex.LinkAsync(App, Blob(1), 10, None);

        var page = await Manifests.ListTagsAsync(App, null, 10, None);

        Assert.NotNull(page);
        Assert.Empty(page.Names);
        Assert.False(page.HasMore);
    }

    [Fact]
    public async Task ListTags_ReturnsTagsInOrdinalOrderAndPages()
    {
        string[] tags = ["v2", "latest", "b", "a", "_tmp", "Latest", "1.0.1", "1.0"];
        foreach (var tag in tags)
        {
            await PutAsync(App, Manifest(1), [], tag);
        }

        var all = await Manifests.ListTagsAsync(App, null, 100, None);
        var first = await Manifests.ListTagsAsync(App, null, 3, None);
        var second = await Manifests.ListTagsAsync(App, first!.Names[^1], 3, None);
        var last = await Manifests.ListTagsAsync(App, "b", 3, None);

        var ordered = tags.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(ordered, all!.Names);
        Assert.False(all.HasMore);
        Assert.Equal(ordered[..3], first.Names);
        Assert.True(first.HasMore);
        Assert.Equal(ordered[3..6], second!.Names);
        Assert.True(second.HasMore);
        Assert.Equal(["latest", "v2"], last!.Names);
        Assert.False(last.HasMore);
    }

    [Fact]
    public async Task ListTags_OnlyThatRepository()
    {
        await PutAsync(App, Manifest(1), [], "app-tag");
        await PutAsync(Other, Manifest(1), [], "other-tag");

        Assert.Equal(["app-tag"], (await Manifests.ListTagsAsync(App, null, 10, None))!.Names);
    }

    // ---------------------------------------------------------------- IManifestIndex: referrers

    [Fact]
    public async Task ListReferrers_ReturnsManifestsWithThatSubject()
    {
        var subject = Manifest(1);
        await PutAsync(App, subject, [], "v1");
        var sbom = Manifest(2, artifactType: "application/sbom", subject: subject.Digest, annotations: """{"k":"v"}""");
        var signature = Manifest(3, MediaTypes.OciIndex, artifactType: "application/sig", subject: subject.Digest);
        var unrelated = Manifest(4, artifactType: "application/sbom", subject: Blob(77));
        await PutAsync(App, sbom, [], null);
        await PutAsync(App, signature, [], null);
        await PutAsync(App, unrelated, [], null);

        var referrers = await Manifests.ListReferrersAsync(App, subject.Digest, null, None);

        Assert.Equal(2, referrers.Count);
        var sbomEntry = Assert.Single(referrers, r => r.Digest == sbom.Digest);
        Assert.Equal(new ReferrerRecord(sbom.Digest, MediaTypes.OciManifest, sbom.Body.Length, "application/sbom", """{"k":"v"}"""), sbomEntry);
        var signatureEntry = Assert.Single(referrers, r => r.Digest == signature.Digest);
        Assert.Equal(new ReferrerRecord(signature.Digest, MediaTypes.OciIndex, signature.Body.Length, "application/sig", null), signatureEntry);
    }

    [Fact]
    public async Task ListReferrers_WithArtifactType_ReturnsOnlyThatType()
    {
        var subject = Blob(50);
        await PutAsync(App, Manifest(2, artifactType: "application/sbom", subject: subject), [], null);
        await PutAsync(App, Manifest(3, artifactType: "application/sig", subject: subject), [], null);
        await PutAsync(App, Manifest(4, subject: subject), [], null);

        var sboms = await Manifests.ListReferrersAsync(App, subject, "application/sbom", None);
        var none = await Manifests.ListReferrersAsync(App, subject, "application/none", None);

        Assert.Equal([Manifest(2).Digest], sboms.Select(r => r.Digest));
        Assert.Empty(none);
        Assert.Equal(3, (await Manifests.ListReferrersAsync(App, subject, null, None)).Count);
    }

    [Fact]
    public async Task ListReferrers_SubjectNeedNotExist()
    {
        var absent = Blob(60);

        await PutAsync(App, Manifest(2, artifactType: "application/sbom", subject: absent), [], null);

        Assert.Single(await Manifests.ListReferrersAsync(App, absent, null, None));
    }

    [Fact]
    public async Task ListReferrers_UnknownSubjectOrRepository_ReturnsEmpty()
    {
        await PutAsync(App, Manifest(2, subject: Blob(60)), [], null);

        Assert.Empty(await Manifests.ListReferrersAsync(App, Blob(61), null, None));
        Assert.Empty(await Manifests.ListReferrersAsync(Other, Blob(60), null, None));
    }

    [Fact]
    public async Task ListReferrers_DeletedReferrer_IsNotListed()
    {
        var referrer = Manifest(2, subject: Blob(60));
        await PutAsync(App, referrer, [], null);

        await Manifests.DeleteManifestAsync(App, referrer.Digest, None);

        Assert.Empty(await Manifests.ListReferrersAsync(App, Blob(60), null, None));
    }

    // ---------------------------------------------------------------- IManifestIndex: pulls

    [Fact]
    public async Task RecordPulls_ByTag_SetsManifestAndThatTag()
    {
        var record = Manifest(1);
        await PutAsync(App, record, [], "a");
        await PutAsync(App, record, [], "b");
        var at = Clock.GetUtcNow().AddHours(1);

        await Manifests.RecordPullsAsync([new PullRecord(App, record.Digest, Tag.Parse("a"), at)], None);

        Assert.Equal(at, await GetManifestLastPulledAsync(App, record.Digest));
        Assert.Equal(at, await GetTagLastPulledAsync(App, Tag.Parse("a")));
        Assert.Null(await GetTagLastPulledAsync(App, Tag.Parse("b")));
    }

    [Fact]
    public async Task RecordPulls_ByDigest_SetsEveryTagPointingAtIt()
    {
        var record = Manifest(1);
        var other = Manifest(2);
        await PutAsync(App, record, [], "a");
        await PutAsync(App, record, [], "b");
        await PutAsync(App, other, [], "c");
        var at = Clock.GetUtcNow().AddHours(2);

        await Manifests.RecordPullsAsync([new PullRecord(App, record.Digest, null, at)], None);

        Assert.Equal(at, await GetTagLastPulledAsync(App, Tag.Parse("a")));
        Assert.Equal(at, await GetTagLastPulledAsync(App, Tag.Parse("b")));
        Assert.Null(await GetTagLastPulledAsync(App, Tag.Parse("c")));
        Assert.Null(await GetManifestLastPulledAsync(App, other.Digest));
    }

    [Fact]
    public async Task RecordPulls_LaterPull_Wins()
    {
        var record = Manifest(1);
        await PutAsync(App, record, [], "a");
        var first = Clock.GetUtcNow().AddHours(1);
        var second = Clock.GetUtcNow().AddHours(5);

        await Manifests.RecordPullsAsync([new PullRecord(App, record.Digest, Tag.Parse("a"), first)], None);
        await Manifests.RecordPullsAsync([new PullRecord(App, record.Digest, Tag.Parse("a"), second)], None);

        Assert.Equal(second, await GetManifestLastPulledAsync(App, record.Digest));
        Assert.Equal(second, await GetTagLastPulledAsync(App, Tag.Parse("a")));
    }

    [Fact]
    public async Task RecordPulls_UnknownManifestsAndRepositories_AreIgnored()
    {
        var record = Manifest(1);
        await PutAsync(App, record, [], "a");
        var at = Clock.GetUtcNow().AddHours(1);

        await Manifests.RecordPullsAsync(
        [
            new PullRecord(Other, record.Digest, Tag.Parse("a"), at),
            new PullRecord(App, Manifest(9).Digest, null, at),
            new PullRecord(App, record.Digest, Tag.Parse("nope"), at),
        ], None);

        Assert.Equal(at, await GetManifestLastPulledAsync(App, record.Digest));
        Assert.Null(await GetTagLastPulledAsync(App, Tag.Parse("a")));
        Assert.False(await Repositories.ExistsAsync(Other, None));
    }

    [Fact]
    public async Task RecordPulls_EmptyBatch_DoesNothing()
    {
        await Manifests.RecordPullsAsync([], None);

        Assert.Empty((await Repositories.ListAsync(null, 10, None)).Names);
    }

    // ---------------------------------------------------------------- IUploadSessionStore

    [Fact]
    public async Task GetSession_Unknown_ReturnsNull()
    {
        Assert.Null(await Sessions.GetAsync("0123456789abcdef0123456789abcdef", None));
    }

    [Fact]
    public async Task CreateSession_ThenGet_ReturnsIt()
    {
        var session = Session("aa", Clock.GetUtcNow());

        await Sessions.CreateAsync(session, None);

        Assert.Equal(session, await Sessions.GetAsync("aa", None));
    }

    [Fact]
    public async Task TouchSession_UpdatesOnlyUpdatedAt()
    {
        var started = Clock.GetUtcNow();
        await Sessions.CreateAsync(Session("aa", started), None);
        var later = started.AddMinutes(30);

        await Sessions.TouchAsync("aa", later, None);

        Assert.Equal(Session("aa", started) with { UpdatedAt = later }, await Sessions.GetAsync("aa", None));
    }

    [Fact]
    public async Task TouchSession_Unknown_DoesNotCreateIt()
    {
        await Sessions.TouchAsync("aa", Clock.GetUtcNow(), None);

        Assert.Null(await Sessions.GetAsync("aa", None));
    }

    [Fact]
    public async Task DeleteSession_RemovesItOnce()
    {
        await Sessions.CreateAsync(Session("aa", Clock.GetUtcNow()), None);

        Assert.Equal(DeleteResult.Deleted, await Sessions.DeleteAsync("aa", None));

        Assert.Null(await Sessions.GetAsync("aa", None));
        Assert.Equal(DeleteResult.NotFound, await Sessions.DeleteAsync("aa", None));
    }

    [Fact]
    public async Task ListInactive_ReturnsSessionsIdleSinceBefore()
    {
        var t0 = Clock.GetUtcNow();
        await Sessions.CreateAsync(Session("old", t0), None);
        await Sessions.CreateAsync(Session("older", t0.AddHours(-5)), None);
        await Sessions.CreateAsync(Session("new", t0.AddHours(2)), None);

        var inactive = await Sessions.ListInactiveAsync(t0.AddHours(1), 10, None);

        Assert.Equal(["old", "older"], inactive.Select(s => s.Id).Order(StringComparer.Ordinal));
        Assert.All(inactive, s => Assert.Equal(App, s.Repository));
    }

    [Fact]
    public async Task ListInactive_TouchedSession_IsNoLongerInactive()
    {
        var t0 = Clock.GetUtcNow();
        await Sessions.CreateAsync(Session("aa", t0), None);

        await Sessions.TouchAsync("aa", t0.AddHours(3), None);

        Assert.Empty(await Sessions.ListInactiveAsync(t0.AddHours(1), 10, None));
        Assert.Single(await Sessions.ListInactiveAsync(t0.AddHours(4), 10, None));
    }

    [Fact]
    public async Task ListInactive_HonoursTheLimit()
    {
        var t0 = Clock.GetUtcNow();
        for (var i = 0; i < 5; i++)
        {
            await Sessions.CreateAsync(Session("s" + i, t0.AddMinutes(-i)), None);
        }

        var page = await Sessions.ListInactiveAsync(t0.AddHours(1), 3, None);

        Assert.Equal(3, page.Count);
        Assert.Equal(3, page.Select(s => s.Id).Distinct().Count());
    }

    [Fact]
    public async Task ListInactive_DeletedSession_IsNotListed()
    {
        var t0 = Clock.GetUtcNow();
        await Sessions.CreateAsync(Session("aa", t0), None);
        await Sessions.DeleteAsync("aa", None);

        Assert.Empty(await Sessions.ListInactiveAsync(t0.AddHours(1), 10, None));
    }

    [Fact]
    public async Task CreateSession_New_HasOffsetZeroAndNoHashState()
    {
        await Sessions.CreateAsync(Session("aa", Clock.GetUtcNow()), None);

        var session = await Sessions.GetAsync("aa", None);

        Assert.Equal(0L, session!.Offset);
        Assert.Null(session.HashState);
        Assert.Null(session.StoreState);
    }

    [Fact]
    public async Task AdvanceSession_WithStoreState_SavesItWithOffsetAndHashStateAndListsIt()
    {
        var t0 = Clock.GetUtcNow();
        await Sessions.CreateAsync(Session("aa", t0), None);
        // What an object store may save: a multipart upload id and segments, a few KiB, any characters.
        var state = "{\"upload\":\"2~Zx-é/+=\",\"segments\":[" + string.Join(',', Enumerable.Range(0, 100).Select(i => $"[\"seg-{i:D4}\",5242880]")) + "]}";

        Assert.Equal(UploadAdvanceResult.Advanced, await Sessions.AdvanceAsync("aa", 0, 10, [7], state, t0, None));

        var session = await Sessions.GetAsync("aa", None);
        Assert.Equal((10L, state), (session!.Offset!.Value, session.StoreState));
        Assert.Equal([7], session.HashState!);
        Assert.Equal(state, Assert.Single(await Sessions.ListInactiveAsync(t0.AddHours(1), 10, None)).StoreState);
    }

    [Fact]
    public async Task AdvanceSession_StaleOffsetWithStoreState_KeepsTheWinnersState()
    {
        await Sessions.CreateAsync(Session("aa", Clock.GetUtcNow()), None);
        await Sessions.AdvanceAsync("aa", 0, 10, [1], "winner", Clock.GetUtcNow(), None);

        Assert.Equal(UploadAdvanceResult.OffsetMismatch, await Sessions.AdvanceAsync("aa", 0, 12, [2], "loser", Clock.GetUtcNow(), None));

        Assert.Equal("winner", (await Sessions.GetAsync("aa", None))!.StoreState);
    }

    [Fact]
    public async Task AdvanceSession_NullStoreState_ClearsTheSavedOne()
    {
        await Sessions.CreateAsync(Session("aa", Clock.GetUtcNow()), None);
        await Sessions.AdvanceAsync("aa", 0, 10, null, "state", Clock.GetUtcNow(), None);

        Assert.Equal(UploadAdvanceResult.Advanced, await Sessions.AdvanceAsync("aa", 10, 20, null, null, Clock.GetUtcNow(), None));

        Assert.Null((await Sessions.GetAsync("aa", None))!.StoreState);
    }

    [Fact]
    public async Task AdvanceSession_AtTheStoredOffset_StoresOffsetHashStateAndActivity()
    {
        var t0 = Clock.GetUtcNow();
        await Sessions.CreateAsync(Session("aa", t0), None);
        byte[] state = [.. Enumerable.Range(0, 112).Select(i => (byte)i)];

        Assert.Equal(UploadAdvanceResult.Advanced, await Sessions.AdvanceAsync("aa", 0, 1000, state, null, t0.AddMinutes(5), None));

        var session = await Sessions.GetAsync("aa", None);
        Assert.Equal(1000L, session!.Offset);
        Assert.Equal(state, session.HashState);
        Assert.Equal(t0.AddMinutes(5), session.UpdatedAt);
        Assert.Equal(t0, session.StartedAt);
        Assert.Empty(await Sessions.ListInactiveAsync(t0.AddMinutes(1), 10, None));
    }

    [Fact]
    public async Task AdvanceSession_StaleExpectedOffset_ChangesNothing()
    {
        var t0 = Clock.GetUtcNow();
        await Sessions.CreateAsync(Session("aa", t0), None);
        await Sessions.AdvanceAsync("aa", 0, 10, [1], null, t0, None);

        Assert.Equal(UploadAdvanceResult.OffsetMismatch, await Sessions.AdvanceAsync("aa", 0, 20, [2], null, t0.AddHours(1), None));
        Assert.Equal(UploadAdvanceResult.OffsetMismatch, await Sessions.AdvanceAsync("aa", 11, 20, [2], null, t0.AddHours(1), None));
        Assert.Equal(UploadAdvanceResult.OffsetMismatch, await Sessions.AdvanceAsync("aa", null, 20, [2], null, t0.AddHours(1), None));

        var session = await Sessions.GetAsync("aa", None);
        Assert.Equal(10L, session!.Offset);
        Assert.Equal([1], session.HashState);
        Assert.Equal(t0, session.UpdatedAt);
    }

    [Fact]
    public async Task AdvanceSession_ManyConcurrentAtTheSameOffset_ExactlyOneAdvances()
    {
        await Sessions.CreateAsync(Session("aa", Clock.GetUtcNow()), None);

        var results = await Task.WhenAll(Enumerable.Range(1, 16).Select(n =>
            Task.Run(() => Sessions.AdvanceAsync("aa", 0, n, [(byte)n], null, Clock.GetUtcNow(), None))));

        Assert.Single(results, r => r == UploadAdvanceResult.Advanced);
        Assert.Equal(15, results.Count(r => r == UploadAdvanceResult.OffsetMismatch));
        var winner = Array.IndexOf(results, UploadAdvanceResult.Advanced) + 1;
        var session = await Sessions.GetAsync("aa", None);
        Assert.Equal(winner, session!.Offset);
        Assert.Equal([(byte)winner], session.HashState!);
    }

    [Fact]
    public async Task AdvanceSession_NullHashState_ClearsTheSavedOne()
    {
        await Sessions.CreateAsync(Session("aa", Clock.GetUtcNow()), None);
        await Sessions.AdvanceAsync("aa", 0, 10, [1, 2, 3], null, Clock.GetUtcNow(), None);

        Assert.Equal(UploadAdvanceResult.Advanced, await Sessions.AdvanceAsync("aa", 10, 30, null, null, Clock.GetUtcNow(), None));

        Assert.Null((await Sessions.GetAsync("aa", None))!.HashState);
    }

    [Fact]
    public async Task AdvanceSession_UnknownOrDeleted_IsSessionNotFoundAndCreatesNothing()
    {
        Assert.Equal(UploadAdvanceResult.SessionNotFound, await Sessions.AdvanceAsync("aa", 0, 10, null, null, Clock.GetUtcNow(), None));
        await Sessions.CreateAsync(Session("bb", Clock.GetUtcNow()), None);
        await Sessions.DeleteAsync("bb", None);

        Assert.Equal(UploadAdvanceResult.SessionNotFound, await Sessions.AdvanceAsync("bb", 0, 10, null, null, Clock.GetUtcNow(), None));

        Assert.Null(await Sessions.GetAsync("aa", None));
        Assert.Null(await Sessions.GetAsync("bb", None));
    }

    [Fact]
    public async Task CompleteSession_LinksTheBlobAndEndsTheSession()
    {
        await Sessions.CreateAsync(Session("aa", Clock.GetUtcNow()), None);

        Assert.Equal(UploadCompleteResult.Completed, await Sessions.CompleteAsync("aa", App, Blob(1), 10, None));

        Assert.Equal(10L, await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
        Assert.Null(await Sessions.GetAsync("aa", None));
    }

    [Fact]
    public async Task CompleteSession_Unknown_LinksNothing()
    {
        Assert.Equal(UploadCompleteResult.SessionNotFound, await Sessions.CompleteAsync("aa", App, Blob(1), 10, None));

        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
        Assert.False(await Repositories.ExistsAsync(App, None));
    }

    [Fact]
    public async Task CompleteSession_DeletedMeanwhile_LinksNothing()
    {
        await Sessions.CreateAsync(Session("aa", Clock.GetUtcNow()), None);
        await Sessions.DeleteAsync("aa", None);

        Assert.Equal(UploadCompleteResult.SessionNotFound, await Sessions.CompleteAsync("aa", App, Blob(1), 10, None));

        Assert.Null(await BlobIndex.GetLinkedSizeAsync(App, Blob(1), None));
    }

    [Fact]
    public async Task CompleteSession_RepositoryWhoseProjectIsMissing_EndsTheSessionAndLinksNothing()
    {
        var orphan = RepositoryName.Parse(MissingProject + "/app");
        var at = Clock.GetUtcNow();
        await Sessions.CreateAsync(new UploadSession("aa", orphan, at, at), None);

        Assert.Equal(UploadCompleteResult.ProjectNotFound, await Sessions.CompleteAsync("aa", orphan, Blob(1), 10, None));

        Assert.Null(await Sessions.GetAsync("aa", None));
        Assert.False(await Repositories.ExistsAsync(orphan, None));
    }

    // ---------------------------------------------------------------- helpers

    private static Digest Blob(int n) => Digest.Compute(DigestAlgorithm.Sha256, Encoding.UTF8.GetBytes("blob-" + n));

    private static Reference Ref(string tag) => Reference.Of(Tag.Parse(tag));

    private static UploadSession Session(string id, DateTimeOffset at) => new(id, App, at, at);

    /// <summary>A manifest record with a unique body per <paramref name="n"/> (the same n gives the same digest).</summary>
    private ManifestRecord Manifest(int n, string mediaType = MediaTypes.OciManifest, string? artifactType = null, Digest? subject = null, string? annotations = null)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{mediaType}}","n":{{n}}}""");
        return new ManifestRecord(Digest.Compute(DigestAlgorithm.Sha256, body), mediaType, body, artifactType, subject, annotations, Clock.GetUtcNow());
    }

    private Task<ManifestPutResult> PutAsync(RepositoryName repository, ManifestRecord record, IReadOnlyList<ManifestReference> references, string? tag) =>
        Manifests.PutAsync(repository, record, references, tag is null ? null : Tag.Parse(tag), None);

    private static void AssertSameManifest(ManifestRecord expected, ManifestRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Digest, actual.Digest);
        Assert.Equal(expected.MediaType, actual.MediaType);
        Assert.Equal(expected.Body, actual.Body);
        Assert.Equal(expected.ArtifactType, actual.ArtifactType);
        Assert.Equal(expected.Subject, actual.Subject);
        Assert.Equal(expected.AnnotationsJson, actual.AnnotationsJson);
        Assert.Equal(expected.PushedAt, actual.PushedAt);
    }
}
