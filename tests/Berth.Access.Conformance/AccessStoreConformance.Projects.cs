using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Access.Conformance;

public abstract partial class AccessStoreConformance
{
    [Fact]
    public async Task ProjectCreate_New_IsStoredWithTheStoreClock()
    {
        var result = await Projects.CreateAsync(P("shop"), "the shop", ProjectVisibility.Public, Ct);

        Assert.Equal(ProjectCreateStatus.Created, result.Status);
        var expected = new Project(P("shop"), "the shop", ProjectVisibility.Public, Start);
        Assert.Equal(expected, result.Project);
        Assert.Equal(expected, await Projects.GetAsync(P("shop"), Ct));
    }

    [Fact]
    public async Task ProjectCreate_Duplicate_ReportsDuplicateAndKeepsTheFirst()
    {
        await Projects.CreateAsync(P("shop"), "first", ProjectVisibility.Private, Ct);
        Clock.Advance(TimeSpan.FromHours(1));

        var again = await Projects.CreateAsync(P("shop"), "second", ProjectVisibility.Public, Ct);

        Assert.Equal(ProjectCreateStatus.Duplicate, again.Status);
        Assert.Null(again.Project);
        Assert.Equal(new Project(P("shop"), "first", ProjectVisibility.Private, Start), await Projects.GetAsync(P("shop"), Ct));
    }

    [Fact]
    public async Task ProjectCreate_ConcurrentSameName_ExactlyOneIsCreated()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Projects.CreateAsync(P("shop"), "", ProjectVisibility.Private, Ct)));

        Assert.Single(results, r => r.Status == ProjectCreateStatus.Created);
        Assert.Equal(19, results.Count(r => r.Status == ProjectCreateStatus.Duplicate));
    }

    [Fact]
    public async Task ProjectGet_Missing_ReturnsNull()
    {
        await CreateProjectAsync("shop");

        Assert.Null(await Projects.GetAsync(P("shops"), Ct));
    }

    [Fact]
    public async Task ProjectList_SeveralPages_AreInNameOrderAndComplete()
    {
        string[] names = ["tools", "shop", "a", "shop-b", "shop.a", "shop_c", "zeta", "b2", "b10"];
        foreach (var name in names)
        {
            await CreateProjectAsync(name);
        }

        var all = await ReadAllPagesAsync<Project>(last => Projects.ListAsync(last?.Name, 4, Ct), 4);

        Assert.Equal(names.Order(StringComparer.Ordinal), all.Select(p => p.Name.Value));
    }

    [Fact]
    public async Task ProjectList_ExactlyOnePageFull_HasNoMore()
    {
        await CreateProjectAsync("a");
        await CreateProjectAsync("b");

        var page = await Projects.ListAsync(null, 2, Ct);

        Assert.Equal(["a", "b"], page.Items.Select(p => p.Name.Value));
        Assert.False(page.HasMore);
        Assert.Empty((await Projects.ListAsync(P("b"), 2, Ct)).Items);
    }

    [Fact]
    public async Task ProjectList_AfterAMissingName_StartsAfterIt()
    {
        await CreateProjectAsync("a");
        await CreateProjectAsync("c");

        var page = await Projects.ListAsync(P("b"), 10, Ct);

        Assert.Equal(["c"], page.Items.Select(p => p.Name.Value));
    }

    [Fact]
    public async Task ProjectList_LimitBelowOne_Throws()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Projects.ListAsync(null, 0, Ct));
    }

    [Fact]
    public async Task ProjectUpdate_NullMembers_KeepStoredValues()
    {
        await Projects.CreateAsync(P("shop"), "old", ProjectVisibility.Private, Ct);

        Assert.Equal(UpdateResult.Updated, await Projects.UpdateAsync(P("shop"), new ProjectChanges(Visibility: ProjectVisibility.Public), Ct));
        Assert.Equal(new Project(P("shop"), "old", ProjectVisibility.Public, Start), await Projects.GetAsync(P("shop"), Ct));

        Assert.Equal(UpdateResult.Updated, await Projects.UpdateAsync(P("shop"), new ProjectChanges(Description: ""), Ct));
        Assert.Equal(new Project(P("shop"), "", ProjectVisibility.Public, Start), await Projects.GetAsync(P("shop"), Ct));
    }

    [Fact]
    public async Task ProjectUpdate_Missing_ReturnsNotFound()
    {
        Assert.Equal(UpdateResult.NotFound, await Projects.UpdateAsync(P("shop"), new ProjectChanges("x"), Ct));
    }

    [Fact]
    public async Task ProjectDelete_Missing_ReturnsNotFound()
    {
        Assert.Equal(ProjectDeleteStatus.NotFound, (await Projects.DeleteAsync(P("shop"), force: true, Ct)).Status);
    }

    [Fact]
    public async Task ProjectDelete_WithoutRepositories_RemovesMembershipsRobotsTheirTokensAndRules()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("tools");
        var alice = await CreateUserAsync("alice");
        await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Owner, Ct);
        await Memberships.AddAsync(P("tools"), alice.Id, ProjectRole.Reader, Ct);
        var robot = await CreateRobotAsync("shop", "ci");
        var robotToken = await CreateTokenAsync(TokenOwner.Robot(robot.Id, robot.FullName));
        var userToken = await CreateTokenAsync(TokenOwner.User(alice.Id, "alice"), projects: ["shop"]);
        await IpRules.AddAsync(P("shop"), "10.0.0.0/8", null, Ct);
        await IpRules.AddAsync(null, "10.0.0.0/8", null, Ct);

        var result = await Projects.DeleteAsync(P("shop"), force: false, Ct);

        Assert.Equal(ProjectDeleteStatus.Deleted, result.Status);
        Assert.Equal((1, 1, 1), (result.Deleted!.Members, result.Deleted.Robots, result.Deleted.IpRules));
        Assert.Null(await Projects.GetAsync(P("shop"), Ct));
        Assert.Empty(await Memberships.ListByProjectAsync(P("shop"), Ct));
        Assert.Equal(["tools"], (await Memberships.ListByUserAsync(alice.Id, Ct)).Select(m => m.Project.Value));
        Assert.Null(await Robots.GetAsync(robot.Id, Ct));
        Assert.Null(await Tokens.GetAsync(robotToken.Id, Ct));
        var restricted = await Tokens.GetAsync(userToken.Id, Ct); // restricted to "shop" alone: revoked, not widened
        Assert.NotNull(restricted);
        Assert.Equal(Clock.GetUtcNow(), restricted.RevokedAt);
        Assert.Equal(["shop"], restricted.Projects);
        Assert.Empty(await IpRules.ListAsync(P("shop"), Ct));
        Assert.Single(await IpRules.ListAsync(null, Ct));
        Assert.NotNull(await Users.GetAsync(alice.Id, Ct));
    }

    [Theory]
    [InlineData("shop")]
    [InlineData("shop/app")]
    [InlineData("shop/team/app")]
    public async Task ProjectDelete_WithRepositories_IsRefusedUnlessForced(string repository)
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");
        await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Owner, Ct);
        await CreateRepositoryAsync(repository);

        Assert.Equal(new ProjectDeleteResult(ProjectDeleteStatus.HasRepositories), await Projects.DeleteAsync(P("shop"), force: false, Ct));
        Assert.NotNull(await Projects.GetAsync(P("shop"), Ct));
        Assert.Single(await Memberships.ListByProjectAsync(P("shop"), Ct));
        Assert.True(await Stores.Registry.Repositories.ExistsAsync(RepositoryName.Parse(repository), Ct));

        Assert.Equal(ProjectDeleteStatus.Deleted, (await Projects.DeleteAsync(P("shop"), force: true, Ct)).Status);
        Assert.Null(await Projects.GetAsync(P("shop"), Ct));
        Assert.Empty(await Memberships.ListByUserAsync(alice.Id, Ct));

        // A forced delete takes the repositories with it.
        Assert.False(await Stores.Registry.Repositories.ExistsAsync(RepositoryName.Parse(repository), Ct));
        Assert.Null(await Stores.Blobs.GetLinkedSizeAsync(RepositoryName.Parse(repository), Digest.Parse("sha256:" + new string('a', 64)), Ct));
    }

    [Theory]
    [InlineData("shopping/app")]
    [InlineData("shop-x/app")]
    [InlineData("shop.x")]
    [InlineData("shop_x/app")]
    [InlineData("shop0/app")]
    [InlineData("shop1")]
    [InlineData("sho/app")]
    public async Task ProjectDelete_RepositoriesOfOtherProjectsWithTheSamePrefix_DoNotBlock(string repository)
    {
        await CreateProjectAsync("shop");
        await CreateRepositoryAsync(repository);

        Assert.Equal(ProjectDeleteStatus.Deleted, (await Projects.DeleteAsync(P("shop"), force: false, Ct)).Status);
        Assert.True(await Stores.Registry.Repositories.ExistsAsync(RepositoryName.Parse(repository), Ct));
    }

    [Fact]
    public async Task ProjectDelete_ThenCreateAgain_StartsWithoutMembersOrRobots()
    {
        await CreateProjectAsync("shop");
        var alice = await CreateUserAsync("alice");
        await Memberships.AddAsync(P("shop"), alice.Id, ProjectRole.Owner, Ct);
        await CreateRobotAsync("shop", "ci", RegistryActions.Pull | RegistryActions.Push);

        await Projects.DeleteAsync(P("shop"), force: false, Ct);
        await CreateProjectAsync("shop");

        Assert.Empty(await Memberships.ListByProjectAsync(P("shop"), Ct));
        Assert.Empty(await Robots.ListAsync(P("shop"), Ct));
        Assert.Equal(RobotCreateStatus.Created, (await Robots.CreateAsync(P("shop"), "ci", "", RegistryActions.Pull, Ct)).Status);
    }
    [Fact]
    public async Task ProjectDelete_Forced_RemovesEveryRepositoryManifestTagLinkAndUploadOfTheProjectOnly()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("shopping");
        var blob = Digest.Parse("sha256:" + new string('b', 64));
        string[] inShop = ["shop", "shop/app", "shop/team/app"];
        foreach (var repository in inShop.Append("shopping/app"))
        {
            await FillRepositoryAsync(repository, blob);
        }

        var at = Clock.GetUtcNow();
        await Stores.Registry.Sessions.CreateAsync(new UploadSession("up1", RepositoryName.Parse("shop/app"), at, at), Ct);
        await Stores.Registry.Sessions.CreateAsync(new UploadSession("up2", RepositoryName.Parse("shop/new"), at, at), Ct); // no repository yet
        await Stores.Registry.Sessions.CreateAsync(new UploadSession("up3", RepositoryName.Parse("shopping/app"), at, at), Ct);

        var result = await Projects.DeleteAsync(P("shop"), force: true, Ct);

        Assert.Equal(ProjectDeleteStatus.Deleted, result.Status);
        var deleted = result.Deleted!;
        Assert.Equal(inShop, deleted.Repositories.Select(r => r.Value));
        Assert.Equal((6, 3, 3), (deleted.Manifests, deleted.Tags, deleted.BlobLinks)); // an image and its referrer per repository
        Assert.Equal(["up1", "up2"], deleted.Uploads);
        foreach (var name in inShop)
        {
            var repository = RepositoryName.Parse(name);
            Assert.False(await Stores.Registry.Repositories.ExistsAsync(repository, Ct));
            Assert.Null(await Stores.Registry.Manifests.GetAsync(repository, Reference.Of(Tag.Parse("v1")), Ct));
            Assert.Null(await Stores.Registry.Manifests.GetAsync(repository, Reference.Of(ImageDigest(name)), Ct));
            Assert.Null(await Stores.Registry.Manifests.ListTagsAsync(repository, null, 10, Ct));
            Assert.Empty(await Stores.Registry.Manifests.ListReferrersAsync(repository, ImageDigest(name), null, Ct));
            Assert.Null(await Stores.Blobs.GetLinkedSizeAsync(repository, blob, Ct));
        }

        Assert.Null(await Stores.Registry.Sessions.GetAsync("up1", Ct));
        Assert.Null(await Stores.Registry.Sessions.GetAsync("up2", Ct));
        Assert.NotNull(await Stores.Registry.Sessions.GetAsync("up3", Ct));

        // The other project, whose name starts the same, keeps everything.
        var other = RepositoryName.Parse("shopping/app");
        Assert.Equal(["shopping/app"], (await Stores.Registry.Repositories.ListAsync(null, 10, Ct)).Names);
        Assert.NotNull(await Stores.Registry.Manifests.GetAsync(other, Reference.Of(Tag.Parse("v1")), Ct));
        Assert.Single(await Stores.Registry.Manifests.ListReferrersAsync(other, ImageDigest("shopping/app"), null, Ct));
        Assert.Equal(1, await Stores.Blobs.GetLinkedSizeAsync(other, blob, Ct));
    }

    [Fact]
    public async Task ProjectDelete_WithOnlyAnUploadInProgress_DeletesWithoutForceAndEndsTheUpload()
    {
        await CreateProjectAsync("shop");
        var at = Clock.GetUtcNow();
        await Stores.Registry.Sessions.CreateAsync(new UploadSession("up1", RepositoryName.Parse("shop/app"), at, at), Ct);

        var result = await Projects.DeleteAsync(P("shop"), force: false, Ct);

        Assert.Equal(ProjectDeleteStatus.Deleted, result.Status);
        Assert.Equal(["up1"], result.Deleted!.Uploads);
        Assert.Null(await Stores.Registry.Sessions.GetAsync("up1", Ct));
    }

    [Fact]
    public async Task ProjectDelete_ThenCreateAgain_StartsWithoutContent()
    {
        await CreateProjectAsync("shop");
        var blob = Digest.Parse("sha256:" + new string('b', 64));
        await FillRepositoryAsync("shop/app", blob);

        await Projects.DeleteAsync(P("shop"), force: true, Ct);
        await CreateProjectAsync("shop");

        var app = RepositoryName.Parse("shop/app");
        Assert.Empty((await Stores.Registry.Repositories.ListAsync(null, 10, Ct)).Names);
        Assert.Null(await Stores.Registry.Manifests.GetAsync(app, Reference.Of(ImageDigest("shop/app")), Ct));
        Assert.Null(await Stores.Registry.Manifests.ListTagsAsync(app, null, 10, Ct));
        Assert.Null(await Stores.Blobs.GetLinkedSizeAsync(app, blob, Ct));
    }

    [Fact]
    public async Task ProjectDelete_WritesThatArriveAfterIt_CannotBringTheRepositoryBack()
    {
        await CreateProjectAsync("shop");
        var app = RepositoryName.Parse("shop/app");
        var blob = Digest.Parse("sha256:" + new string('b', 64));
        var at = Clock.GetUtcNow();
        await Stores.Registry.Sessions.CreateAsync(new UploadSession("before", app, at, at), Ct);

        await Projects.DeleteAsync(P("shop"), force: false, Ct);

        // Requests authorized before the delete, landing after it: a monolithic upload, a manifest, an upload that
        // was in progress, and one started after the delete.
        Assert.Equal(BlobLinkResult.ProjectNotFound, await Stores.Blobs.LinkAsync(app, blob, 1, Ct));
        var manifest = new ManifestRecord(ImageDigest("shop/app"), MediaTypes.OciIndex, "{}"u8.ToArray(), null, null, null, at);
        Assert.Equal(ManifestPutStatus.ProjectNotFound, (await Stores.Registry.Manifests.PutAsync(app, manifest, [], Tag.Parse("v1"), Ct)).Status);
        Assert.Equal(UploadCompleteResult.SessionNotFound, await Stores.Registry.Sessions.CompleteAsync("before", app, blob, 1, Ct));
        await Stores.Registry.Sessions.CreateAsync(new UploadSession("after", app, at, at), Ct);
        Assert.Equal(UploadCompleteResult.ProjectNotFound, await Stores.Registry.Sessions.CompleteAsync("after", app, blob, 1, Ct));

        await CreateProjectAsync("shop");
        Assert.False(await Stores.Registry.Repositories.ExistsAsync(app, Ct));
        Assert.Null(await Stores.Blobs.GetLinkedSizeAsync(app, blob, Ct));
    }

    [Fact]
    public async Task ProjectDelete_TokensRestrictedToItByName_LoseItOrAreRevoked()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("tools");
        var alice = TokenOwner.User((await CreateUserAsync("alice")).Id, "alice");
        var both = await CreateTokenAsync(alice, "both", ["shop", "tools"]);
        var only = await CreateTokenAsync(alice, "only", ["shop"]);
        var other = await CreateTokenAsync(alice, "other", ["tools"]);
        var every = await CreateTokenAsync(alice, "every");
        var revoked = await CreateTokenAsync(alice, "revoked", ["shop"]);
        await Tokens.RevokeAsync(revoked.Id, Ct);
        Clock.Advance(TimeSpan.FromMinutes(1));

        var result = await Projects.DeleteAsync(P("shop"), force: false, Ct);

        Assert.Equal((1, 1), (result.Deleted!.TokensNarrowed, result.Deleted.TokensRevoked));
        var narrowed = await Tokens.GetAsync(both.Id, Ct);
        Assert.Equal(["tools"], narrowed!.Projects);
        Assert.Null(narrowed.RevokedAt);
        var ended = await Tokens.GetAsync(only.Id, Ct);
        Assert.Equal(Clock.GetUtcNow(), ended!.RevokedAt);
        Assert.Equal(["shop"], ended.Projects); // never an empty list, which would mean every project
        Assert.Equal(["tools"], (await Tokens.GetAsync(other.Id, Ct))!.Projects);
        Assert.Null((await Tokens.GetAsync(every.Id, Ct))!.Projects);
        Assert.Equal(revoked.CreatedAt, (await Tokens.GetAsync(revoked.Id, Ct))!.RevokedAt); // first revocation kept

        // A project created again under the name is not reached by the old tokens.
        await CreateProjectAsync("shop");
        Assert.DoesNotContain("shop", (await Tokens.GetAsync(both.Id, Ct))!.Projects!);
        Assert.NotNull((await Tokens.GetAsync(only.Id, Ct))!.RevokedAt);
    }

    private static Digest ImageDigest(string repository) =>
        Digest.Compute(DigestAlgorithm.Sha256, System.Text.Encoding.UTF8.GetBytes("image of " + repository));

    /// <summary>A blob link, an image manifest tagged v1 referencing it, and a referrer of the image.</summary>
    private async Task FillRepositoryAsync(string name, Digest blob)
    {
        var repository = RepositoryName.Parse(name);
        Assert.Equal(BlobLinkResult.Linked, await Stores.Blobs.LinkAsync(repository, blob, 1, Ct));
        var at = Clock.GetUtcNow();
        var image = new ManifestRecord(ImageDigest(name), MediaTypes.OciManifest, "{}"u8.ToArray(), null, null, null, at);
        Assert.Equal(ManifestPutStatus.Stored, (await Stores.Registry.Manifests.PutAsync(repository, image, [new ManifestReference(blob, 1, false)], Tag.Parse("v1"), Ct)).Status);
        var referrerBody = System.Text.Encoding.UTF8.GetBytes("referrer of " + name);
        var referrer = new ManifestRecord(Digest.Compute(DigestAlgorithm.Sha256, referrerBody), MediaTypes.OciManifest, referrerBody, "application/x-sig", image.Digest, null, at);
        Assert.Equal(ManifestPutStatus.Stored, (await Stores.Registry.Manifests.PutAsync(repository, referrer, [], null, Ct)).Status);
    }
}
