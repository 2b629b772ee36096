using System.Net;
using Berth.Core.Events;

namespace Berth.Core.Tests.Events;

public sealed class EventActorContextTests
{
    [Fact]
    public void Current_NoScope_IsTheSystem()
    {
        Assert.Equal(EventActorKind.System, EventActorContext.Current.Kind);
        Assert.Equal("berth", EventActorContext.Current.Name);
    }

    [Fact]
    public async Task Begin_Nested_InnermostWinsAndDisposeRestores()
    {
        var user = new EventActor(EventActorKind.User, "dev", IPAddress.Loopback);
        using (EventActorContext.Begin(user))
        {
            await Task.Yield();
            Assert.Same(user, EventActorContext.Current);
            using (EventActorContext.Begin(EventActor.System("gc")))
            {
                Assert.Equal("gc", EventActorContext.Current.Name);
            }

            Assert.Same(user, EventActorContext.Current);
        }

        Assert.Same(EventActor.Berth, EventActorContext.Current);
    }

    [Fact]
    public void Begin_LazyResolver_IsAskedWhenReadAndNullMeansTheSystem()
    {
        EventActor? known = null;
        using (EventActorContext.Begin(() => known))
        {
            Assert.Same(EventActor.Berth, EventActorContext.Current);
            known = new EventActor(EventActorKind.Robot, "shop+ci", null);
            Assert.Same(known, EventActorContext.Current);
        }
    }

    [Fact]
    public async Task Begin_ScopeInAnAwaitedHelper_DoesNotLeakToTheCaller()
    {
        await BeginInsideAsync();

        Assert.Same(EventActor.Berth, EventActorContext.Current);
    }

    [Fact]
    public async Task Begin_ConcurrentFlows_EachSeesItsOwnActor()
    {
        async Task<string> RunAsync(string name)
        {
            using var scope = EventActorContext.Begin(new EventActor(EventActorKind.User, name, null));
            await Task.Delay(10);
            return EventActorContext.Current.Name;
        }

        var names = await Task.WhenAll(RunAsync("a"), RunAsync("b"), RunAsync("c"));

        Assert.Equal(["a", "b", "c"], names);
    }

    private static async Task BeginInsideAsync()
    {
        EventActorContext.Begin(EventActor.Anonymous(null)); // never disposed: must still not flow out
        await Task.Yield();
    }
}
