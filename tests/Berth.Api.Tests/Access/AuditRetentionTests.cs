using Berth.Api.Access;
using Berth.Application.Audit;
using Berth.Testing;
using Berth.Core.Access;

namespace Berth.Api.Tests.Access;

/// <summary>Audit entries older than the retention are removed; newer ones stay; a retention of zero keeps all.</summary>
public sealed class AuditRetentionTests
{
    [Fact]
    public async Task Prune_RemovesOnlyEntriesOlderThanTheRetention()
    {
        using var app = new BerthApplication(new Dictionary<string, string?> { ["Berth:AuditRetention"] = "30.00:00:00" });
        var setup = new AccessSetup(app);
        var log = (IAuditLog)app.Services.GetService(typeof(IAuditLog))!;
        var pruner = (AuditPruner)app.Services.GetService(typeof(AuditPruner))!;

        // The hosted loop's first run waits for a minute of the test's clock, which does not move here: only the call
        // below prunes (when the loop ran at once, it sometimes ran after these entries were added and took "old").
        await log.AppendAsync(Entry(app.Clock.GetUtcNow().AddDays(-31), "old"), CancellationToken.None);
        await log.AppendAsync(Entry(app.Clock.GetUtcNow().AddDays(-29), "recent"), CancellationToken.None);

        var removed = await pruner.PruneAsync(CancellationToken.None);

        Assert.Equal(1, removed);
        var left = await setup.AuditAsync();
        Assert.DoesNotContain(left, e => e.ActorName == "old");
        Assert.Contains(left, e => e.ActorName == "recent");
    }

    [Fact]
    public async Task Prune_ZeroRetention_KeepsEverything()
    {
        using var app = new BerthApplication(new Dictionary<string, string?> { ["Berth:AuditRetention"] = "00:00:00" });
        var log = (IAuditLog)app.Services.GetService(typeof(IAuditLog))!;
        await log.AppendAsync(Entry(app.Clock.GetUtcNow().AddYears(-5), "ancient"), CancellationToken.None);

        Assert.Equal(0, await ((AuditPruner)app.Services.GetService(typeof(AuditPruner))!).PruneAsync(CancellationToken.None));
        Assert.Contains(await new AccessSetup(app).AuditAsync(), e => e.ActorName == "ancient");
    }

    private static AuditEntry Entry(DateTimeOffset at, string actor) => new()
    {
        At = at,
        ActorKind = AuditActorKind.User,
        ActorName = actor,
        Action = AuditActions.Pull,
    };
}
