using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Core.Access;

namespace Berth.Application.Projects;

/// <summary>Creates a project on an administrator's first push into it, when the server allows that (<c>--auto-create-projects</c>).</summary>
public sealed class ProjectProvisioner
{
    private readonly IProjectStore _store;
    private readonly ProjectDirectory _directory;
    private readonly AuditRecorder _audit;

    public ProjectProvisioner(IProjectStore store, ProjectDirectory directory, AuditRecorder audit)
    {
        _store = store;
        _directory = directory;
        _audit = audit;
    }

    /// <summary>Creates the project (private, described as created by a push) unless it exists; returns it.</summary>
    public async Task<Project?> CreateForPushAsync(string name, Caller caller, CancellationToken cancellationToken)
    {
        if (!ProjectName.TryParse(name, out var projectName))
        {
            return null;
        }

        var result = await _store.CreateAsync(projectName, $"created by the first push of {caller.Name}", ProjectVisibility.Private, cancellationToken);
        _directory.Invalidate(name);
        if (result.Status == ProjectCreateStatus.Created)
        {
            await _audit.RecordAsync(caller, AuditActions.ProjectCreate, projectName, detail: new { visibility = "private", autoCreated = true });
            return result.Project;
        }

        return await _store.GetAsync(projectName, cancellationToken);
    }
}
