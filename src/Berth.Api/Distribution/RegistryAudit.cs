using Berth.Api.Access;
using Berth.Application.Audit;
using Berth.Oci;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Distribution;

/// <summary>Records pushes, pulls and deletes of the registry API in the audit log, as the caller authentication found.</summary>
internal static class RegistryAudit
{
    public static ValueTask RecordAsync(HttpContext context, string action, RepositoryName repository, object detail)
    {
        var caller = context.GetCaller();
        var recorder = context.RequestServices.GetService<AuditRecorder>();
        return caller is null || recorder is null ? ValueTask.CompletedTask : recorder.RecordAsync(caller, action, repository: repository, detail: detail);
    }
}
