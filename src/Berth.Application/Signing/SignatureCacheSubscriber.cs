using Berth.Core.Events;

namespace Berth.Application.Signing;

/// <summary>
/// Drops this node's signed-only evaluations of a repository when one of its manifests or tags is pushed, moved or
/// deleted (a signature or an index may have come or gone), or the repository is deleted, so the next pull there is
/// decided afresh. Other nodes see the change within <see cref="SignaturePolicyGate.CacheLifetime"/>.
/// </summary>
public sealed class SignatureCacheSubscriber(SignaturePolicyGate gate) : IRegistryEventSubscriber
{
    public ValueTask HandleAsync(RegistryEvent registryEvent)
    {
        ArgumentNullException.ThrowIfNull(registryEvent);
        if (registryEvent is ManifestPushed or ManifestDeleted or TagMoved or TagDeleted or RepositoryDeleted)
        {
            gate.InvalidateRepository(registryEvent.Repository);
        }

        return ValueTask.CompletedTask;
    }
}
