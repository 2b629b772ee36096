using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Scanning;

namespace Berth.Access.Conformance;

/// <summary><see cref="IScanPolicyStore"/>: defaults, replacement, the CVE allowlist's scopes and the cascade with the project.</summary>
public abstract partial class ScanStoreConformance
{
    private CveAllowEntry Allow(string? project, string id, DateTimeOffset? expires = null, string reason = "not reachable") =>
        new(0, project is null ? null : P(project), id, reason, expires, "alice", Clock.GetUtcNow());

    [Fact]
    public async Task ScanPolicy_DefaultsSetReplaceAndCascade()
    {
        Assert.Null(await Policies.GetPolicyAsync(P("shop"), Ct));
        Assert.False(await Policies.SetPolicyAsync(P("shop"), ScanPolicy.Default, Ct));
        await CreateProjectAsync("shop");
        Assert.Equal(ScanPolicy.Default, await Policies.GetPolicyAsync(P("shop"), Ct));

        var strict = new ScanPolicy(false, BlockSeverity.Critical, true, true, Clock.GetUtcNow());
        Assert.True(await Policies.SetPolicyAsync(P("shop"), strict, Ct));
        Assert.Equal(strict, await Policies.GetPolicyAsync(P("shop"), Ct));
        var relaxed = new ScanPolicy(true, BlockSeverity.None, false, false, Clock.GetUtcNow().AddMinutes(1));
        Assert.True(await Policies.SetPolicyAsync(P("shop"), relaxed, Ct));
        Assert.Equal(relaxed, await Policies.GetPolicyAsync(P("shop"), Ct));
        foreach (var severity in Enum.GetValues<BlockSeverity>())
        {
            Assert.True(await Policies.SetPolicyAsync(P("shop"), relaxed with { BlockSeverity = severity }, Ct));
            Assert.Equal(severity, (await Policies.GetPolicyAsync(P("shop"), Ct))!.BlockSeverity);
        }

        Assert.True(await Policies.SetPolicyAsync(P("shop"), strict, Ct));
        Assert.Equal(AddedEntry, (await Policies.AddAllowAsync(Allow("shop", "CVE-2024-1"), Ct)).Status);
        Assert.Equal(ProjectDeleteStatus.Deleted, (await Stores.Projects.DeleteAsync(P("shop"), force: true, Ct)).Status);
        await CreateProjectAsync("shop");
        Assert.Equal(ScanPolicy.Default, await Policies.GetPolicyAsync(P("shop"), Ct)); // a name re-used starts with the defaults
        Assert.Empty(await Policies.ListAllowAsync(P("shop"), Ct));
    }

    private const CveAllowAddStatus AddedEntry = CveAllowAddStatus.Added;

    [Fact]
    public async Task CveAllowlist_ScopesDuplicatesExpiryAndRemoval()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("lab");

        var server = await Policies.AddAllowAsync(Allow(null, "CVE-2024-0001", reason: "server-wide"), Ct);
        Assert.Equal(CveAllowAddStatus.Added, server.Status);
        Assert.Equal((null, "CVE-2024-0001", "server-wide", "alice", Clock.GetUtcNow()), (server.Entry!.Project, server.Entry.VulnerabilityId, server.Entry.Reason, server.Entry.CreatedBy, server.Entry.CreatedAt));
        Assert.Equal(CveAllowAddStatus.Added, (await Policies.AddAllowAsync(Allow("shop", "CVE-2024-0001"), Ct)).Status); // another scope
        Assert.Equal(CveAllowAddStatus.Added, (await Policies.AddAllowAsync(Allow("shop", "GHSA-jfh8-c2jp-5v3q", Clock.GetUtcNow().AddDays(30)), Ct)).Status);
        Assert.Equal(CveAllowAddStatus.Added, (await Policies.AddAllowAsync(Allow("shop", "CVE-2020-9999", Clock.GetUtcNow().AddDays(-1)), Ct)).Status);
        Assert.Equal(CveAllowAddStatus.Added, (await Policies.AddAllowAsync(Allow("lab", "CVE-2023-7777"), Ct)).Status);

        var duplicate = await Policies.AddAllowAsync(Allow("shop", "cve-2024-0001", reason: "again"), Ct);
        Assert.Equal(CveAllowAddStatus.Exists, duplicate.Status);
        Assert.Equal("CVE-2024-0001", duplicate.Entry!.VulnerabilityId);
        Assert.Equal(CveAllowAddStatus.Exists, (await Policies.AddAllowAsync(Allow(null, "Cve-2024-0001"), Ct)).Status);
        Assert.Equal(CveAllowAddStatus.ProjectNotFound, (await Policies.AddAllowAsync(Allow("nope", "CVE-2024-0001"), Ct)).Status);

        Assert.Equal(["CVE-2024-0001"], (await Policies.ListAllowAsync(null, Ct)).Select(e => e.VulnerabilityId));
        var shop = await Policies.ListAllowAsync(P("shop"), Ct);
        Assert.Equal(["CVE-2024-0001", "GHSA-jfh8-c2jp-5v3q", "CVE-2020-9999"], shop.Select(e => e.VulnerabilityId));
        Assert.All(shop, e => Assert.Equal(P("shop"), e.Project));
        Assert.Equal(Clock.GetUtcNow().AddDays(30), shop[1].ExpiresAt);
        Assert.Empty(await Policies.ListAllowAsync(P("nope"), Ct));

        // What applies to shop's pulls now: its own live entries and the server-wide ones, not lab's, not the expired one.
        var effective = await Policies.ListEffectiveAllowAsync(P("shop"), Clock.GetUtcNow(), Ct);
        Assert.Equal([(null, "CVE-2024-0001"), (P("shop"), "CVE-2024-0001"), (P("shop"), "GHSA-jfh8-c2jp-5v3q")],
            effective.Select(e => (e.Project, e.VulnerabilityId)));
        Assert.Equal(2, (await Policies.ListEffectiveAllowAsync(P("shop"), Clock.GetUtcNow().AddDays(31), Ct)).Count);

        Assert.Equal(DeleteResult.Deleted, await Policies.RemoveAllowAsync(P("shop"), "cve-2024-0001", Ct));
        Assert.Equal(DeleteResult.NotFound, await Policies.RemoveAllowAsync(P("shop"), "CVE-2024-0001", Ct));
        Assert.Equal(DeleteResult.NotFound, await Policies.RemoveAllowAsync(P("lab"), "CVE-2024-0001", Ct));
        Assert.Single(await Policies.ListAllowAsync(null, Ct)); // the server-wide entry stays
        Assert.Equal(DeleteResult.Deleted, await Policies.RemoveAllowAsync(null, "CVE-2024-0001", Ct));
        Assert.Empty(await Policies.ListAllowAsync(null, Ct));
        Assert.Equal(DeleteResult.NotFound, await Policies.RemoveAllowAsync(P("nope"), "CVE-2024-0001", Ct));
    }

    [Fact]
    public async Task CveAllowlist_BadEntries_AreRefusedBeforeTheDatabase()
    {
        await CreateProjectAsync("shop");
        await Assert.ThrowsAsync<ArgumentException>(() => Policies.AddAllowAsync(Allow("shop", ""), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Policies.AddAllowAsync(Allow("shop", "CVE 2024"), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Policies.AddAllowAsync(Allow("shop", "CVE-'; DROP TABLE x"), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Policies.AddAllowAsync(Allow("shop", new string('C', CveAllowLimits.MaxIdLength + 1)), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Policies.AddAllowAsync(Allow("shop", "CVE-1", reason: new string('r', CveAllowLimits.MaxReasonLength + 1)), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Policies.AddAllowAsync(Allow("shop", "CVE-1", reason: "nul\0"), Ct));
        Assert.Empty(await Policies.ListAllowAsync(P("shop"), Ct));
        Assert.Equal(DeleteResult.NotFound, await Policies.RemoveAllowAsync(P("shop"), "x\0y", Ct));
    }

    [Fact]
    public async Task CveAllowlist_ConcurrentAddsOfOneId_AddOnce()
    {
        await CreateProjectAsync("shop");
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => Policies.AddAllowAsync(Allow("shop", i % 2 == 0 ? "CVE-2024-5" : "cve-2024-5"), Ct))));

        Assert.Single(results, r => r.Status == CveAllowAddStatus.Added);
        Assert.All(results.Where(r => r.Status != CveAllowAddStatus.Added), r => Assert.Equal(CveAllowAddStatus.Exists, r.Status));
        Assert.Single(await Policies.ListAllowAsync(P("shop"), Ct));
    }
}
