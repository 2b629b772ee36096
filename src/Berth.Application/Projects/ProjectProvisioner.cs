using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Quotas;
using Microsoft.Extensions.Options;

namespace Berth.Application.Projects;

/// <summary>Creates a project on an administrator's first push into it, when the server allows that (<c>--auto-create-projects</c>).</summary>
public sealed class ProjectProvisioner
{
    private readonly IProjectStore _store;
    private readonly ProjectDirectory _directory;
    private readonly AuditRecorder _audit;
    private readonly IProjectQuotaStore? _quotas;
    private readonly long _defaultQuota;

    /// <summary>A project created here gets the server's default quota (<see cref="RegistryOptions.DefaultQuotaBytes"/>), if any.</summary>
    public ProjectProvisioner(IProjectStore store, ProjectDirectory directory, AuditRecorder audit, IProjectQuotaStore? quotas = null, IOptions<RegistryOptions>? options = null)
    {
        _quotas = quotas;
        _defaultQuota = options?.Value.DefaultQuotaBytes ?? 0;
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
            long? quota = _defaultQuota > 0 && _quotas is not null ? _defaultQuota : null;
            if (quota is not null)
            {
                await _quotas!.SetQuotaAsync(name, quota, cancellationToken);
            }

            await _audit.RecordAsync(caller, AuditActions.ProjectCreate, projectName, detail: new { visibility = "private", autoCreated = true, quotaBytes = quota });
            return result.Project;
        }

        return await _store.GetAsync(projectName, cancellationToken);
    }
}
