using Berth.Oci;

namespace Berth.Core.Events;

/// <summary>
/// Something that happened in a repository, raised by the registry services once it is committed (never before,
/// never for a write that failed). <see cref="At"/> comes from the injected clock; <see cref="Actor"/> from
/// <see cref="EventActorContext"/>.
/// </summary>
public abstract record RegistryEvent(RepositoryName Repository, DateTimeOffset At, EventActor Actor);

/// <summary>
/// A manifest was stored (also when the same digest was stored before: each push is one event).
/// <see cref="Tag"/> is the tag it was pushed under, null for a push by digest; a tag that changed target is also
/// reported by <see cref="TagMoved"/>.
/// </summary>
public sealed record ManifestPushed(RepositoryName Repository, DateTimeOffset At, EventActor Actor, Digest Digest, string MediaType, Tag? Tag, long Size)
    : RegistryEvent(Repository, At, Actor);

/// <summary>A manifest was deleted by digest; the tags that pointed at it went with it.</summary>
public sealed record ManifestDeleted(RepositoryName Repository, DateTimeOffset At, EventActor Actor, Digest Digest)
    : RegistryEvent(Repository, At, Actor);

/// <summary>A manifest was fetched (a GET, not a HEAD); <see cref="Tag"/> is null for a pull by digest. Raised on the hot path.</summary>
public sealed record ManifestPulled(RepositoryName Repository, DateTimeOffset At, EventActor Actor, Digest Digest, string MediaType, Tag? Tag)
    : RegistryEvent(Repository, At, Actor);

/// <summary>A tag now points at <see cref="Digest"/>; <see cref="Previous"/> is what it pointed at, null when the tag is new. Not raised when a push leaves the tag where it was.</summary>
public sealed record TagMoved(RepositoryName Repository, DateTimeOffset At, EventActor Actor, Tag Tag, Digest? Previous, Digest Digest)
    : RegistryEvent(Repository, At, Actor);

/// <summary>A tag was deleted; the manifest it pointed at stays, reachable by digest.</summary>
public sealed record TagDeleted(RepositoryName Repository, DateTimeOffset At, EventActor Actor, Tag Tag)
    : RegistryEvent(Repository, At, Actor);

/// <summary>An upload finished: the blob is stored and linked to the repository. <see cref="Deduplicated"/>: identical bytes were already stored.</summary>
public sealed record BlobCommitted(RepositoryName Repository, DateTimeOffset At, EventActor Actor, Digest Digest, long Size, bool Deduplicated)
    : RegistryEvent(Repository, At, Actor);

/// <summary>A blob linked in <see cref="From"/> was linked to the repository without an upload (cross-repository mount).</summary>
public sealed record BlobMounted(RepositoryName Repository, DateTimeOffset At, EventActor Actor, Digest Digest, long Size, RepositoryName From)
    : RegistryEvent(Repository, At, Actor);

/// <summary>A blob was unlinked from the repository; its bytes stay until garbage collection finds them unreferenced.</summary>
public sealed record BlobDeleted(RepositoryName Repository, DateTimeOffset At, EventActor Actor, Digest Digest)
    : RegistryEvent(Repository, At, Actor);

/// <summary>A whole repository was deleted with its <see cref="Manifests"/> manifests and <see cref="Tags"/> tags; its blobs stay for garbage collection.</summary>
public sealed record RepositoryDeleted(RepositoryName Repository, DateTimeOffset At, EventActor Actor, int Manifests, int Tags)
    : RegistryEvent(Repository, At, Actor);
