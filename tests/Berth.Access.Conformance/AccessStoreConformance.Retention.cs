using Berth.Core.Access;
using Berth.Core.Immutability;
using Berth.Core.Metadata;
using Berth.Core.Retention;
using Berth.Oci;

namespace Berth.Access.Conformance;

/// <summary><see cref="IRetentionStore"/>: settings, run history with its cap, the cascade with the project, and the bytes a delete frees.</summary>
public abstract partial class AccessStoreConformance
{
    private IRetentionStore Retention => Stores.Retention;

    private static RetentionSettings Explicit(DateTimeOffset at, string schedule = "0 3 * * *", bool enabled = true) => new(null,
    [
        new RetentionRule(PatternFilter.TryParse(["api/**"], ["api/old"], out _)!, PatternFilter.TryParse(["v*"], ["latest"], out _)!, false,
            [new RetentionCondition.LatestPushed(10), new RetentionCondition.UsedWithin(TimeSpan.FromDays(30))]),
        new RetentionRule(PatternFilter.All, PatternFilter.All, true, [new RetentionCondition.PushedWithin(TimeSpan.FromHours(1))]),
        new RetentionRule(PatternFilter.All, PatternFilter.TryParse(["stable"], [], out _)!, false, [new RetentionCondition.Always(), new RetentionCondition.LatestUsed(3)]),
    ], schedule, enabled, at);

    private static RetentionRunItem Item(string repository, string text, RetentionItemOutcome outcome = RetentionItemOutcome.Deleted, params string[] tags) =>
        new(0, RepositoryName.Parse(repository), Digest.Compute(DigestAlgorithm.Sha256, System.Text.Encoding.UTF8.GetBytes(text)), tags.Select(Tag.Parse).ToList(),
            text.Length, outcome, "because " + text);

    [Fact]
    public async Task RetentionSettings_SetGetReplaceDelete_RoundTripRulesPresetAndSchedule()
    {
        await CreateProjectAsync("shop");
        Assert.Null(await Retention.GetAsync(P("shop"), Ct));

        var settings = Explicit(Clock.GetUtcNow(), "*/5 * * * *", enabled: false);
        Assert.True(await Retention.SetAsync(P("shop"), settings, Ct));
        var read = await Retention.GetAsync(P("shop"), Ct);
        Assert.NotNull(read);
        Assert.Null(read.Preset);
        Assert.Equal("*/5 * * * *", read.Schedule);
        Assert.False(read.Enabled);
        Assert.Equal(settings.UpdatedAt, read.UpdatedAt);
        Assert.Null(read.LastScheduledAt);
        Assert.Equal(settings.Rules.Select(r => r.Describe()), read.Rules.Select(r => r.Describe()));
        Assert.Equal(settings.Rules[0].Conditions, read.Rules[0].Conditions);
        Assert.True(read.Rules[1].Untagged);

        // A claim succeeds once per state seen: a second scheduler that saw the same state loses.
        Assert.True(await Retention.TryClaimScheduledAsync(P("shop"), read, Clock.GetUtcNow().AddMinutes(5), Ct));
        Assert.False(await Retention.TryClaimScheduledAsync(P("shop"), read, Clock.GetUtcNow().AddMinutes(6), Ct));
        var claimed = (await Retention.GetAsync(P("shop"), Ct))!;
        Assert.Equal(Clock.GetUtcNow().AddMinutes(5), claimed.LastScheduledAt);
        Assert.True(await Retention.TryClaimScheduledAsync(P("shop"), claimed, Clock.GetUtcNow().AddMinutes(10), Ct));
        Assert.False(await Retention.TryClaimScheduledAsync(P("shop"), claimed, Clock.GetUtcNow().AddMinutes(11), Ct));

        // Replacing resets what the scheduler handled: the new schedule counts from the change.
        Assert.True(await Retention.SetAsync(P("shop"), new RetentionSettings(RetentionLimits.LabPreset, [], "0 3 * * *", true, Clock.GetUtcNow().AddHours(1)), Ct));
        Assert.False(await Retention.TryClaimScheduledAsync(P("shop"), claimed, Clock.GetUtcNow().AddMinutes(20), Ct)); // the policy changed
        read = await Retention.GetAsync(P("shop"), Ct);
        Assert.Equal(RetentionLimits.LabPreset, read!.Preset);
        Assert.Empty(read.Rules);
        Assert.Null(read.LastScheduledAt);
        Assert.True(read.Enabled);

        Assert.Equal(DeleteResult.Deleted, await Retention.DeleteAsync(P("shop"), Ct));
        Assert.Equal(DeleteResult.NotFound, await Retention.DeleteAsync(P("shop"), Ct));
        Assert.Null(await Retention.GetAsync(P("shop"), Ct));
    }

    [Fact]
    public async Task RetentionSettings_MissingProject_AreRefusedAndNothingIsStarted()
    {
        Assert.False(await Retention.SetAsync(P("nowhere"), Explicit(Clock.GetUtcNow()), Ct));
        Assert.Null(await Retention.GetAsync(P("nowhere"), Ct));
        Assert.Equal(DeleteResult.NotFound, await Retention.DeleteAsync(P("nowhere"), Ct));
        Assert.Null(await Retention.StartRunAsync(P("nowhere"), RetentionTrigger.Manual, true, "alice", Clock.GetUtcNow(), 100, Ct));
        Assert.False(await Retention.TryClaimScheduledAsync(P("nowhere"), Explicit(Clock.GetUtcNow()), Clock.GetUtcNow(), Ct));
    }

    [Fact]
    public async Task RetentionListEnabled_PagesByNameAndSkipsDisabled()
    {
        foreach (var name in new[] { "c", "a", "d", "b" })
        {
            await CreateProjectAsync(name);
            Assert.True(await Retention.SetAsync(P(name), Explicit(Clock.GetUtcNow(), enabled: name != "c"), Ct));
        }

        await CreateProjectAsync("none");
        var first = await Retention.ListEnabledAsync(null, 2, Ct);
        Assert.Equal(["a", "b"], first.Select(s => s.Project.Value));
        var second = await Retention.ListEnabledAsync("b", 2, Ct);
        Assert.Equal(["d"], second.Select(s => s.Project.Value));
        Assert.Equal(3, second[0].Settings.Rules.Count);
    }

    [Fact]
    public async Task RetentionRuns_StartAddFinish_AreListedNewestFirstWithTheirItemsInOrder()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("other");
        var first = (await Retention.StartRunAsync(P("shop"), RetentionTrigger.Schedule, false, "retention", Clock.GetUtcNow(), 100, Ct))!;
        Assert.Equal(RetentionRunStatus.Running, first.Status);
        await Retention.AddItemsAsync(first.Id, [Item("shop/api", "one", RetentionItemOutcome.Deleted, "v1", "sha256-" + new string('b', 64) + ".sig"), Item("shop/api", "two", RetentionItemOutcome.Skipped)], Ct);
        await Retention.AddItemsAsync(first.Id, [Item("shop/web", "three")], Ct);
        await Retention.FinishRunAsync(first.Id, new RetentionRunEnd(RetentionRunStatus.Succeeded, 2, 1, 12345, null), Clock.GetUtcNow().AddSeconds(3), Ct);
        var second = (await Retention.StartRunAsync(P("shop"), RetentionTrigger.Manual, true, "alice", Clock.GetUtcNow().AddMinutes(1), 100, Ct))!;
        await Retention.FinishRunAsync(second.Id, new RetentionRunEnd(RetentionRunStatus.Failed, 0, 0, 0, "stored retention rules do not read back"), Clock.GetUtcNow().AddMinutes(2), Ct);
        var foreign = (await Retention.StartRunAsync(P("other"), RetentionTrigger.Manual, true, "bob", Clock.GetUtcNow(), 100, Ct))!;
        Assert.True(second.Id > first.Id);

        var page = await Retention.ListRunsAsync(P("shop"), null, 1, Ct);
        Assert.True(page.HasMore);
        Assert.Equal([second.Id], page.Runs.Select(r => r.Id));
        Assert.Equal(RetentionRunStatus.Failed, page.Runs[0].Status);
        Assert.Equal("stored retention rules do not read back", page.Runs[0].Error);
        Assert.True(page.Runs[0].DryRun);
        Assert.Equal("alice", page.Runs[0].Actor);
        page = await Retention.ListRunsAsync(P("shop"), second.Id, 10, Ct);
        Assert.False(page.HasMore);
        var run = Assert.Single(page.Runs);
        Assert.Equal(new RetentionRun(first.Id, P("shop"), RetentionTrigger.Schedule, false, "retention", Clock.GetUtcNow(), Clock.GetUtcNow().AddSeconds(3),
            RetentionRunStatus.Succeeded, 2, 1, 12345, null), run);
        Assert.Equal(run, await Retention.GetRunAsync(P("shop"), first.Id, Ct));

        // Another project's run is not this project's.
        Assert.Null(await Retention.GetRunAsync(P("shop"), foreign.Id, Ct));
        Assert.Empty((await Retention.ListItemsAsync(P("other"), first.Id, null, 10, Ct)).Items);

        var items = await Retention.ListItemsAsync(P("shop"), first.Id, null, 2, Ct);
        Assert.True(items.HasMore);
        Assert.Equal(["shop/api", "shop/api"], items.Items.Select(i => i.Repository.Value));
        Assert.Equal(["v1", "sha256-" + new string('b', 64) + ".sig"], items.Items[0].Tags.Select(t => t.Value));
        Assert.Equal(RetentionItemOutcome.Skipped, items.Items[1].Outcome);
        Assert.Equal("because two", items.Items[1].Reason);
        Assert.Equal(3, items.Items[1].Size);
        var rest = await Retention.ListItemsAsync(P("shop"), first.Id, items.Items[^1].Id, 2, Ct);
        Assert.False(rest.HasMore);
        Assert.Equal(Item("shop/web", "three").Digest, Assert.Single(rest.Items).Digest);
        Assert.Empty(rest.Items[0].Tags);
    }

    [Fact]
    public async Task RetentionRuns_BeyondTheCap_DropTheOldestWithTheirItems()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("other");
        var other = (await Retention.StartRunAsync(P("other"), RetentionTrigger.Manual, true, "bob", Clock.GetUtcNow(), 3, Ct))!;
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            var run = (await Retention.StartRunAsync(P("shop"), RetentionTrigger.Manual, false, "alice", Clock.GetUtcNow(), 3, Ct))!;
            await Retention.AddItemsAsync(run.Id, [Item("shop/api", "run" + i)], Ct);
            ids.Add(run.Id);
        }

        Assert.Equal(ids.Skip(2).Reverse(), (await Retention.ListRunsAsync(P("shop"), null, 10, Ct)).Runs.Select(r => r.Id));
        Assert.Null(await Retention.GetRunAsync(P("shop"), ids[0], Ct));
        Assert.Empty((await Retention.ListItemsAsync(P("shop"), ids[0], null, 10, Ct)).Items);
        Assert.NotNull(await Retention.GetRunAsync(P("other"), other.Id, Ct));

        // Items and the end of a run that was trimmed meanwhile are dropped, not an error.
        await Retention.AddItemsAsync(ids[0], [Item("shop/api", "late")], Ct);
        await Retention.FinishRunAsync(ids[0], new RetentionRunEnd(RetentionRunStatus.Succeeded, 1, 0, 1, null), Clock.GetUtcNow(), Ct);
        Assert.Null(await Retention.GetRunAsync(P("shop"), ids[0], Ct));
    }

    [Fact]
    public async Task Retention_ProjectDeleted_GoesWithItSoANewProjectOfTheNameStartsEmpty()
    {
        await CreateProjectAsync("shop");
        Assert.True(await Retention.SetAsync(P("shop"), Explicit(Clock.GetUtcNow()), Ct));
        var run = (await Retention.StartRunAsync(P("shop"), RetentionTrigger.Manual, false, "alice", Clock.GetUtcNow(), 100, Ct))!;
        await Retention.AddItemsAsync(run.Id, [Item("shop/api", "one")], Ct);

        Assert.Equal(ProjectDeleteStatus.Deleted, (await Projects.DeleteAsync(P("shop"), force: true, Ct)).Status);
        await CreateProjectAsync("shop");

        Assert.Null(await Retention.GetAsync(P("shop"), Ct));
        Assert.Empty((await Retention.ListRunsAsync(P("shop"), null, 10, Ct)).Runs);
        Assert.Null(await Retention.GetRunAsync(P("shop"), run.Id, Ct));
        Assert.Empty((await Retention.ListItemsAsync(P("shop"), run.Id, null, 10, Ct)).Items);
        Assert.Empty(await Retention.ListEnabledAsync(null, 10, Ct));
    }

    [Fact]
    public async Task RetentionMeasureFreed_CountsManifestBodiesAndBlobsNoOtherManifestReferences()
    {
        await CreateRepositoryAsync("shop/api");
        await CreateRepositoryAsync("shop/web");
        Digest Blob(string name) => Digest.Compute(DigestAlgorithm.Sha256, System.Text.Encoding.UTF8.GetBytes("blob " + name));
        async Task<ManifestRecord> PutAsync(string repository, string name, params (string Blob, long Size)[] blobs)
        {
            var repo = RepositoryName.Parse(repository);
            foreach (var (blob, size) in blobs)
            {
                await Stores.Blobs.LinkAsync(repo, Blob(blob), size, Ct);
            }

            var image = Image(name, Clock.GetUtcNow());
            Assert.Equal(ManifestPutStatus.Stored, (await Stores.Registry.Manifests.PutAsync(repo, image,
                blobs.Select(b => new ManifestReference(Blob(b.Blob), b.Size, false)).ToList(), null, Ct)).Status);
            return image;
        }

        var a = await PutAsync("shop/api", "a", ("only-a", 1000), ("shared-ab", 200), ("shared-web", 30));
        var b = await PutAsync("shop/api", "b", ("only-b", 4000), ("shared-ab", 200));
        var kept = await PutAsync("shop/api", "kept", ("only-kept", 50000), ("shared-kept", 7));
        var c = await PutAsync("shop/api", "c", ("shared-kept", 7));
        await PutAsync("shop/web", "w", ("shared-web", 30));

        var api = RepositoryName.Parse("shop/api");
        Assert.Equal(0, await Retention.MeasureFreedAsync(api, [], Ct));

        // a alone: its body and only-a (shared-ab is b's too, shared-web another repository's).
        Assert.Equal(a.Body.Length + 1000, await Retention.MeasureFreedAsync(api, [a.Digest], Ct));

        // a and b together free shared-ab as well, counted once; c frees nothing the kept manifest still references.
        Assert.Equal(a.Body.Length + b.Body.Length + c.Body.Length + 1000 + 4000 + 200,
            await Retention.MeasureFreedAsync(api, [a.Digest, b.Digest, c.Digest, a.Digest], Ct));

        // A digest that is not there adds nothing; the same digests in another repository free nothing here.
        Assert.Equal(kept.Body.Length + 50000, await Retention.MeasureFreedAsync(api, [kept.Digest, Blob("nothing")], Ct));
        Assert.Equal(0, await Retention.MeasureFreedAsync(RepositoryName.Parse("shop/web"), [a.Digest], Ct));
    }
}
