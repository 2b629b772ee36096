using Berth.Auth.Permissions;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary><c>/api/v1/projects/{project}/robots</c>: a project's robot accounts and their tokens.</summary>
internal static class RobotEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var robots = api.MapGroup("/projects/{project}/robots").WithTags("robots");
        robots.MapGet("/", ListAsync).WithName("ListRobots").WithSummary("The project's robot accounts (owners, maintainers, administrators)")
            .RequireProjectRole(ProjectRole.Maintainer);
        robots.MapPost("/", CreateAsync).WithName("CreateRobot").WithSummary("Create a robot account (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).AcceptsJson<RobotCreateRequest>().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        robots.MapGet("/{robot}", GetAsync).WithName("GetRobot").WithSummary("A robot account (owners, maintainers, administrators)")
            .RequireProjectRole(ProjectRole.Maintainer).ProducesProblems(StatusCodes.Status404NotFound);
        robots.MapPatch("/{robot}", UpdateAsync).WithName("UpdateRobot").WithSummary("Change a robot account's description, scope or disabled flag (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).AcceptsJson<RobotUpdateRequest>().ProducesProblems(StatusCodes.Status404NotFound);
        robots.MapDelete("/{robot}", DeleteAsync).WithName("DeleteRobot").WithSummary("Delete a robot account with its tokens (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).ProducesProblems(StatusCodes.Status404NotFound);

        robots.MapGet("/{robot}/tokens", ListTokensAsync).WithName("ListRobotTokens").WithSummary("A robot account's tokens, without secrets (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).ProducesProblems(StatusCodes.Status404NotFound);
        robots.MapPost("/{robot}/tokens", CreateTokenAsync).WithName("CreateRobotToken").WithSummary("Create a robot token; the secret is in 'token', shown only here (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).AcceptsJson<RobotTokenCreateRequest>().ProducesProblems(StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status503ServiceUnavailable);
        robots.MapDelete("/{robot}/tokens/{id:long}", RevokeTokenAsync).WithName("RevokeRobotToken").WithSummary("Revoke a robot token (owners, administrators)")
            .RequireProject(ProjectPermissions.ManageMembers).ProducesProblems(StatusCodes.Status404NotFound);
    }

    private static async Task<Ok<PageResponse<RobotResponse>>> ListAsync(string project, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var robots = await services.Robots.ListAsync(context.GetProject().Name, cancellationToken);
        return TypedResults.Ok(new PageResponse<RobotResponse>(robots.Select(RobotResponse.From).ToList(), null));
    }

    private static async Task<Results<Created<RobotResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        string project, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<RobotCreateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
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
            return validation.Problem();
        }

        var name = context.GetProject().Name;
        var result = await services.Robots.CreateAsync(name, request.Name!, request.Description ?? string.Empty, scope.ToActions(), cancellationToken);
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

    private static async Task<Results<Ok<RobotResponse>, ProblemHttpResult>> GetAsync(string project, string robot, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var found = await FindAsync(services, context, robot, cancellationToken);
        return found is null ? RobotNotFound(context, robot) : TypedResults.Ok(RobotResponse.From(found));
    }

    private static async Task<Results<Ok<RobotResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        string project, string robot, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<RobotUpdateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
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
            return validation.Problem();
        }

        var found = await FindAsync(services, context, robot, cancellationToken);
        if (found is null
            || await services.Robots.UpdateAsync(found.Id, new RobotChanges(request.Description, scope?.ToActions(), request.Disabled), cancellationToken) == UpdateResult.NotFound
            || await services.Robots.GetAsync(found.Id, cancellationToken) is not { } updated)
        {
            return RobotNotFound(context, robot);
        }

        services.AccessChanged();
        await services.Audit.RecordAsync(context.Caller(), AuditActions.RobotUpdate, found.Project, detail: new
        {
            robot = found.FullName,
            description = request.Description,
            scope = scope is { } s ? AccessTokenScopes.Format(s) : null,
            disabled = request.Disabled,
        });
        return TypedResults.Ok(RobotResponse.From(updated));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string project, string robot, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var found = await FindAsync(services, context, robot, cancellationToken);
        if (found is null || await services.Robots.DeleteAsync(found.Id, cancellationToken) == DeleteResult.NotFound)
        {
            return RobotNotFound(context, robot);
        }

        services.AccessChanged();
        await services.Audit.RecordAsync(context.Caller(), AuditActions.RobotDelete, found.Project, detail: new { robot = found.FullName });
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<PageResponse<TokenResponse>>, ValidationProblem, ProblemHttpResult>> ListTokensAsync(
        [AsParameters] PageQuery query, string project, string robot, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(query.Limit, query.After, context, out var paging, out var error))
        {
            return error!;
        }

        if (!Cursor.TryId(paging.After, out var afterId))
        {
            return Problems.Invalid("after", "is not a cursor from a previous page's 'next'");
        }

        var found = await FindAsync(services, context, robot, cancellationToken);
        if (found is null)
        {
            return RobotNotFound(context, robot);
        }

        var page = await services.Tokens.ListByOwnerAsync(TokenOwnerKind.Robot, found.Id, afterId, paging.Limit, cancellationToken);
        var next = page.HasMore && page.Items.Count > 0 ? Cursor.Encode(page.Items[^1].Id) : null;
        var now = services.Clock.GetUtcNow();
        return TypedResults.Ok(new PageResponse<TokenResponse>(page.Items.Select(t => TokenResponse.From(t, now, found)).ToList(), next));
    }

    private static async Task<Results<Created<NewTokenResponse>, ValidationProblem, ProblemHttpResult>> CreateTokenAsync(
        string project, string robot, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<RobotTokenCreateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var found = await FindAsync(services, context, robot, cancellationToken);
        if (found is null)
        {
            return RobotNotFound(context, robot);
        }

        // The robot's own scope limits what its tokens do (and changing it changes them all), so tokens carry the
        // widest scope and no project list: the robot acts in its one project only.
        return await TokenIssuer.IssueAsync(services, context, request.Name, TokenOwner.Robot(found.Id, found.FullName), AccessTokenScope.PullPushDelete, null, request.Expires,
            found.Project, token => $"/api/v1/projects/{found.Project}/robots/{found.Name}/tokens/{token.Id}", found, cancellationToken);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeTokenAsync(
        string project, string robot, long id, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var found = await FindAsync(services, context, robot, cancellationToken);
        if (found is null)
        {
            return RobotNotFound(context, robot);
        }

        var token = await services.Tokens.GetAsync(id, cancellationToken);
        if (token is null || token.Owner.Kind != TokenOwnerKind.Robot || token.Owner.Id != found.Id)
        {
            return Problems.NotFound($"robot account '{found.FullName}' has no token {id}");
        }

        return await TokenIssuer.RevokeAsync(services, context, token, found.Project, cancellationToken);
    }

    private static async Task<RobotAccount?> FindAsync(ManagementServices services, HttpContext context, string robot, CancellationToken cancellationToken) =>
        RobotAccount.IsValidName(robot)
            ? await services.Robots.GetAsync(context.GetProject().Name, robot, cancellationToken)
            : null;

    private static ProblemHttpResult RobotNotFound(HttpContext context, string robot) =>
        Problems.NotFound($"project '{context.GetProject().Name}' has no robot account '{robot}'");

    private static void CheckDescription(string? description, Validation validation)
    {
        if (description is { Length: > ProjectEndpoints.MaxDescriptionLength })
        {
            validation.Add("description", $"must be at most {ProjectEndpoints.MaxDescriptionLength} characters");
        }
    }
}
