using Berth.Application.Access;
using Berth.Auth.Passwords;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary>
/// <c>/api/v1/me</c>: who the caller is (what <c>berth login</c> checks), changing one's own password, and signing out
/// everywhere.
/// </summary>
internal static class MeEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var me = api.MapGroup("/me").WithTags("me");
        me.MapGet("/", GetAsync).WithName("GetMe").WithSummary("The authenticated caller, with their project memberships")
            .RequireAuthenticated().AllowAccessTokens().AuditLogins();
        me.MapPut("/password", ChangePasswordAsync).WithName("ChangePassword").WithSummary("Change one's own password (password sign-in only)")
            .RequireUser().AcceptsJson<PasswordChangeRequest>();
        me.MapDelete("/sessions", SignOutEverywhereAsync).WithName("SignOutEverywhere")
            .WithSummary("Sign out everywhere: end every refresh token and remembered sign-in of the caller (password sign-in only); access tokens stay")
            .RequireUser().ProducesProblems(StatusCodes.Status404NotFound);
    }

    private static async Task<Ok<MeResponse>> GetAsync(ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var caller = context.Caller();
        var administrator = AccessPolicy.IsServerAdministrator(caller.Principal!); // false through a token: tokens never administer
        if (caller.Kind != AuditActorKind.User)
        {
            return TypedResults.Ok(new MeResponse(caller.Name, "robot", false, []));
        }

        var user = UserName.TryParse(caller.Name, out var name) ? await services.Users.GetAsync(name, cancellationToken) : null;
        var memberships = user is null ? [] : await services.Memberships.ListByUserAsync(user.Id, cancellationToken);

        // A token limited to some projects shows only those: it may not reach the others, nor tell of them.
        var reachable = caller.Principal is TokenPrincipal { Projects: { } limited } ? new HashSet<string>(limited, StringComparer.Ordinal) : null;
        return TypedResults.Ok(new MeResponse(caller.Name, "user", administrator,
            memberships.Where(m => reachable is null || reachable.Contains(m.Project.Value))
                .Select(m => new MembershipResponse(m.Project.Value, Wire.Role(m.Role))).ToList()));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> SignOutEverywhereAsync(ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var caller = context.Caller();
        var user = UserName.TryParse(caller.Name, out var name) ? await services.Users.GetAsync(name, cancellationToken) : null;
        if (user is null || await services.Users.RotateSecurityStampAsync(user.Id, cancellationToken) == UpdateResult.NotFound)
        {
            return Problems.Problem(StatusCodes.Status404NotFound, $"user '{caller.Name}' not found");
        }

        services.AccessChanged();
        await services.Audit.RecordAsync(caller, AuditActions.UserSignOut, detail: new { user = user.Name.Value });
        return TypedResults.NoContent();
    }

    /// <summary>
    /// The body is read by <see cref="RequestBody"/> (limits, duplicate members, lone surrogates): its refusals are a
    /// <see cref="ValidationProblem"/> or a <see cref="ProblemHttpResult"/>, both among the declared results.
    /// </summary>
    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ChangePasswordAsync(ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<PasswordChangeRequest>(context);
        if (body.Value is not { } request)
        {
            return body.Invalid is { } invalid ? invalid : body.Refused!;
        }

        var validation = new Validation();
        if (request.CurrentPassword is null)
        {
            validation.Add("currentPassword", "is required");
        }

        if (request.NewPassword is null)
        {
            validation.Add("newPassword", "is required");
        }
        else if (Passwords.Check(request.NewPassword) is { } problem)
        {
            validation.Add("newPassword", problem);
        }

        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var caller = context.Caller();
        var user = UserName.TryParse(caller.Name, out var name) ? await services.Users.GetAsync(name, cancellationToken) : null;
        if (user is null || services.Hasher.Verify(user.PasswordHash, request.CurrentPassword!) is not (PasswordVerification.Succeeded or PasswordVerification.SucceededRehashNeeded))
        {
            return Problems.Invalid("currentPassword", "is not your current password");
        }

        await services.Users.SetPasswordHashAsync(user.Id, services.Hasher.Hash(request.NewPassword!), cancellationToken); // ends refresh tokens
        services.AccessChanged();
        await services.Audit.RecordAsync(caller, AuditActions.UserUpdate, detail: new { user = user.Name.Value, password = true });
        return TypedResults.NoContent();
    }
}
