using Berth.Auth.Permissions;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary><c>/api/v1/tokens</c>: a user's personal access tokens.</summary>
internal static class AccessTokenEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var tokens = api.MapGroup("/tokens").WithTags("tokens");
        tokens.MapGet("/", ListAsync).WithName("ListTokens").WithSummary("The caller's own access tokens, without secrets")
            .RequireUser();
        tokens.MapPost("/", CreateAsync).WithName("CreateToken").WithSummary("Create a personal access token; the secret is in 'token', shown only here")
            .RequireUser().AcceptsJson<TokenCreateRequest>().ProducesProblems(StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status503ServiceUnavailable);
        tokens.MapDelete("/{id:long}", RevokeAsync).WithName("RevokeToken").WithSummary("Revoke a token (its owner, administrators); already revoked: 204")
            .RequireUser().ProducesProblems(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Ok<PageResponse<TokenResponse>>, ValidationProblem, ProblemHttpResult>> ListAsync(
        [AsParameters] PageQuery query, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(query.Limit, query.After, context, out var paging, out var error))
        {
            return error!;
        }

        if (!Cursor.TryId(paging.After, out var afterId))
        {
            return Problems.Invalid("after", "is not a cursor from a previous page's 'next'");
        }

        var user = await CurrentUserAsync(services, context, cancellationToken);
        if (user is null)
        {
            return Problems.Status(StatusCodes.Status401Unauthorized, "the account no longer exists");
        }

        var page = await services.Tokens.ListByOwnerAsync(TokenOwnerKind.User, user.Id, afterId, paging.Limit, cancellationToken);
        var next = page.HasMore && page.Items.Count > 0 ? Cursor.Encode(page.Items[^1].Id) : null;
        var now = services.Clock.GetUtcNow();
        return TypedResults.Ok(new PageResponse<TokenResponse>(page.Items.Select(t => TokenResponse.From(t, now)).ToList(), next));
    }

    private static async Task<Results<Created<NewTokenResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<TokenCreateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var validation = new Validation();
        if (!AccessTokenScopes.TryParse(request.Scope, out var scope))
        {
            validation.Add("scope", request.Scope is null ? "is required (pull, pull,push or pull,push,delete)" : "must be pull, pull,push or pull,push,delete");
        }

        var caller = context.Caller();
        if (request.Projects is { } projects)
        {
            if (projects.Count == 0)
            {
                validation.Add("projects", "must name at least one project (leave it out for every project)");
            }

            foreach (var project in projects.Distinct(StringComparer.Ordinal))
            {
                // The restriction may only name projects that exist and that the caller may pull from; a private
                // project the caller cannot see gets the same words as a missing one.
                var found = project is null ? null : await services.Directory.GetAsync(project, cancellationToken);
                if (found is null || (AccessPolicy.GetPermissions(caller.Principal!, new ProjectInfo(found.Name.Value, found.Visibility)) & ProjectPermissions.Pull) == 0)
                {
                    validation.Add("projects", $"project '{project}' not found");
                }
            }
        }

        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var user = await CurrentUserAsync(services, context, cancellationToken);
        if (user is null)
        {
            return Problems.Status(StatusCodes.Status401Unauthorized, "the account no longer exists");
        }

        return await TokenIssuer.IssueAsync(services, context, request.Name, TokenOwner.User(user.Id, user.Name.Value), scope, request.Projects, request.Expires,
            null, token => $"/api/v1/tokens/{token.Id}", null, cancellationToken);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(
        long id, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var caller = context.Caller();
        var token = await services.Tokens.GetAsync(id, cancellationToken);
        var mine = token is { Owner.Kind: TokenOwnerKind.User } && string.Equals(token.Owner.Name, caller.Name, StringComparison.OrdinalIgnoreCase);
        if (token is null || !(mine || AccessPolicy.IsServerAdministrator(caller.Principal!)))
        {
            return Problems.NotFound($"token {id} not found"); // other people's tokens are not even confirmed to exist
        }

        ProjectName? project = null;
        if (token.Owner.Kind == TokenOwnerKind.Robot && await services.Robots.GetAsync(token.Owner.Id, cancellationToken) is { } robot)
        {
            project = robot.Project;
        }

        return await TokenIssuer.RevokeAsync(services, context, token, project, cancellationToken);
    }

    private static async Task<User?> CurrentUserAsync(ManagementServices services, HttpContext context, CancellationToken cancellationToken) =>
        UserName.TryParse(context.Caller().Name, out var name) ? await services.Users.GetAsync(name, cancellationToken) : null;
}
