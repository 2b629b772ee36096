using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Berth.Core.Events;

public static class RegistryEventServiceCollectionExtensions
{
    /// <summary>Registers the in-process publisher (once; <c>AddBerthCore</c> does it).</summary>
    public static IServiceCollection AddRegistryEvents(this IServiceCollection services)
    {
        services.TryAddSingleton<IRegistryEventPublisher, RegistryEventPublisher>();
        return services;
    }

    /// <summary>Adds <typeparamref name="T"/> (a singleton) to the subscribers of every registry event; adding the same type twice adds it once.</summary>
    public static IServiceCollection AddRegistryEventSubscriber<T>(this IServiceCollection services)
        where T : class, IRegistryEventSubscriber
    {
        services.AddRegistryEvents();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRegistryEventSubscriber, T>());
        return services;
    }
}
