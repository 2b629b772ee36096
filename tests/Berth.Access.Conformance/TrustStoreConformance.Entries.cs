using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Scanning;
using Berth.Core.Signing;

namespace Berth.Access.Conformance;

/// <summary><see cref="ITrustStore"/>: scopes, names, limits, identities, the cascade with the project, races; and <see cref="ScanPolicy.SignedOnly"/>.</summary>
public abstract partial class TrustStoreConformance
{
    [Fact]
    public async Task Trust_AddListEffectiveAndRemove_ByScopeAndName()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("lab");

        var zeta = await AddedAsync(Key(null, "zeta", "SHA256:zeta"));
        Assert.True(zeta.Id > 0);
        Assert.Equal((null, "zeta", TrustKind.Key, KeyPem, "SHA256:zeta", "alice", Start), (zeta.Project, zeta.Name, zeta.Kind, zeta.Pem, zeta.Fingerprint, zeta.CreatedBy, zeta.CreatedAt));
        Assert.Empty(zeta.Identities);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var serverRoot = await AddedAsync(Root(null, "Alpha", "*"));
        Assert.Equal((TrustKind.Root, RootPem, "bob", Start.AddMinutes(1)), (serverRoot.Kind, serverRoot.Pem, serverRoot.CreatedBy, serverRoot.CreatedAt));
        var beta = await AddedAsync(Key("shop", "beta"));
        Assert.Equal(P("shop"), beta.Project);
        await AddedAsync(Key("shop", "alpha")); // the same name as a server-wide entry, in another scope
        await AddedAsync(Key("lab", "gamma"));
        await AddedAsync(Key("lab", "Zulu")); // by name case-insensitively: after gamma

        Assert.Equal(["Alpha", "zeta"], (await Trust.ListAsync(null, Ct)).Select(e => e.Name));
        var shop = await Trust.ListAsync(P("shop"), Ct);
        Assert.Equal(["alpha", "beta"], shop.Select(e => e.Name));
        Assert.All(shop, e => Assert.Equal(P("shop"), e.Project));
        Assert.Equal(beta, shop[1] with { Identities = beta.Identities }); // what was added is what is listed
        Assert.Equal(["gamma", "Zulu"], (await Trust.ListAsync(P("lab"), Ct)).Select(e => e.Name));

        // What verifies shop's signatures: its own entries first, then the server-wide ones, each by name; not lab's.
        Assert.Equal([(P("shop"), "alpha"), (P("shop"), "beta"), (null, "Alpha"), (null, "zeta")],
            (await Trust.ListEffectiveAsync(P("shop"), Ct)).Select(e => (e.Project, e.Name)));

        Assert.Equal(DeleteResult.Deleted, await Trust.RemoveAsync(P("shop"), "ALPHA", Ct));
        Assert.Equal(DeleteResult.NotFound, await Trust.RemoveAsync(P("shop"), "alpha", Ct));
        Assert.Equal(DeleteResult.NotFound, await Trust.RemoveAsync(P("shop"), "gamma", Ct)); // lab's
        Assert.Equal(DeleteResult.NotFound, await Trust.RemoveAsync(P("nope"), "zeta", Ct));
        Assert.Equal(DeleteResult.NotFound, await Trust.RemoveAsync(P("shop"), "x\0y", Ct));
        Assert.Equal(["Alpha", "zeta"], (await Trust.ListAsync(null, Ct)).Select(e => e.Name)); // the server-wide entry of that name stays
        Assert.Equal(["gamma", "Zulu"], (await Trust.ListAsync(P("lab"), Ct)).Select(e => e.Name));
        Assert.Equal(DeleteResult.Deleted, await Trust.RemoveAsync(null, "alpha", Ct));
        Assert.Equal(["zeta"], (await Trust.ListAsync(null, Ct)).Select(e => e.Name));
        Assert.Equal([(P("shop"), "beta"), (null, "zeta")], (await Trust.ListEffectiveAsync(P("shop"), Ct)).Select(e => (e.Project, e.Name)));
    }

    [Fact]
    public async Task Trust_NameTakenInItsScope_AnswersTheExistingEntry()
    {
        await CreateProjectAsync("shop");
        var first = await AddedAsync(Key("shop", "ci-key", "SHA256:first"));
        await AddedAsync(Key(null, "CI-Key", "SHA256:server"));

        var again = await Trust.AddAsync(Root("shop", "CI-KEY", "*") with { Fingerprint = "SHA256:other" }, Ct);
        Assert.Equal(TrustAddStatus.Exists, again.Status);
        Assert.Equal(first.Id, again.Entry!.Id);
        Assert.Equal(("ci-key", TrustKind.Key, "SHA256:first"), (again.Entry.Name, again.Entry.Kind, again.Entry.Fingerprint));
        var server = await Trust.AddAsync(Key(null, "ci-KEY"), Ct);
        Assert.Equal((TrustAddStatus.Exists, "SHA256:server"), (server.Status, server.Entry!.Fingerprint));
        Assert.Single(await Trust.ListAsync(P("shop"), Ct));
        Assert.Single(await Trust.ListAsync(null, Ct));
    }

    [Fact]
    public async Task Trust_UnknownProject_IsNotFoundAndListsEmpty()
    {
        await AddedAsync(Key(null, "server"));

        var result = await Trust.AddAsync(Key("nope", "k"), Ct);
        Assert.Equal(TrustAddStatus.ProjectNotFound, result.Status);
        Assert.Null(result.Entry);
        Assert.Empty(await Trust.ListAsync(P("nope"), Ct));
        Assert.Equal(["server"], (await Trust.ListEffectiveAsync(P("nope"), Ct)).Select(e => e.Name)); // no entries of its own
        Assert.Equal(DeleteResult.NotFound, await Trust.RemoveAsync(P("nope"), "server", Ct));
        Assert.Single(await Trust.ListAsync(null, Ct));
    }

    [Fact]
    public async Task Trust_FullScope_RefusesOneMoreButOtherScopesStillAdd()
    {
        await CreateProjectAsync("shop");
        await CreateProjectAsync("lab");
        for (var i = 0; i < TrustLimits.MaxEntriesPerScope; i++)
        {
            await AddedAsync(Key("shop", $"k{i:D3}"));
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => Trust.AddAsync(Key("shop", "one-more"), Ct));
        Assert.Equal(TrustAddStatus.Exists, (await Trust.AddAsync(Key("shop", "K000"), Ct)).Status); // a name taken is still answered
        Assert.Equal(TrustLimits.MaxEntriesPerScope, (await Trust.ListAsync(P("shop"), Ct)).Count);
        await AddedAsync(Key("lab", "one-more"));
        await AddedAsync(Key(null, "one-more"));

        Assert.Equal(DeleteResult.Deleted, await Trust.RemoveAsync(P("shop"), "k050", Ct));
        await AddedAsync(Key("shop", "one-more"));
    }

    [Fact]
    public async Task Trust_Identities_RoundTripInOrder()
    {
        await CreateProjectAsync("shop");
        string[] identities = ["x509.subject: CN=ci, O=Example", "*", "email:ci@example.com", "uri:https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main", "名前 \"quoted\" \\ ['x']"];
        var root = await AddedAsync(Root("shop", "ci-root", identities));
        Assert.Equal(identities, root.Identities);
        await AddedAsync(Key("shop", "plain"));
        await AddedAsync(Root(null, "server-root", "email:b@example.com", "email:a@example.com"));

        var listed = await Trust.ListAsync(P("shop"), Ct);
        Assert.Equal(identities, listed[0].Identities);
        Assert.Empty(listed[1].Identities);
        Assert.Equal(["email:b@example.com", "email:a@example.com"], (await Trust.ListEffectiveAsync(P("shop"), Ct))[2].Identities);
    }

    [Fact]
    public async Task Trust_ProjectDeleted_TakesItsEntriesAndANewProjectOfThatNameTrustsNothing()
    {
        await CreateProjectAsync("shop");
        await AddedAsync(Key("shop", "ci"));
        await AddedAsync(Root("shop", "corp", "*"));
        await AddedAsync(Key(null, "server"));

        Assert.Equal(ProjectDeleteStatus.Deleted, (await Stores.Projects.DeleteAsync(P("shop"), force: false, Ct)).Status);
        Assert.Empty(await Trust.ListAsync(P("shop"), Ct));
        await CreateProjectAsync("shop");
        Assert.Empty(await Trust.ListAsync(P("shop"), Ct));
        Assert.Equal([(null, "server")], (await Trust.ListEffectiveAsync(P("shop"), Ct)).Select(e => (e.Project, e.Name)));
        await AddedAsync(Key("shop", "ci")); // the name is free again
    }

    [Fact]
    public async Task Trust_ConcurrentAddsOfOneName_AddOnce()
    {
        await CreateProjectAsync("shop");
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => Trust.AddAsync(Key("shop", i % 2 == 0 ? "release" : "RELEASE", $"SHA256:{i}"), Ct))));

        Assert.Single(results, r => r.Status == TrustAddStatus.Added);
        Assert.All(results.Where(r => r.Status != TrustAddStatus.Added), r => Assert.Equal(TrustAddStatus.Exists, r.Status));
        var added = Assert.Single(results, r => r.Status == TrustAddStatus.Added).Entry!;
        Assert.Equal(added, Assert.Single(await Trust.ListAsync(P("shop"), Ct)) with { Identities = added.Identities });
    }

    [Fact]
    public async Task Trust_BadEntries_AreRefusedBeforeTheDatabase()
    {
        await CreateProjectAsync("shop");
        await Assert.ThrowsAsync<ArgumentNullException>(() => Trust.AddAsync(null!, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Key("shop", ""), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Key("shop", "-dash-first"), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Key("shop", "has space"), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Key("shop", "k'; DROP TABLE trust_entries; --"), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Key("shop", new string('k', TrustLimits.MaxNameLength + 1)), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Key("shop", "k") with { Pem = "" }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Key("shop", "k") with { Pem = new string('A', TrustLimits.MaxPemLength + 1) }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Key("shop", "k") with { Pem = "nul\0" }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Key("shop", "k") with { Kind = (TrustKind)7 }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Root("shop", "r", [.. Enumerable.Range(0, TrustLimits.MaxIdentities + 1).Select(i => $"email:{i}@x")]), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Root("shop", "r", new string('i', TrustLimits.MaxIdentityLength + 1)), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Root("shop", "r", "email:\0@x"), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Root("shop", "r", ""), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Trust.AddAsync(Key("shop", "k") with { CreatedBy = "a\0" }, Ct));
        Assert.Empty(await Trust.ListAsync(P("shop"), Ct));

        // The longest of everything is stored whole.
        var longest = Root("shop", new string('n', TrustLimits.MaxNameLength), [.. Enumerable.Range(0, TrustLimits.MaxIdentities).Select(i => i + new string('i', TrustLimits.MaxIdentityLength - 2))])
            with { Pem = new string('P', TrustLimits.MaxPemLength) };
        var stored = await AddedAsync(longest);
        Assert.Equal((longest.Name, longest.Pem), (stored.Name, stored.Pem));
        Assert.Equal(longest.Identities, (await Trust.ListAsync(P("shop"), Ct))[0].Identities);
    }

    [Fact]
    public async Task SignedOnly_DefaultsFalseRoundTripsAndIsForgottenWithTheProject()
    {
        await CreateProjectAsync("shop");
        Assert.False((await Policies.GetPolicyAsync(P("shop"), Ct))!.SignedOnly);
        Assert.False(ScanPolicy.Default.SignedOnly);

        var signed = ScanPolicy.Default with { SignedOnly = true, UpdatedAt = Clock.GetUtcNow() };
        Assert.True(await Policies.SetPolicyAsync(P("shop"), signed, Ct));
        Assert.Equal(signed, await Policies.GetPolicyAsync(P("shop"), Ct));
        var strict = new ScanPolicy(false, BlockSeverity.High, true, true, Clock.GetUtcNow().AddMinutes(1), SignedOnly: true);
        Assert.True(await Policies.SetPolicyAsync(P("shop"), strict, Ct));
        Assert.Equal(strict, await Policies.GetPolicyAsync(P("shop"), Ct));
        var off = strict with { SignedOnly = false, UpdatedAt = Clock.GetUtcNow().AddMinutes(2) };
        Assert.True(await Policies.SetPolicyAsync(P("shop"), off, Ct));
        Assert.Equal(off, await Policies.GetPolicyAsync(P("shop"), Ct));
        Assert.False(await Policies.SetPolicyAsync(P("nope"), signed, Ct));
        Assert.Null(await Policies.GetPolicyAsync(P("nope"), Ct));

        Assert.True(await Policies.SetPolicyAsync(P("shop"), signed, Ct));
        Assert.Equal(ProjectDeleteStatus.Deleted, (await Stores.Projects.DeleteAsync(P("shop"), force: true, Ct)).Status);
        await CreateProjectAsync("shop");
        Assert.Equal(ScanPolicy.Default, await Policies.GetPolicyAsync(P("shop"), Ct)); // a name re-used starts unsigned-pullable
    }
}
