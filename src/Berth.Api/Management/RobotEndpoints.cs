using Berth.Auth.Permissions;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary><c>/api/v1/projects/{project}/robots</c>: a project's robot accounts and their tokens.</summary>
internal static class RobotEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var robots = api.MapGroup("/projects/{project}/robots").WithTags("robots");
        robots.MapGet("/", (Delegate)ListAsync).WithName("ListRobots").WithSummary("The project's robot accounts (owners, maintainers, administrators)")
            .RequireProjectRole(ProjectRole.Maintainer).Produces<PageResponse<RobotResponse>>();
        robots.MapPost("/", (Delegate)CreateAsync).WithName("CreateRobot").WithSummary("Create a robot account (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).Accepts<RobotCreateRequest>("application/json").Produces<RobotResponse>(StatusCodes.Status201Created);
        robots.MapGet("/{robot}", (Delegate)GetAsync).WithName("GetRobot").WithSummary("A robot account (owners, maintainers, administrators)")
            .RequireProjectRole(ProjectRole.Maintainer).Produces<RobotResponse>();
        robots.MapPatch("/{robot}", (Delegate)UpdateAsync).WithName("UpdateRobot").WithSummary("Change a robot account's description, scope or disabled flag (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).Accepts<RobotUpdateRequest>("application/json").Produces<RobotResponse>();
        robots.MapDelete("/{robot}", (Delegate)DeleteAsync).WithName("DeleteRobot").WithSummary("Delete a robot account with its tokens (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).Produces(StatusCodes.Status204NoContent);

        robots.MapGet("/{robot}/tokens", (Delegate)ListTokensAsync).WithName("ListRobotTokens").WithSummary("A robot account's tokens, without secrets (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).Produces<PageResponse<TokenResponse>>();
        robots.MapPost("/{robot}/tokens", (Delegate)CreateTokenAsync).WithName("CreateRobotToken").WithSummary("Create a robot token; the secret is in 'token', shown only here (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).Accepts<RobotTokenCreateRequest>("application/json").Produces<NewTokenResponse>(StatusCodes.Status201Created);
        robots.MapDelete("/{robot}/tokens/{id:long}", (Delegate)RevokeTokenAsync).WithName("RevokeRobotToken").WithSummary("Revoke a robot token (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).Produces(StatusCodes.Status204NoContent);
    }

    private static async Task<IResult> ListAsync(HttpContext context, string project)
    {
        var services = ManagementServices.From(context);
        var robots = await services.Robots.ListAsync(context.GetProject().Name, context.RequestAborted);
        return TypedResults.Ok(new PageResponse<RobotResponse>(robots.Select(RobotResponse.From).ToList(), null));
    }

    private static async Task<IResult> CreateAsync(HttpContext context, string project)
    {
        var body = await RequestBody.ReadAsync<RobotCreateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Error!;
        }

        var validation = new Validation();
        if (request.Name is null)
        {
            validation.Add("name", "is required");
        }
        else if (!RobotAccount.IsValidName(request.Name))
        {
            validation.Add("name", "must be lower-case letters and digits, separated by '.', '_', '__' or '-'");
        }

        if (!AccessTokenScopes.TryParse(request.Scope, out var scope))
        {
            validation.Add("scope", request.Scope is null ? "is required (pull, pull,push or pull,push,delete)" : "must be pull, pull,push or pull,push,delete");
        }

        CheckDescription(request.Description, validation);
        if (!validation.IsValid)
        {
            return validation.Result();
        }

        var services = ManagementServices.From(context);
        var name = context.GetProject().Name;
        var result = await services.Robots.CreateAsync(name, request.Name!, request.Description ?? string.Empty, scope.ToActions(), context.RequestAborted);
        switch (result.Status)
        {
            case RobotCreateStatus.Duplicate:
                return Problems.Conflict($"project '{name}' has a robot account named '{request.Name}'");
            case RobotCreateStatus.ProjectNotFound:
                return Problems.ProjectNotFound(project);
        }

        var robot = result.Robot!;
        await services.Audit.RecordAsync(context.Caller(), AuditActions.RobotCreate, name, detail: new { robot = robot.FullName, scope = AccessTokenScopes.Format(scope) });
        return TypedResults.Created($"/api/v1/projects/{name}/robots/{robot.Name}", RobotResponse.From(robot));
    }

    private static async Task<IResult> GetAsync(HttpContext context, string project, string robot)
    {
        var found = await FindAsync(context, robot);
        return found is null ? RobotNotFound(context, robot) : TypedResults.Ok(RobotResponse.From(found));
    }

    private static async Task<IResult> UpdateAsync(HttpContext context, string project, string robot)
    {
        var body = await RequestBody.ReadAsync<RobotUpdateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Error!;
        }

        var validation = new Validation();
        AccessTokenScope? scope = null;
        if (request.Scope is not null)
        {
            if (AccessTokenScopes.TryParse(request.Scope, out var parsed))
            {
                scope = parsed;
            }
            else
            {
                validation.Add("scope", "must be pull, pull,push or pull,push,delete");
            }
        }

        CheckDescription(request.Description, validation);
        if (!validation.IsValid)
        {
            return validation.Result();
        }

        var services = ManagementServices.From(context);
        var found = await FindAsync(context, robot);
        if (found is null
            || await services.Robots.UpdateAsync(found.Id, new RobotChanges(request.Description, scope?.ToActions(), request.Disabled), context.RequestAborted) == UpdateResult.NotFound
            || await services.Robots.GetAsync(found.Id, context.RequestAborted) is not { } updated)
        {
            return RobotNotFound(context, robot);
        }

        AccessChanges.Changed(context);
        await services.Audit.RecordAsync(context.Caller(), AuditActions.RobotUpdate, found.Project, detail: new
        {
            robot = found.FullName,
            description = request.Description,
            scope = scope is { } s ? AccessTokenScopes.Format(s) : null,
            disabled = request.Disabled,
        });
        return TypedResults.Ok(RobotResponse.From(updated));
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string project, string robot)
    {
        var services = ManagementServices.From(context);
        var found = await FindAsync(context, robot);
        if (found is null || await services.Robots.DeleteAsync(found.Id, context.RequestAborted) == DeleteResult.NotFound)
        {
            return RobotNotFound(context, robot);
        }

        AccessChanges.Changed(context);
        await services.Audit.RecordAsync(context.Caller(), AuditActions.RobotDelete, found.Project, detail: new { robot = found.FullName });
        return TypedResults.NoContent();
    }

    private static async Task<IResult> ListTokensAsync(HttpContext context, string project, string robot)
    {
        if (!Paging.TryRead(context, out var paging, out var error))
        {
            return error!;
        }

        if (!Cursor.TryId(paging.After, out var afterId))
        {
            return Problems.Invalid("after", "is not a cursor from a previous page's 'next'");
        }

        var services = ManagementServices.From(context);
        var found = await FindAsync(context, robot);
        if (found is null)
        {
            return RobotNotFound(context, robot);
        }

        var page = await services.Tokens.ListByOwnerAsync(TokenOwnerKind.Robot, found.Id, afterId, paging.Limit, context.RequestAborted);
        var next = page.HasMore && page.Items.Count > 0 ? Cursor.Encode(page.Items[^1].Id) : null;
        var now = services.Clock.GetUtcNow();
        return TypedResults.Ok(new PageResponse<TokenResponse>(page.Items.Select(t => TokenResponse.From(t, now, found)).ToList(), next));
    }

    private static async Task<IResult> CreateTokenAsync(HttpContext context, string project, string robot)
    {
        var body = await RequestBody.ReadAsync<RobotTokenCreateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Error!;
        }

        var found = await FindAsync(context, robot);
        if (found is null)
        {
            return RobotNotFound(context, robot);
        }

        // The robot's own scope limits what its tokens do (and changing it changes them all), so tokens carry the
        // widest scope and no project list: the robot acts in its one project only.
        return await TokenIssuer.IssueAsync(context, request.Name, TokenOwner.Robot(found.Id, found.FullName), AccessTokenScope.PullPushDelete, null, request.Expires,
            found.Project, token => $"/api/v1/projects/{found.Project}/robots/{found.Name}/tokens/{token.Id}", found);
    }

    private static async Task<IResult> RevokeTokenAsync(HttpContext context, string project, string robot, long id)
    {
        var services = ManagementServices.From(context);
        var found = await FindAsync(context, robot);
        if (found is null)
        {
            return RobotNotFound(context, robot);
        }

        var token = await services.Tokens.GetAsync(id, context.RequestAborted);
        if (token is null || token.Owner.Kind != TokenOwnerKind.Robot || token.Owner.Id != found.Id)
        {
            return Problems.NotFound($"robot account '{found.FullName}' has no token {id}");
        }

        return await TokenIssuer.RevokeAsync(context, token, found.Project);
    }

    private static async Task<RobotAccount?> FindAsync(HttpContext context, string robot) =>
        RobotAccount.IsValidName(robot)
            ? await ManagementServices.From(context).Robots.GetAsync(context.GetProject().Name, robot, context.RequestAborted)
            : null;

    private static IResult RobotNotFound(HttpContext context, string robot) =>
        Problems.NotFound($"project '{context.GetProject().Name}' has no robot account '{robot}'");

    private static void CheckDescription(string? description, Validation validation)
    {
        if (description is { Length: > ProjectEndpoints.MaxDescriptionLength })
        {
            validation.Add("description", $"must be at most {ProjectEndpoints.MaxDescriptionLength} characters");
        }
    }
}
