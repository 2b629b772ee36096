using Berth.Core.Events;
using Berth.Core.Immutability;
using Berth.Core.Lifecycle;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Application.Repositories;

/// <summary>
/// Deletes a whole repository (<see cref="IRepositoryBrowser.DeleteRepositoryAsync"/>: one transaction), then makes this
/// node forget its cached manifests (<see cref="ManifestCache"/>, so a deleted tag is never served here; other nodes
/// within the cache's 5 s lifetime) and pending pull times (<see cref="PullRecorder"/>), discards the data of its upload sessions and raises <see cref="RepositoryDeleted"/>
/// (audited as <c>delete</c>). Blobs stay for garbage collection. A repository holding an immutable tag
/// (<see cref="ImmutableTags"/>) is not deleted unless <c>forceImmutable</c> is set (the caller checks that only a
/// server administrator sets it).
/// </summary>
public sealed class RepositoryDeleter(
    IRepositoryBrowser browser,
    ManifestCache manifests,
    PullRecorder pulls,
    UploadService uploads,
    IRegistryEventPublisher events,
    ImmutableTags immutableTags,
    TimeProvider clock)
{
    /// <summary>
    /// Deletes the repository. <see cref="RepositoryDeletion.Immutable"/> names the first immutable tag found: with
    /// <paramref name="forceImmutable"/> false the repository was then left alone (<see cref="DeleteResult.NotFound"/>
    /// is not what happened: check <see cref="RepositoryDeletion.Refused"/>); with it true the tag went with the rest.
    /// </summary>
    public async Task<RepositoryDeletion> DeleteAsync(RepositoryName repository, bool forceImmutable, CancellationToken cancellationToken)
    {
        var immutable = await immutableTags.FindInRepositoryAsync(repository, cancellationToken);
        if (immutable is not null && !forceImmutable)
        {
            return new RepositoryDeletion(new RepositoryDeleteResult(DeleteResult.NotFound), immutable, Refused: true);
        }

        var result = await browser.DeleteRepositoryAsync(repository, cancellationToken);
        manifests.Invalidate(repository);
        if (result.Status == DeleteResult.Deleted)
        {
            pulls.Forget(repository);

            // After the commit: the sessions are gone, so nothing can complete them while their files go.
            await uploads.DiscardAsync(result.Uploads ?? [], CancellationToken.None);
            await events.PublishAsync(new RepositoryDeleted(repository, clock.GetUtcNow(), EventActorContext.Current, result.Manifests, result.Tags));
        }

        return new RepositoryDeletion(result, immutable, Refused: false);
    }
}

/// <summary>Outcome of <see cref="RepositoryDeleter.DeleteAsync"/>: the store's result, and the immutable tag found (refused, or overridden).</summary>
public sealed record RepositoryDeletion(RepositoryDeleteResult Result, ImmutableTagRefusal? Immutable, bool Refused);
