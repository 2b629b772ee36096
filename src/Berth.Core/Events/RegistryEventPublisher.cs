using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Core.Events;

/// <summary>
/// Dispatches in process to every registered <see cref="IRegistryEventSubscriber"/>, one after the other. A subscriber
/// that completes synchronously (the expected case: cheap or queued) costs no allocation; one that throws or faults is
/// logged and the others still run. Subscribers are resolved on the first event, not in the constructor, so a
/// subscriber may depend on the services that raise events without a dependency cycle.
/// </summary>
public sealed partial class RegistryEventPublisher : IRegistryEventPublisher
{
    private readonly IServiceProvider _services;
    private readonly ILogger<RegistryEventPublisher> _logger;
    private IRegistryEventSubscriber[]? _subscribers;

    public RegistryEventPublisher(IServiceProvider services, ILogger<RegistryEventPublisher> logger)
    {
        _services = services;
        _logger = logger;
    }

    public ValueTask PublishAsync(RegistryEvent registryEvent)
    {
        ArgumentNullException.ThrowIfNull(registryEvent);
        var subscribers = _subscribers ??= [.. _services.GetServices<IRegistryEventSubscriber>()];
        for (var i = 0; i < subscribers.Length; i++)
        {
            var pending = Start(subscribers[i], registryEvent);
            if (!pending.IsCompletedSuccessfully)
            {
                return ContinueAsync(pending, subscribers, i, registryEvent);
            }
        }

        return ValueTask.CompletedTask;
    }

    private async ValueTask ContinueAsync(ValueTask pending, IRegistryEventSubscriber[] subscribers, int index, RegistryEvent registryEvent)
    {
        for (var i = index; i < subscribers.Length; i++)
        {
            if (i > index)
            {
                pending = Start(subscribers[i], registryEvent);
            }

            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogSubscriberFailed(_logger, ex, subscribers[i].GetType().Name, registryEvent.GetType().Name, registryEvent.Repository.Value);
            }
        }
    }

    private ValueTask Start(IRegistryEventSubscriber subscriber, RegistryEvent registryEvent)
    {
        try
        {
            return subscriber.HandleAsync(registryEvent);
        }
        catch (Exception ex)
        {
            LogSubscriberFailed(_logger, ex, subscriber.GetType().Name, registryEvent.GetType().Name, registryEvent.Repository.Value);
            return ValueTask.CompletedTask;
        }
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Error, Message = "Event subscriber {Subscriber} failed on {Event} in {Repository}; the request and the other subscribers went on")]
    private static partial void LogSubscriberFailed(ILogger logger, Exception exception, string subscriber, string @event, string repository);
}

/// <summary>A publisher with no subscribers (for services built without DI, as some tests do).</summary>
public sealed class NoRegistryEvents : IRegistryEventPublisher
{
    public static NoRegistryEvents Instance { get; } = new();

    private NoRegistryEvents()
    {
    }

    public ValueTask PublishAsync(RegistryEvent registryEvent) => ValueTask.CompletedTask;
}
