using System.Globalization;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary><c>/api/v1/audit</c>: the audit log, newest first (administrators; a project's owners with <c>project=</c>).</summary>
internal static class AuditEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/audit", (Delegate)QueryAsync).WithTags("audit").WithName("QueryAudit")
            .WithSummary("Audit entries, newest first, filtered by project, user, action, from, until (administrators; owners with project=)")
            .RequireUser().Produces<PageResponse<AuditEntryResponse>>();
    }

    private static async Task<IResult> QueryAsync(HttpContext context)
    {
        if (!Paging.TryRead(context, out var paging, out var error))
        {
            return error!;
        }

        var query = context.Request.Query;
        var validation = new Validation();
        if (!Cursor.TryId(paging.After, out var beforeId))
        {
            validation.Add("after", "is not a cursor from a previous page's 'next'");
        }

        ProjectName? project = null;
        var projectText = query["project"].ToString();
        if (projectText.Length > 0)
        {
            if (ProjectName.TryParse(projectText, out var name))
            {
                project = name;
            }
            else
            {
                validation.Add("project", "is not a project name");
            }
        }

        var from = ReadTime(query["from"].ToString(), "from", validation);
        var until = ReadTime(query["until"].ToString(), "until", validation);
        var user = query["user"].ToString();
        var action = query["action"].ToString();
        if (!validation.IsValid)
        {
            return validation.Result();
        }

        var services = ManagementServices.From(context);
        var caller = context.Caller();
        var principal = caller.Principal!;
        if (!AccessPolicy.IsServerAdministrator(principal))
        {
            // Owners read their project's entries. A project they do not own (or that does not exist) gets one answer.
            var found = project is { } p ? await services.Directory.GetAsync(p.Value, context.RequestAborted) : null;
            if (found is null
                || (AccessPolicy.GetPermissions(principal, new ProjectInfo(found.Name.Value, found.Visibility)) & ProjectPermissions.ManageSettings) == 0
                || !await services.IpAllow.AllowsProjectAsync(found.Name.Value, caller.Address, context.RequestAborted))
            {
                return Problems.Forbidden(project is null
                    ? "only administrators may read the whole audit log; project owners add project=NAME"
                    : $"you may not read the audit log of project '{project}'");
            }
        }

        var page = await services.AuditLog.QueryAsync(new AuditQuery(
            Project: project,
            ActorName: user.Length > 0 ? user : null,
            Action: action.Length > 0 ? action : null,
            From: from,
            Until: until,
            BeforeId: beforeId,
            Limit: paging.Limit), context.RequestAborted);
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
