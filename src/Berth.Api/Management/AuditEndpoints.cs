using System.Globalization;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary><c>/api/v1/audit</c>: the audit log, newest first (administrators; a project's owners with <c>project=</c>).</summary>
internal static class AuditEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/audit", QueryAsync).WithTags("audit").WithName("QueryAudit")
            .WithSummary("Audit entries, newest first, filtered by project, user, action, from, until (administrators; owners with project=)")
            .RequireUser();
    }

    /// <summary>
    /// The filters and page of <c>GET /api/v1/audit</c>, as text: each is validated here so that a malformed one is a
    /// 400 naming the field, as everywhere in this API, rather than the framework's binding failure.
    /// </summary>
    internal readonly record struct AuditQueryParameters(
        [property: FromQuery(Name = "project")] string? Project,
        [property: FromQuery(Name = "user")] string? User,
        [property: FromQuery(Name = "action")] string? Action,
        [property: FromQuery(Name = "from")] string? From,
        [property: FromQuery(Name = "until")] string? Until,
        [property: FromQuery(Name = "limit")] string? Limit,
        [property: FromQuery(Name = "after")] string? After);

    private static async Task<Results<Ok<PageResponse<AuditEntryResponse>>, ValidationProblem, ProblemHttpResult>> QueryAsync(
        [AsParameters] AuditQueryParameters query, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(query.Limit, query.After, context, out var paging, out var error))
        {
            return error!;
        }

        var validation = new Validation();
        if (!Cursor.TryId(paging.After, out var beforeId))
        {
            validation.Add("after", "is not a cursor from a previous page's 'next'");
        }

        ProjectName? project = null;
        if (!string.IsNullOrEmpty(query.Project))
        {
            if (ProjectName.TryParse(query.Project, out var name))
            {
                project = name;
            }
            else
            {
                validation.Add("project", "is not a project name");
            }
        }

        var from = ReadTime(query.From ?? string.Empty, "from", validation);
        var until = ReadTime(query.Until ?? string.Empty, "until", validation);
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var caller = context.Caller();
        var principal = caller.Principal!;
        if (!AccessPolicy.IsServerAdministrator(principal))
        {
            // Owners read their project's entries. A project they do not own (or that does not exist) gets one answer.
            var found = project is { } p ? await services.Directory.GetAsync(p.Value, cancellationToken) : null;
            if (found is null
                || (AccessPolicy.GetPermissions(principal, new ProjectInfo(found.Name.Value, found.Visibility)) & ProjectPermissions.ManageSettings) == 0
                || !await services.IpAllow.AllowsProjectAsync(found.Name.Value, caller.Address, cancellationToken))
            {
                return Problems.Problem(StatusCodes.Status403Forbidden, project is null
                    ? "only administrators may read the whole audit log; project owners add project=NAME"
                    : $"you may not read the audit log of project '{project}'");
            }
        }

        var page = await services.AuditLog.QueryAsync(new AuditQuery(
            Project: project,
            ActorName: string.IsNullOrEmpty(query.User) ? null : query.User,
            Action: string.IsNullOrEmpty(query.Action) ? null : query.Action,
            From: from,
            Until: until,
            BeforeId: beforeId,
            Limit: paging.Limit), cancellationToken);
        var next = page.HasMore && page.Items.Count > 0 ? Cursor.Encode(page.Items[^1].Id) : null;
        return TypedResults.Ok(new PageResponse<AuditEntryResponse>(page.Items.Select(AuditEntryResponse.From).ToList(), next));
    }

    private static DateTimeOffset? ReadTime(string text, string field, Validation validation)
    {
        if (text.Length == 0)
        {
            return null;
        }

        if (text.Length >= 10 && char.IsAsciiDigit(text[0])
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return at.ToUniversalTime();
        }

        validation.Add(field, "must be an ISO 8601 time such as 2026-11-29T06:30:00Z");
        return null;
    }
}
