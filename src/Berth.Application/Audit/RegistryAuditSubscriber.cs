using Berth.Application.Access;
using Berth.Core.Access;
using Berth.Core.Events;

namespace Berth.Application.Audit;

/// <summary>
/// Writes the registry's pushes, pulls (GET of a manifest) and deletes (manifest, tag, blob) to the audit log, whoever
/// caused them: a request over <c>/v2</c> or a background job (as the system). Actions and details are those the
/// handlers wrote before events existed: <c>push</c> and <c>pull</c> with <c>{reference, digest}</c>, <c>delete</c>
/// with <c>{reference}</c> for a manifest or tag, <c>{blob}</c> for a blob and <c>{repository, manifests, tags}</c> for a whole repository. Tag moves, finished uploads and mounts
/// are not audited (they were not before). Queues the entry on <see cref="AuditRecorder"/> (cheap; it waits only when
/// that queue is full).
/// </summary>
public sealed class RegistryAuditSubscriber : IRegistryEventSubscriber
{
    private readonly AuditRecorder _recorder;

    public RegistryAuditSubscriber(AuditRecorder recorder) => _recorder = recorder;

    public ValueTask HandleAsync(RegistryEvent registryEvent)
    {
        ArgumentNullException.ThrowIfNull(registryEvent);
        return registryEvent switch
        {
            ManifestPushed e => RecordAsync(e, AuditActions.Push, new { reference = e.Tag?.ToString() ?? e.Digest.ToString(), digest = e.Digest.ToString() }),
            ManifestPulled e => RecordAsync(e, AuditActions.Pull, new { reference = e.Tag?.ToString() ?? e.Digest.ToString(), digest = e.Digest.ToString() }),
            ManifestDeleted e => RecordAsync(e, AuditActions.Delete, new { reference = e.Digest.ToString() }),
            TagDeleted e => RecordAsync(e, AuditActions.Delete, new { reference = e.Tag.ToString() }),
            BlobDeleted e => RecordAsync(e, AuditActions.Delete, new { blob = e.Digest.ToString() }),
            RepositoryDeleted e => RecordAsync(e, AuditActions.Delete, new { repository = e.Repository.Value, manifests = e.Manifests, tags = e.Tags }),
            _ => ValueTask.CompletedTask,
        };
    }

    private ValueTask RecordAsync(RegistryEvent e, string action, object detail) =>
        _recorder.RecordAsync(new Caller(null, e.Actor.Kind.ToAuditActorKind(), e.Actor.Name, e.Actor.ClientAddress), action, repository: e.Repository, detail: detail);
}
