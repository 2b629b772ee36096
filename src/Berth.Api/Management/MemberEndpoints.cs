using Berth.Auth.Permissions;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary><c>/api/v1/projects/{project}/members</c>: who holds which role in a project.</summary>
internal static class MemberEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var members = api.MapGroup("/projects/{project}/members").WithTags("members");
        members.MapGet("/", ListAsync).WithName("ListMembers").WithSummary("The project's members (members, administrators)")
            .RequireProjectRole(ProjectRole.Reader);
        members.MapPut("/{user}", SetAsync).WithName("SetMember").WithSummary("Add a member or change their role (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).AcceptsJson<MemberSetRequest>().ProducesProblems(StatusCodes.Status404NotFound);
        members.MapDelete("/{user}", RemoveAsync).WithName("RemoveMember").WithSummary("Remove a member (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).ProducesProblems(StatusCodes.Status404NotFound);
    }

    private static async Task<Ok<PageResponse<MemberResponse>>> ListAsync(
        string project, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var members = await services.Memberships.ListByProjectAsync(context.GetProject().Name, cancellationToken);
        return TypedResults.Ok(new PageResponse<MemberResponse>(members.Select(MemberResponse.From).ToList(), null));
    }

    private static async Task<Results<Ok<MemberResponse>, Created<MemberResponse>, ValidationProblem, ProblemHttpResult>> SetAsync(
        string project, string user, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<MemberSetRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        if (!Wire.TryRole(request.Role, out var role))
        {
            return Problems.Invalid("role", "must be owner, maintainer, developer or reader");
        }

        var name = context.GetProject().Name;
        var account = UserName.TryParse(user, out var userName) ? await services.Users.GetAsync(userName, cancellationToken) : null;
        if (account is null)
        {
            return Problems.NotFound($"user '{user}' not found");
        }

        var caller = context.Caller();
        var before = await FindAsync(services, name, account.Id, cancellationToken);
        var added = false;
        if (before is null)
        {
            var status = await services.Memberships.AddAsync(name, account.Id, role, cancellationToken);
            switch (status)
            {
                case MembershipAddStatus.ProjectNotFound:
                    return Problems.ProjectNotFound(project);
                case MembershipAddStatus.UserNotFound:
                    return Problems.NotFound($"user '{user}' not found");
                case MembershipAddStatus.Added:
                    added = true;
                    await services.Audit.RecordAsync(caller, AuditActions.MemberAdd, name, detail: new { user = account.Name.Value, role = Wire.Role(role) });
                    break;
            }
        }

        if (!added)
        {
            // A member already (or one added by a concurrent request since): set the role.
            if (await services.Memberships.SetRoleAsync(name, account.Id, role, cancellationToken) == UpdateResult.NotFound)
            {
                return Problems.NotFound($"user '{user}' is not a member of project '{name}'");
            }

            if (before?.Role != role)
            {
                services.AccessChanged();
                await services.Audit.RecordAsync(caller, AuditActions.MemberUpdate, name,
                    detail: new { user = account.Name.Value, role = Wire.Role(role), previousRole = before is null ? null : Wire.Role(before.Role) });
            }
        }

        var membership = await FindAsync(services, name, account.Id, cancellationToken);
        if (membership is null)
        {
            return Problems.NotFound($"user '{user}' is not a member of project '{name}'"); // removed concurrently
        }

        var response = MemberResponse.From(membership);
        return added ? TypedResults.Created($"/api/v1/projects/{name}/members/{account.Name.Value}", response) : TypedResults.Ok(response);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveAsync(
        string project, string user, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var name = context.GetProject().Name;
        var account = UserName.TryParse(user, out var userName) ? await services.Users.GetAsync(userName, cancellationToken) : null;
        if (account is null || await services.Memberships.RemoveAsync(name, account.Id, cancellationToken) == DeleteResult.NotFound)
        {
            return Problems.NotFound($"user '{user}' is not a member of project '{name}'");
        }

        services.AccessChanged();
        await services.Audit.RecordAsync(context.Caller(), AuditActions.MemberRemove, name, detail: new { user = account.Name.Value });
        return TypedResults.NoContent();
    }

    private static async Task<Membership?> FindAsync(ManagementServices services, ProjectName project, long userId, CancellationToken cancellationToken) =>
        (await services.Memberships.ListByUserAsync(userId, cancellationToken)).FirstOrDefault(m => m.Project == project);
}
