using Berth.Core.Events;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Application.Repositories;

/// <summary>
/// Deletes a whole repository (<see cref="IRepositoryBrowser.DeleteRepositoryAsync"/>: one transaction), then makes this
/// node forget its cached manifests (<see cref="ManifestCache"/>, so a deleted tag is never served here; other nodes
/// within the cache's 5 s lifetime) and pending pull times (<see cref="PullRecorder"/>), discards the data of its upload sessions and raises <see cref="RepositoryDeleted"/>
/// (audited as <c>delete</c>). Blobs stay for garbage collection.
/// </summary>
public sealed class RepositoryDeleter(
    IRepositoryBrowser browser,
    ManifestCache manifests,
    PullRecorder pulls,
    UploadService uploads,
    IRegistryEventPublisher events,
    TimeProvider clock)
{
    public async Task<RepositoryDeleteResult> DeleteAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var result = await browser.DeleteRepositoryAsync(repository, cancellationToken);
        manifests.Invalidate(repository);
        if (result.Status == DeleteResult.Deleted)
        {
            pulls.Forget(repository);

            // After the commit: the sessions are gone, so nothing can complete them while their files go.
            await uploads.DiscardAsync(result.Uploads ?? [], CancellationToken.None);
            await events.PublishAsync(new RepositoryDeleted(repository, clock.GetUtcNow(), EventActorContext.Current, result.Manifests, result.Tags));
        }

        return result;
    }
}
