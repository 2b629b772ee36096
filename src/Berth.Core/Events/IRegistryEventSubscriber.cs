namespace Berth.Core.Events;

/// <summary>
/// Receives every <see cref="RegistryEvent"/>, in process, in the order one flow raised them. Called on the request
/// path (pulls are the hot path): do something cheap or queue the work and return at once. The returned task is
/// awaited before the request goes on (so a bounded queue can push back rather than drop); an exception is logged
/// and fails neither the request nor the other subscribers. Register with
/// <see cref="RegistryEventServiceCollectionExtensions.AddRegistryEventSubscriber{T}"/>.
/// </summary>
public interface IRegistryEventSubscriber
{
    ValueTask HandleAsync(RegistryEvent registryEvent);
}

/// <summary>Hands an event to every registered <see cref="IRegistryEventSubscriber"/>. Raised by the registry services after a commit.</summary>
public interface IRegistryEventPublisher
{
    /// <summary>Delivers <paramref name="registryEvent"/> to each subscriber in turn; never throws for a subscriber's failure.</summary>
    ValueTask PublishAsync(RegistryEvent registryEvent);
}
