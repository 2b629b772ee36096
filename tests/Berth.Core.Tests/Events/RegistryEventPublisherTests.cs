using Berth.Core.Events;
using Berth.Oci;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Core.Tests.Events;

public sealed class RegistryEventPublisherTests
{
    private static readonly RegistryEvent Pushed = new TagDeleted(RepositoryName.Parse("shop/api"), DateTimeOffset.UnixEpoch, EventActor.Berth, Tag.Parse("v1"));

    [Fact]
    public async Task PublishAsync_SeveralSubscribers_EachGetsTheEventOnceInRegistrationOrder()
    {
        var seen = new List<string>();
        await using var services = Build(s => s
            .AddSingleton(seen)
            .AddRegistryEventSubscriber<First>()
            .AddRegistryEventSubscriber<Second>()
            .AddRegistryEventSubscriber<First>()); // a second registration of the same type adds nothing

        await services.GetRequiredService<IRegistryEventPublisher>().PublishAsync(Pushed);

        Assert.Equal(["first tag", "second tag"], seen);
    }

    [Fact]
    public async Task PublishAsync_SubscriberThrowsSynchronously_OthersStillRunAndNothingIsThrown()
    {
        var seen = new List<string>();
        var logs = new ListLogger();
        await using var services = Build(s => s
            .AddSingleton(seen)
            .AddSingleton<ILoggerProvider>(logs)
            .AddRegistryEventSubscriber<Throwing>()
            .AddRegistryEventSubscriber<Second>());

        await services.GetRequiredService<IRegistryEventPublisher>().PublishAsync(Pushed);

        Assert.Equal(["second tag"], seen);
        var failure = Assert.Single(logs.Entries, e => e.Id == 1501);
        Assert.Equal(LogLevel.Error, failure.Level);
        Assert.Contains(nameof(Throwing), failure.Message);
    }

    [Fact]
    public async Task PublishAsync_SubscriberFaultsAsynchronously_LaterSubscribersStillRunAndNothingIsThrown()
    {
        var seen = new List<string>();
        var logs = new ListLogger();
        await using var services = Build(s => s
            .AddSingleton(seen)
            .AddSingleton<ILoggerProvider>(logs)
            .AddRegistryEventSubscriber<Slow>()
            .AddRegistryEventSubscriber<Faulting>()
            .AddRegistryEventSubscriber<Second>());

        await services.GetRequiredService<IRegistryEventPublisher>().PublishAsync(Pushed);

        Assert.Equal(["slow tag", "second tag"], seen);
        Assert.Single(logs.Entries, e => e.Id == 1501 && e.Message.Contains(nameof(Faulting), StringComparison.Ordinal));
    }

    [Fact]
    public async Task PublishAsync_SlowSubscriber_IsAwaitedBeforePublishReturns()
    {
        var seen = new List<string>();
        await using var services = Build(s => s.AddSingleton(seen).AddRegistryEventSubscriber<Slow>().AddRegistryEventSubscriber<Second>());

        await services.GetRequiredService<IRegistryEventPublisher>().PublishAsync(Pushed);

        Assert.Equal(["slow tag", "second tag"], seen);
    }

    [Fact]
    public async Task PublishAsync_NoSubscribers_CompletesSynchronously()
    {
        await using var services = Build(_ => { });

        var pending = services.GetRequiredService<IRegistryEventPublisher>().PublishAsync(Pushed);

        Assert.True(pending.IsCompletedSuccessfully);
        await pending;
    }

    [Fact]
    public async Task PublishAsync_SubscriberDependsOnAServiceThatPublishes_ResolvesWithoutACycle()
    {
        var seen = new List<string>();
        await using var services = Build(s => s.AddSingleton(seen).AddSingleton<Raiser>().AddRegistryEventSubscriber<NeedsRaiser>());

        await services.GetRequiredService<Raiser>().RaiseAsync();

        Assert.Equal(["needs-raiser tag"], seen);
    }

    private static ServiceProvider Build(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection().AddLogging().AddRegistryEvents();
        configure(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    private static string Describe(RegistryEvent e) => e is TagDeleted ? "tag" : e.GetType().Name;

    private sealed class First(List<string> seen) : IRegistryEventSubscriber
    {
        public ValueTask HandleAsync(RegistryEvent registryEvent)
        {
            seen.Add("first " + Describe(registryEvent));
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Second(List<string> seen) : IRegistryEventSubscriber
    {
        public ValueTask HandleAsync(RegistryEvent registryEvent)
        {
            seen.Add("second " + Describe(registryEvent));
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Slow(List<string> seen) : IRegistryEventSubscriber
    {
        public async ValueTask HandleAsync(RegistryEvent registryEvent)
        {
            await Task.Delay(20);
            seen.Add("slow " + Describe(registryEvent));
        }
    }

    private sealed class Throwing : IRegistryEventSubscriber
    {
        public ValueTask HandleAsync(RegistryEvent registryEvent) => throw new InvalidOperationException("subscriber bug");
    }

    private sealed class Faulting : IRegistryEventSubscriber
    {
        public async ValueTask HandleAsync(RegistryEvent registryEvent)
        {
            await Task.Yield();
            throw new InvalidOperationException("subscriber bug");
        }
    }

    private sealed class Raiser(IRegistryEventPublisher events)
    {
        public ValueTask RaiseAsync() => events.PublishAsync(Pushed);
    }

    private sealed class NeedsRaiser(Raiser raiser, List<string> seen) : IRegistryEventSubscriber
    {
        public ValueTask HandleAsync(RegistryEvent registryEvent)
        {
            Assert.NotNull(raiser);
            seen.Add("needs-raiser " + Describe(registryEvent));
            return ValueTask.CompletedTask;
        }
    }
}
