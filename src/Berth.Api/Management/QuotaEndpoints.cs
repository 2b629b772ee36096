using System.Text.Json;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Berth.Core.Quotas;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary>
/// <c>/api/v1/projects/{project}/quota</c>: a project's storage quota and usage (<see cref="IProjectQuotaStore"/>).
/// Members read it; only server administrators set it (<c>{"bytes": N}</c>, or <c>null</c> for none). Every change is
/// audited (<see cref="AuditActions.QuotaSet"/>) and applies on this node at once (<see cref="QuotaGuard.Invalidate"/>).
/// </summary>
internal static class QuotaEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var quota = api.MapGroup("/projects/{project}/quota").WithTags("quotas");
        quota.MapGet("/", GetAsync).WithName("GetProjectQuota").WithSummary("The project's quota and usage in bytes (members)")
            .RequireProject(ProjectPermissions.Pull).AllowAccessTokens().ProducesProblems(StatusCodes.Status404NotFound);
        quota.MapPut("/", SetAsync).WithName("SetProjectQuota").WithSummary("Set or remove the project's quota (server administrators)")
            .RequireProjectAdministrator().AcceptsJson<QuotaSetRequest>().ProducesProblems(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Ok<QuotaResponse>, ProblemHttpResult>> GetAsync(
        string project, [FromServices] IProjectQuotaStore quotas, HttpContext context, CancellationToken cancellationToken)
    {
        var name = context.GetProject().Name;
        var usage = await quotas.GetUsageAsync(name.Value, cancellationToken);
        return usage is null ? Problems.ProjectNotFound(project) : TypedResults.Ok(QuotaResponse.From(name.Value, usage));
    }

    private static async Task<Results<Ok<QuotaResponse>, ValidationProblem, ProblemHttpResult>> SetAsync(
        string project, [FromServices] IProjectQuotaStore quotas, [FromServices] QuotaGuard guard, ManagementServices services,
        HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<QuotaSetRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        long? bytes;
        switch (request.Bytes.ValueKind)
        {
            case JsonValueKind.Null:
                bytes = null;
                break;
            case JsonValueKind.Number when request.Bytes.TryGetInt64(out var value) && value >= 0:
                bytes = value;
                break;
            case JsonValueKind.Undefined:
                return Problems.Invalid("bytes", "is required: a whole number of bytes from 0, or null for no quota");
            default:
                return Problems.Invalid("bytes", $"must be a whole number of bytes from 0 to {long.MaxValue}, or null for no quota");
        }

        var name = context.GetProject().Name;
        var before = await quotas.GetQuotaAsync(name.Value, cancellationToken);
        if (await quotas.SetQuotaAsync(name.Value, bytes, cancellationToken) == QuotaSetResult.ProjectNotFound)
        {
            return Problems.ProjectNotFound(project);
        }

        guard.Invalidate(name.Value);
        await services.Audit.RecordAsync(context.Caller(), AuditActions.QuotaSet, name, detail: new { bytes, previous = before });
        var usage = await quotas.GetUsageAsync(name.Value, cancellationToken);
        return usage is null ? Problems.ProjectNotFound(project) : TypedResults.Ok(QuotaResponse.From(name.Value, usage));
    }
}

/// <summary>The body of <c>PUT /api/v1/projects/{project}/quota</c>: <c>{"bytes": 10737418240}</c> or <c>{"bytes": null}</c> (no quota).</summary>
public sealed record QuotaSetRequest
{
    /// <summary>A whole number of bytes (0 refuses every push that adds bytes), or null for no quota; required.</summary>
    public JsonElement Bytes { get; init; }
}

/// <summary>A project's quota (null: none) and usage, in bytes; <see cref="UsedPercent"/> of the quota, null without one.</summary>
public sealed record QuotaResponse(string Project, long? QuotaBytes, long UsedBytes, double? UsedPercent)
{
    public static QuotaResponse From(string project, ProjectUsage usage) =>
        new(project, usage.QuotaBytes, usage.UsedBytes, Percent(usage));

    internal static double? Percent(ProjectUsage usage) => usage.QuotaBytes switch
    {
        null => null,
        0 => usage.UsedBytes == 0 ? 0 : 100,
        { } quota => Math.Round(100.0 * usage.UsedBytes / quota, 1),
    };
}
