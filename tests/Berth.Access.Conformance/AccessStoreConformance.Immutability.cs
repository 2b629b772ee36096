using Berth.Core.Access;
using Berth.Core.Immutability;
using Berth.Core.Metadata;
using Berth.Oci;

namespace Berth.Access.Conformance;

/// <summary><see cref="IImmutabilityRuleStore"/> and the immutability checks the registry writes make in their own transactions.</summary>
public abstract partial class AccessStoreConformance
{
    private IImmutabilityRuleStore Rules => Stores.ImmutabilityRules;

    private static PatternFilter Filter(string[] matching, params string[] excluding) =>
        PatternFilter.TryParse(matching, excluding, out _)!;

    private async Task<ImmutabilityRule> AddRuleAsync(string project, string[] tags, string[]? excludeTags = null, string[]? repositories = null)
    {
        var result = await Rules.AddAsync(P(project), Filter(repositories ?? []), Filter(tags, excludeTags ?? []), ImmutabilityPolicy.MaxRulesPerProject, Ct);
        Assert.Equal(ImmutabilityRuleAddStatus.Added, result.Status);
        return result.Rule!;
    }

    private static ManifestRecord Image(string text, DateTimeOffset at)
    {
        var body = System.Text.Encoding.UTF8.GetBytes("{\"image\":\"" + text + "\"}");
        return new ManifestRecord(Digest.Compute(DigestAlgorithm.Sha256, body), MediaTypes.OciManifest, body, null, null, null, at);
    }

    private Task<ManifestPutResult> PutImageAsync(string repository, ManifestRecord image, string? tag) =>
        Stores.Registry.Manifests.PutAsync(RepositoryName.Parse(repository), image, [], tag is null ? null : Tag.Parse(tag), Ct);

    [Fact]
    public async Task ImmutabilityRules_AddListRemove_RoundTripsPatternsAndIds()
    {
        await CreateProjectAsync("shop");
        var first = await AddRuleAsync("shop", ["v*", "release-{a,b}"], ["latest"], ["api/**"]);
        var second = await AddRuleAsync("shop", ["1.*"]);

        var list = await Rules.ListAsync(P("shop"), Ct);
        Assert.Equal([first.Id, second.Id], list.Select(r => r.Id));
        Assert.Equal(["v*", "release-{a,b}"], list[0].Tags.Matching.Select(p => p.Text));
        Assert.Equal(["latest"], list[0].Tags.Excluding.Select(p => p.Text));
        Assert.Equal(["api/**"], list[0].Repositories.Matching.Select(p => p.Text));
        Assert.Empty(list[1].Repositories.Matching);
        Assert.Equal(Clock.GetUtcNow(), list[0].CreatedAt);

        Assert.Equal(DeleteResult.Deleted, await Rules.RemoveAsync(P("shop"), first.Id, Ct));
        Assert.Equal(DeleteResult.NotFound, await Rules.RemoveAsync(P("shop"), first.Id, Ct));
        Assert.Equal([second.Id], (await Rules.ListAsync(P("shop"), Ct)).Select(r => r.Id));

        // A new rule never reuses an id.
        var third = await AddRuleAsync("shop", ["x"]);
        Assert.True(third.Id > second.Id);
    }

    [Fact]
    public async Task ImmutabilityRules_OfAnotherProjectOrMissingProject_AreNotTouched()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("other");
        var rule = await AddRuleAsync("shop", ["v*"]);

        Assert.Equal(DeleteResult.NotFound, await Rules.RemoveAsync(P("other"), rule.Id, Ct));
        Assert.Single(await Rules.ListAsync(P("shop"), Ct));
        Assert.Empty(await Rules.ListAsync(P("other"), Ct));
        Assert.Empty(await Rules.ListAsync(P("nowhere"), Ct));
        Assert.Equal(ImmutabilityRuleAddStatus.ProjectNotFound,
            (await Rules.AddAsync(P("nowhere"), PatternFilter.All, Filter(["v*"]), 100, Ct)).Status);
    }

    [Fact]
    public async Task ImmutabilityRules_AtTheCap_AreRefused()
    {
        await CreateProjectAsync("shop");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(ImmutabilityRuleAddStatus.Added, (await Rules.AddAsync(P("shop"), PatternFilter.All, Filter(["v" + i]), 3, Ct)).Status);
        }

        Assert.Equal(ImmutabilityRuleAddStatus.LimitReached, (await Rules.AddAsync(P("shop"), PatternFilter.All, Filter(["x"]), 3, Ct)).Status);
        Assert.Equal(3, (await Rules.ListAsync(P("shop"), Ct)).Count);
    }

    [Fact]
    public async Task ImmutabilityRules_DeletedWithTheProject_AreNotInheritedByASuccessorOfTheSameName()
    {
        await CreateProjectAsync("shop");
        await AddRuleAsync("shop", ["v*"]);
        var image = Image("one", Clock.GetUtcNow());
        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/app", image, "v1")).Status);

        Assert.Equal(ProjectDeleteStatus.Deleted, (await Projects.DeleteAsync(P("shop"), force: true, Ct)).Status);
        await CreateProjectAsync("shop");

        Assert.Empty(await Rules.ListAsync(P("shop"), Ct));
        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/app", image, "v1")).Status);
        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/app", Image("two", Clock.GetUtcNow()), "v1")).Status);
    }

    [Fact]
    public async Task ManifestPut_MovingAnImmutableTag_IsRefusedNamingTheRule_AndStoresNothing()
    {
        await CreateProjectAsync("shop");
        var rule = await AddRuleAsync("shop", ["v*"], ["latest"]);
        var first = Image("one", Clock.GetUtcNow());
        var second = Image("two", Clock.GetUtcNow());
        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/app", first, "v1.0")).Status);

        var refused = await PutImageAsync("shop/app", second, "v1.0");

        Assert.Equal(ManifestPutStatus.TagImmutable, refused.Status);
        Assert.Equal("v1.0", refused.Refusal!.Tag.Value);
        Assert.Equal(rule.Id, refused.Refusal.Rule.Id);
        Assert.Equal($"tag v1.0 is immutable (rule {rule.Id}: tags v* excluding latest)", refused.Refusal.Message);
        var repository = RepositoryName.Parse("shop/app");
        Assert.Equal(first.Digest, (await Stores.Registry.Manifests.GetAsync(repository, Reference.Of(Tag.Parse("v1.0")), Ct))!.Digest);
        Assert.Null(await Stores.Registry.Manifests.GetAsync(repository, Reference.Of(second.Digest), Ct)); // nothing of the refused push
    }

    [Fact]
    public async Task ManifestPut_SameDigestAgainOrMovableTags_Succeed()
    {
        await CreateProjectAsync("shop");
        await AddRuleAsync("shop", ["v*"], ["latest"], ["api", "team/*"]);
        var first = Image("one", Clock.GetUtcNow());
        var second = Image("two", Clock.GetUtcNow());
        var signature = "sha256-" + new string('a', 64);
        foreach (var (repository, tag) in new[] { ("shop/api", "v1"), ("shop/api", "latest"), ("shop/web", "v1"), ("shop/team/x", "dev"), ("shop/api", signature), ("shop/api", signature + ".sig") })
        {
            Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync(repository, first, tag)).Status);
        }

        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/api", first, "v1")).Status); // a re-run CI job
        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/api", second, "latest")).Status); // excluded tag
        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/web", second, "v1")).Status); // repository not selected
        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/api", second, signature)).Status); // signatures move
        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/api", second, signature + ".sig")).Status);
        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/api", second, null)).Status); // by digest
        Assert.Equal(ManifestPutStatus.Stored, (await PutImageAsync("shop/team/x", first, "v2")).Status);
        Assert.Equal(ManifestPutStatus.TagImmutable, (await PutImageAsync("shop/team/x", second, "v2")).Status);
    }

    [Fact]
    public async Task ManifestPut_TwoDigestsRacingToANewImmutableTag_OneWinsAndTheOtherIsRefused()
    {
        await CreateProjectAsync("shop");
        await AddRuleAsync("shop", ["v*"]);
        for (var round = 0; round < 5; round++)
        {
            var tag = "v" + round;
            var images = Enumerable.Range(0, 4).Select(i => Image($"{round}-{i}", Clock.GetUtcNow())).ToArray();
            var results = await Task.WhenAll(images.Select(image => Task.Run(() => PutImageAsync("shop/app", image, tag))));

            Assert.Single(results, r => r.Status == ManifestPutStatus.Stored);
            Assert.Equal(3, results.Count(r => r.Status == ManifestPutStatus.TagImmutable));
            var winner = images[Array.FindIndex(results, r => r.Status == ManifestPutStatus.Stored)];
            Assert.Equal(winner.Digest, (await Stores.Registry.Manifests.GetAsync(RepositoryName.Parse("shop/app"), Reference.Of(Tag.Parse(tag)), Ct))!.Digest);
        }
    }

    [Fact]
    public async Task TagDelete_OfAnImmutableTag_IsRefused_OthersGo()
    {
        await CreateProjectAsync("shop");
        await AddRuleAsync("shop", ["v*"]);
        var image = Image("one", Clock.GetUtcNow());
        await PutImageAsync("shop/app", image, "v1");
        await PutImageAsync("shop/app", image, "latest");
        var repository = RepositoryName.Parse("shop/app");

        var refused = await Stores.Registry.Manifests.DeleteTagAsync(repository, Tag.Parse("v1"), Ct);

        Assert.Equal(ManifestDeleteStatus.Immutable, refused.Status);
        Assert.Equal("v1", refused.Refusal!.Tag.Value);
        Assert.NotNull(await Stores.Registry.Manifests.GetAsync(repository, Reference.Of(Tag.Parse("v1")), Ct));
        Assert.Equal(ManifestDeleteStatus.NotFound, (await Stores.Registry.Manifests.DeleteTagAsync(repository, Tag.Parse("v9"), Ct)).Status);
        Assert.Equal(ManifestDeleteStatus.Deleted, (await Stores.Registry.Manifests.DeleteTagAsync(repository, Tag.Parse("latest"), Ct)).Status);
    }

    [Fact]
    public async Task ManifestDelete_OfAManifestCarryingAnImmutableTag_IsRefused_UntilTheRuleGoes()
    {
        await CreateProjectAsync("shop");
        var rule = await AddRuleAsync("shop", ["v*"]);
        var image = Image("one", Clock.GetUtcNow());
        var loose = Image("two", Clock.GetUtcNow());
        await PutImageAsync("shop/app", image, "latest");
        await PutImageAsync("shop/app", image, "v1");
        await PutImageAsync("shop/app", loose, "dev");
        var repository = RepositoryName.Parse("shop/app");

        var refused = await Stores.Registry.Manifests.DeleteManifestAsync(repository, image.Digest, Ct);

        Assert.Equal(ManifestDeleteStatus.Immutable, refused.Status);
        Assert.Equal("v1", refused.Refusal!.Tag.Value);
        Assert.NotNull(await Stores.Registry.Manifests.GetAsync(repository, Reference.Of(Tag.Parse("latest")), Ct));
        Assert.Equal(ManifestDeleteStatus.Deleted, (await Stores.Registry.Manifests.DeleteManifestAsync(repository, loose.Digest, Ct)).Status);

        await Rules.RemoveAsync(P("shop"), rule.Id, Ct);
        Assert.Equal(ManifestDeleteStatus.Deleted, (await Stores.Registry.Manifests.DeleteManifestAsync(repository, image.Digest, Ct)).Status);
    }
}
