using System.Globalization;
using System.Net;
using Berth.Core.Access;
using Berth.Oci;

namespace Berth.Access.Conformance;

public abstract partial class AccessStoreConformance
{
    private static AuditEntry Entry(string action = AuditActions.Push, DateTimeOffset? at = null) => new()
    {
        At = at ?? Start,
        ActorKind = AuditActorKind.User,
        ActorName = "alice",
        Action = action,
    };

    [Fact]
    public async Task AuditAppend_EveryField_RoundTrips()
    {
        var entry = new AuditEntry
        {
            At = Start.AddSeconds(3),
            ActorKind = AuditActorKind.Robot,
            ActorName = "shop+ci",
            Action = AuditActions.Push,
            Project = P("shop"),
            Repository = RepositoryName.Parse("shop/app"),
            Detail = """{"tag":"v1","digest":"sha256:abc"}""",
            ClientAddress = IPAddress.Parse("2001:db8::7"),
        };

        var id = await Audit.AppendAsync(entry, Ct);

        var page = await Audit.QueryAsync(new AuditQuery(), Ct);
        Assert.Equal(entry with { Id = id }, Assert.Single(page.Items));
        Assert.False(page.HasMore);
    }

    [Fact]
    public async Task AuditAppendMany_WritesEveryEntryInOrderWithIncreasingIds()
    {
        var entries = Enumerable.Range(0, 70).Select(i => Entry(i % 2 == 0 ? AuditActions.Push : AuditActions.Pull, Start.AddSeconds(i)) with
        {
            Repository = RepositoryName.Parse($"shop/app{i}"),
            Detail = i % 3 == 0 ? null : $$"""{"n":{{i}}}""",
            ClientAddress = i % 5 == 0 ? null : IPAddress.Parse($"10.0.0.{i}"),
        }).ToList();

        await Audit.AppendManyAsync(entries, Ct);
        await Audit.AppendManyAsync([], Ct);

        var stored = new List<AuditEntry>();
        long? before = null;
        while (true)
        {
            var page = await Audit.QueryAsync(new AuditQuery(Limit: 50, BeforeId: before), Ct);
            stored.AddRange(page.Items);
            if (!page.HasMore)
            {
                break;
            }

            before = page.Items[^1].Id;
        }

        stored.Reverse(); // oldest (lowest id) first
        Assert.Equal(entries.Select(e => e with { Project = P("shop") }), stored.Select(e => e with { Id = 0 }));
        Assert.True(stored.Zip(stored.Skip(1)).All(p => p.First.Id < p.Second.Id));
    }

    [Fact]
    public async Task AuditAppendMany_OneBadEntry_ThrowsAndWritesNone()
    {
        var entries = new[] { Entry(), Entry() with { Detail = "not json" }, Entry(AuditActions.Pull) };

        await Assert.ThrowsAsync<ArgumentException>(() => Audit.AppendManyAsync(entries, Ct));

        Assert.Empty((await Audit.QueryAsync(new AuditQuery(), Ct)).Items);
    }

    [Fact]
    public async Task AuditAppend_MinimalEntry_RoundTrips()
    {
        var entry = new AuditEntry { At = Start, ActorKind = AuditActorKind.Anonymous, ActorName = "", Action = AuditActions.LoginFailure };

        var id = await Audit.AppendAsync(entry, Ct);

        Assert.Equal(entry with { Id = id }, Assert.Single((await Audit.QueryAsync(new AuditQuery(), Ct)).Items));
    }

    [Fact]
    public async Task AuditAppend_RepositoryWithoutProject_RecordsTheRepositorysProject()
    {
        await Audit.AppendAsync(Entry() with { Repository = RepositoryName.Parse("shop/team/app") }, Ct);

        var found = Assert.Single((await Audit.QueryAsync(new AuditQuery(Project: P("shop")), Ct)).Items);
        Assert.Equal(P("shop"), found.Project);
    }

    [Fact]
    public async Task AuditAppend_ProjectOtherThanTheRepositorys_Throws()
    {
        await Assert.ThrowsAsync<ArgumentException>(() =>
            Audit.AppendAsync(Entry() with { Project = P("tools"), Repository = RepositoryName.Parse("shop/app") }, Ct));
        Assert.Empty((await Audit.QueryAsync(new AuditQuery(), Ct)).Items);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("{} {}")]
    public async Task AuditAppend_DetailThatIsNotOneJsonDocument_Throws(string detail)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Audit.AppendAsync(Entry() with { Detail = detail }, Ct));
    }

    [Fact]
    public async Task AuditAppend_EmptyOrOverlongAction_Throws()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Audit.AppendAsync(Entry(""), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Audit.AppendAsync(Entry(new string('a', AuditEntry.MaxActionLength + 1)), Ct));
        await Audit.AppendAsync(Entry(new string('a', AuditEntry.MaxActionLength)), Ct);
    }

    [Fact]
    public async Task AuditAppend_Ids_IncreaseAndAreNotReusedAfterPruning()
    {
        var first = await Audit.AppendAsync(Entry(), Ct);
        var second = await Audit.AppendAsync(Entry(), Ct);
        Assert.True(second > first);

        Assert.Equal(2, await Audit.DeleteBeforeAsync(Start.AddDays(1), 10, Ct));
        var third = await Audit.AppendAsync(Entry(), Ct);

        Assert.True(third > second);
    }

    [Fact]
    public async Task AuditQuery_SeveralPages_NewestIdFirstAndComplete()
    {
        var ids = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            // Times run backwards: the order is by id (append order), not by time.
            ids.Add(await Audit.AppendAsync(Entry(at: Start.AddMinutes(-i)), Ct));
        }

        var all = await ReadAllPagesAsync<AuditEntry>(last => Audit.QueryAsync(new AuditQuery(BeforeId: last?.Id, Limit: 4), Ct), 4);

        Assert.Equal(Enumerable.Reverse(ids), all.Select(e => e.Id));
    }

    [Fact]
    public async Task AuditQuery_LimitBelowOne_Throws()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Audit.QueryAsync(new AuditQuery(Limit: 0), Ct));
    }

    [Fact]
    public async Task AuditQuery_LimitAboveTheMaximum_IsCut()
    {
        await Task.WhenAll(Enumerable.Range(0, PageSize.Max + 1).Select(_ => Audit.AppendAsync(Entry(), Ct)));

        var page = await Audit.QueryAsync(new AuditQuery(Limit: PageSize.Max * 5), Ct);

        Assert.Equal(PageSize.Max, page.Items.Count);
        Assert.True(page.HasMore);
    }

    [Theory]
    [InlineData(null, null, null, null, null, null)]
    [InlineData("shop", null, null, null, null, null)]
    [InlineData("tools", null, null, null, null, null)]
    [InlineData("nowhere", null, null, null, null, null)]
    [InlineData(null, "user", null, null, null, null)]
    [InlineData(null, "anonymous", "", null, null, null)]
    [InlineData(null, null, "ALICE", null, null, null)]
    [InlineData(null, null, "bob", null, null, null)]
    [InlineData(null, null, null, "pull", null, null)]
    [InlineData(null, null, null, "login.failure", null, null)]
    [InlineData(null, null, null, null, 10, null)]
    [InlineData(null, null, null, null, null, 20)]
    [InlineData(null, null, null, null, 10, 20)]
    [InlineData(null, null, null, null, 20, 10)]
    [InlineData("shop", null, null, "pull", null, null)]
    [InlineData("tools", "robot", "shop+ci", null, null, null)]
    [InlineData(null, "user", "Bob", "push", 5, 35)]
    [InlineData("shop", "user", "alice", null, 0, 30)]
    [InlineData("shop", "system", "gc", "delete", 0, 40)]
    public async Task AuditQuery_FilterCombinations_MatchEveryFilterNewestFirst(
        string? project, string? actorKind, string? actorName, string? action, int? fromMinute, int? untilMinute)
    {
        var entries = await AppendAuditFixtureAsync();
        var query = new AuditQuery(
            project is null ? null : P(project),
            actorKind is null ? null : Enum.Parse<AuditActorKind>(actorKind, ignoreCase: true),
            actorName,
            action,
            fromMinute is null ? null : Start.AddMinutes(fromMinute.Value),
            untilMinute is null ? null : Start.AddMinutes(untilMinute.Value),
            Limit: 4);

        var all = await ReadAllPagesAsync<AuditEntry>(last => Audit.QueryAsync(query with { BeforeId = last?.Id }, Ct), 4);

        var expected = entries
            .Where(e => query.Project is not { } p || e.Project == p)
            .Where(e => query.ActorKind is not { } k || e.ActorKind == k)
            .Where(e => query.ActorName is not { } n || string.Equals(e.ActorName, n, StringComparison.OrdinalIgnoreCase))
            .Where(e => query.Action is not { } a || e.Action == a)
            .Where(e => query.From is not { } f || e.At >= f)
            .Where(e => query.Until is not { } u || e.At < u)
            .OrderByDescending(e => e.Id)
            .ToList();
        Assert.Equal(expected, all);
        if (project != "nowhere" && !(fromMinute > untilMinute))
        {
            Assert.NotEmpty(expected);
        }
    }

    [Fact]
    public async Task AuditQuery_FixtureFiltersAreNotAllTrivial()
    {
        var entries = await AppendAuditFixtureAsync();

        // Guards the theory above against a fixture where every filter matches everything or nothing.
        Assert.Equal(40, entries.Count);
        Assert.InRange(entries.Count(e => e.Project == P("shop")), 5, 30);
        Assert.InRange(entries.Count(e => e.Project == P("shop") && e.Action == AuditActions.Pull), 1, 10);
        Assert.InRange(entries.Count(e => e.ActorName == "Bob" && e.Action == AuditActions.Push && e.At >= Start.AddMinutes(5) && e.At < Start.AddMinutes(35)), 1, 10);
        Assert.InRange(entries.Count(e => e.Project == P("shop") && e.ActorKind == AuditActorKind.System && e.Action == AuditActions.Delete), 1, 10);
        Assert.InRange(entries.Count(e => e.At >= Start.AddMinutes(10) && e.At < Start.AddMinutes(20)), 5, 15);
    }

    [Fact]
    public async Task AuditDeleteBefore_DeletesOldestInBatchesAndKeepsNewer()
    {
        for (var i = 0; i < 10; i++)
        {
            await Audit.AppendAsync(Entry(at: Start.AddMinutes(i)), Ct);
        }

        Assert.Equal(3, await Audit.DeleteBeforeAsync(Start.AddMinutes(5), 3, Ct));
        Assert.Equal(2, await Audit.DeleteBeforeAsync(Start.AddMinutes(5), 3, Ct));
        Assert.Equal(0, await Audit.DeleteBeforeAsync(Start.AddMinutes(5), 3, Ct));

        var left = (await Audit.QueryAsync(new AuditQuery(), Ct)).Items;
        Assert.Equal(Enumerable.Range(5, 5).Reverse().Select(i => Start.AddMinutes(i)), left.Select(e => e.At));
    }

    /// <summary>40 entries mixing actors, actions, projects and times (time order differs from append order).</summary>
    private async Task<List<AuditEntry>> AppendAuditFixtureAsync()
    {
        (AuditActorKind Kind, string Name)[] actors =
            [(AuditActorKind.User, "alice"), (AuditActorKind.User, "Bob"), (AuditActorKind.Robot, "shop+ci"), (AuditActorKind.Anonymous, ""), (AuditActorKind.System, "gc")];
        string[] actions = [AuditActions.Push, AuditActions.Pull, AuditActions.LoginFailure, AuditActions.Delete, AuditActions.TokenCreate, AuditActions.TokenRevoke, AuditActions.Pull];
        var stored = new List<AuditEntry>();
        for (var i = 0; i < 40; i++)
        {
            var entry = new AuditEntry
            {
                At = Start.AddMinutes(i * 7 % 40),
                ActorKind = actors[i % actors.Length].Kind,
                ActorName = actors[i % actors.Length].Name,
                Action = actions[i % actions.Length],
                Project = (i % 4) switch { 0 or 2 => P("shop"), _ => null },
                Repository = (i % 4) switch { 0 => RepositoryName.Parse("shop/app"), 1 => RepositoryName.Parse("tools/x"), _ => null },
                Detail = i % 3 == 0 ? "{\"n\":" + i.ToString(CultureInfo.InvariantCulture) + "}" : null,
                ClientAddress = IPAddress.Parse(i % 2 == 0 ? "192.0.2." + i.ToString(CultureInfo.InvariantCulture) : "2001:db8::" + i.ToString("x", CultureInfo.InvariantCulture)),
            };
            var id = await Audit.AppendAsync(entry, Ct);
            stored.Add(entry with { Id = id, Project = entry.Project ?? (entry.Repository is { } r ? ProjectName.Of(r) : null) });
        }

        return stored;
    }
}
