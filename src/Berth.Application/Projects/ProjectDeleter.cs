using Berth.Application.Access;
using Berth.Core.Access;
using Berth.Core.Registry;

namespace Berth.Application.Projects;

/// <summary>
/// Deletes a project with everything in it (<see cref="IProjectStore.DeleteAsync"/>: one transaction), then makes
/// this node forget whatever could still serve or record the old content: the project and its IP allow list
/// (<see cref="ProjectDirectory"/>, <see cref="IpAllowRules"/>), cached manifests of its repositories
/// (<see cref="ManifestCache"/>), pending pull times (<see cref="PullRecorder"/>), and the data of its upload sessions.
/// Other nodes (later) forget within the caches' lifetimes (5 s).
/// </summary>
public sealed class ProjectDeleter(
    IProjectStore projects,
    ProjectDirectory directory,
    IpAllowRules ipAllow,
    ManifestCache manifests,
    PullRecorder pulls,
    UploadService uploads)
{
    public async Task<ProjectDeleteResult> DeleteAsync(ProjectName name, bool force, CancellationToken cancellationToken)
    {
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

        return result;
    }
}
