using Berth.Application.Access;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary><c>/api/v1/users</c>: accounts of people (server administrators; a user may read their own).</summary>
internal static class UserEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var users = api.MapGroup("/users").WithTags("users");
        users.MapGet("/", ListAsync).WithName("ListUsers").WithSummary("Every user (administrators)")
            .RequireAdministrator();
        users.MapPost("/", CreateAsync).WithName("CreateUser").WithSummary("Create a user (administrators)")
            .RequireAdministrator().AcceptsJson<UserCreateRequest>().ProducesProblems(StatusCodes.Status409Conflict);
        users.MapGet("/{user}", GetAsync).WithName("GetUser").WithSummary("A user (administrators, the user)")
            .RequireUser().ProducesProblems(StatusCodes.Status404NotFound);
        users.MapPatch("/{user}", UpdateAsync).WithName("UpdateUser").WithSummary("Set a user's password, administrator or disabled flag (administrators); 409 for the last administrator")
            .RequireAdministrator().AcceptsJson<UserUpdateRequest>().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        users.MapDelete("/{user}", DeleteAsync).WithName("DeleteUser").WithSummary("Delete a user with their memberships and tokens (administrators); 409 for the last administrator")
            .RequireAdministrator().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
    }

    private static async Task<Results<Ok<PageResponse<UserResponse>>, ValidationProblem>> ListAsync(
        [AsParameters] PageQuery query, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(query.Limit, query.After, context, out var paging, out var error))
        {
            return error!;
        }

        UserName? after = null;
        if (paging.After is not null)
        {
            if (!UserName.TryParse(paging.After, out var name))
            {
                return Problems.Invalid("after", "is not a cursor from a previous page's 'next'");
            }

            after = name;
        }

        var page = await services.Users.ListAsync(after, paging.Limit, cancellationToken);
        var next = page.HasMore && page.Items.Count > 0 ? Cursor.Encode(page.Items[^1].Name.Value) : null;
        return TypedResults.Ok(new PageResponse<UserResponse>(page.Items.Select(UserResponse.From).ToList(), next));
    }

    private static async Task<Results<Created<UserResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<UserCreateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var validation = new Validation();
        UserName name = default;
        if (request.Name is null)
        {
            validation.Add("name", "is required");
        }
        else if (!UserName.TryParse(request.Name, out name))
        {
            validation.Add("name", $"must be 1 to {UserName.MaxLength} ASCII letters, digits and . _ - @, starting with a letter or digit");
        }

        if (request.Password is not null && Passwords.Check(request.Password) is { } problem)
        {
            validation.Add("password", problem);
        }

        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var hash = request.Password is null ? null : services.Hasher.Hash(request.Password);
        var result = await services.Users.CreateAsync(name, hash, request.Administrator == true, cancellationToken);
        if (result.Status == UserCreateStatus.Duplicate || result.User is null)
        {
            return Problems.Conflict($"user '{name}' exists");
        }

        await services.Audit.RecordAsync(context.Caller(), AuditActions.UserCreate,
            detail: new { user = result.User.Name.Value, administrator = result.User.IsAdministrator, password = hash is not null });
        return TypedResults.Created($"/api/v1/users/{result.User.Name.Value}", UserResponse.From(result.User));
    }

    private static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> GetAsync(string user, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var caller = context.Caller();
        if (!AccessPolicy.IsServerAdministrator(caller.Principal!) && !string.Equals(caller.Name, user, StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Forbidden("only administrators may read other users' accounts"); // the same whether or not the user exists
        }

        var found = await FindAsync(services, user, cancellationToken);
        return found is null ? UserNotFound(user) : TypedResults.Ok(UserResponse.From(found));
    }

    private static async Task<Results<Ok<UserResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(string user, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<UserUpdateRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        if (request.Password is not null && Passwords.Check(request.Password) is { } problem)
        {
            return Problems.Invalid("password", problem);
        }

        var found = await FindAsync(services, user, cancellationToken);
        if (found is null)
        {
            return UserNotFound(user);
        }

        // The refusable changes first, so a 409 leaves the password alone.
        if (request.Administrator is { } administrator)
        {
            switch (await services.Users.SetAdministratorAsync(found.Id, administrator, cancellationToken))
            {
                case UserUpdateStatus.NotFound:
                    return UserNotFound(user);
                case UserUpdateStatus.LastAdministrator:
                    return Problems.Conflict($"'{found.Name}' is the last enabled administrator: make another user an administrator first");
            }
        }

        if (request.Disabled is { } disabled)
        {
            switch (await services.Users.SetDisabledAsync(found.Id, disabled, cancellationToken))
            {
                case UserUpdateStatus.NotFound:
                    return UserNotFound(user);
                case UserUpdateStatus.LastAdministrator:
                    if (request.Administrator is not null && request.Administrator != found.IsAdministrator)
                    {
                        await services.Users.SetAdministratorAsync(found.Id, found.IsAdministrator, cancellationToken); // undo the first change
                    }

                    return Problems.Conflict($"'{found.Name}' is the last enabled administrator: make another user an administrator first");
            }
        }

        if (request.Password is not null
            && await services.Users.SetPasswordHashAsync(found.Id, services.Hasher.Hash(request.Password), cancellationToken) == UpdateResult.NotFound)
        {
            return UserNotFound(user);
        }

        var updated = await services.Users.GetAsync(found.Id, cancellationToken);
        if (updated is null)
        {
            return UserNotFound(user);
        }

        services.AccessChanged();
        await services.Audit.RecordAsync(context.Caller(), AuditActions.UserUpdate,
            detail: new { user = found.Name.Value, administrator = request.Administrator, disabled = request.Disabled, password = request.Password is not null ? true : (bool?)null });
        return TypedResults.Ok(UserResponse.From(updated));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string user, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var found = await FindAsync(services, user, cancellationToken);
        if (found is null)
        {
            return UserNotFound(user);
        }

        switch (await services.Users.DeleteAsync(found.Id, cancellationToken))
        {
            case UserDeleteStatus.NotFound:
                return UserNotFound(user);
            case UserDeleteStatus.LastAdministrator:
                return Problems.Conflict($"'{found.Name}' is the last enabled administrator and cannot be deleted");
        }

        services.AccessChanged();
        await services.Audit.RecordAsync(context.Caller(), AuditActions.UserDelete, detail: new { user = found.Name.Value });
        return TypedResults.NoContent();
    }

    private static async Task<User?> FindAsync(ManagementServices services, string user, CancellationToken cancellationToken) =>
        UserName.TryParse(user, out var name) ? await services.Users.GetAsync(name, cancellationToken) : null;

    private static ProblemHttpResult UserNotFound(string user) => Problems.NotFound($"user '{user}' not found");
}
