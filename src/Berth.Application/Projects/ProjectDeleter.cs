using Berth.Application.Access;
using Berth.Core.Access;
using Berth.Core.Immutability;
using Berth.Core.Lifecycle;
using Berth.Core.Registry;

namespace Berth.Application.Projects;

/// <summary>
/// Deletes a project with everything in it (<see cref="IProjectStore.DeleteAsync"/>: one transaction), then makes
/// this node forget whatever could still serve or record the old content: the project and its IP allow list
/// (<see cref="ProjectDirectory"/>, <see cref="IpAllowRules"/>), cached manifests of its repositories
/// (<see cref="ManifestCache"/>), pending pull times (<see cref="PullRecorder"/>), and the data of its upload sessions.
/// Other nodes (later) forget within the caches' lifetimes (5 s). A forced delete of a project holding an immutable tag
/// (<see cref="ImmutableTags"/>) is refused unless <c>forceImmutable</c> is set (the caller checks that only a server
/// administrator sets it). The project's immutability rules go with it.
/// </summary>
public sealed class ProjectDeleter(
    IProjectStore projects,
    ProjectDirectory directory,
    IpAllowRules ipAllow,
    ManifestCache manifests,
    PullRecorder pulls,
    UploadService uploads,
    ImmutableTags immutableTags)
{
    /// <summary>
    /// Deletes the project. The immutable tag found (only looked for when <paramref name="force"/> would delete
    /// repositories) is returned with the result: when <paramref name="forceImmutable"/> is false nothing was deleted
    /// (<see cref="ProjectDeletion.Refused"/>).
    /// </summary>
    public async Task<ProjectDeletion> DeleteAsync(ProjectName name, bool force, bool forceImmutable, CancellationToken cancellationToken)
    {
        var immutable = force ? await immutableTags.FindInProjectAsync(name, cancellationToken) : null;
        if (immutable is not null && !forceImmutable)
        {
            return new ProjectDeletion(null, immutable, Refused: true);
        }

        var result = await projects.DeleteAsync(name, force, cancellationToken);
        directory.Invalidate(name.Value);
        ipAllow.Invalidate(name.Value);
        if (result.Deleted is { } deleted)
        {
            foreach (var repository in deleted.Repositories)
            {
                manifests.Invalidate(repository);
            }

            pulls.Forget(name.Value);

            // After the commit: the sessions are gone, so nothing can complete them while their files go.
            await uploads.DiscardAsync(deleted.Uploads, CancellationToken.None);
        }

        return new ProjectDeletion(result, immutable, Refused: false);
    }
}

/// <summary>Outcome of <see cref="ProjectDeleter.DeleteAsync"/>: the store's result (null when refused), and the immutable tag found.</summary>
public sealed record ProjectDeletion(ProjectDeleteResult? Result, ImmutableTagRefusal? Immutable, bool Refused);
