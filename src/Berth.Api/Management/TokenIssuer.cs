using System.Globalization;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Berth.Api.Management;

/// <summary>Creating access tokens (personal and robot): <c>expires</c> parsing, validation, storing, the one-time secret.</summary>
internal static class TokenIssuer
{
    /// <summary>
    /// <c>30d</c>, <c>12h</c>, <c>90m</c> (from now) or an ISO 8601 instant (without an offset: UTC); null or empty:
    /// the default lifetime (null <paramref name="expiresAt"/>). A duration past the end of the calendar gives
    /// <see cref="DateTimeOffset.MaxValue"/> (refused later as too far away), never an exception.
    /// </summary>
    public static bool TryParseExpires(string? text, DateTimeOffset now, out DateTimeOffset? expiresAt)
    {
        expiresAt = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        var unit = text[^1];
        var digits = text.AsSpan(0, text.Length - 1);
        if (unit is 'd' or 'h' or 'm' && digits.Length is > 0 and <= 7
            && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            // At most 9,999,999 days (about 27,000 years): within TimeSpan, but past the last DateTimeOffset from
            // now. Such an instant is "too far" for the token rules, not a server error: it becomes the last instant.
            var lifetime = unit switch
            {
                'd' => TimeSpan.FromDays(amount),
                'h' => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromMinutes(amount),
            };
            expiresAt = lifetime < DateTimeOffset.MaxValue - now ? now + lifetime : DateTimeOffset.MaxValue;
            return true;
        }

        if (text.Length >= 10 && char.IsAsciiDigit(text[0])
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var instant))
        {
            expiresAt = instant.ToUniversalTime();
            return true;
        }

        return false;
    }

    public static async Task<Results<Created<NewTokenResponse>, ValidationProblem, ProblemHttpResult>> IssueAsync(
        ManagementServices services,
        HttpContext context,
        string? name,
        TokenOwner owner,
        AccessTokenScope scope,
        IReadOnlyList<string>? projects,
        string? expires,
        ProjectName? auditProject,
        Func<TokenResponse, string> location,
        RobotAccount? robot,
        CancellationToken cancellationToken)
    {
        var validation = new Validation();
        if (string.IsNullOrWhiteSpace(name))
        {
            validation.Add("name", "is required");
        }

        if (!TryParseExpires(expires, services.Clock.GetUtcNow(), out var expiresAt))
        {
            validation.Add("expires", "must be a duration (30d, 12h, 90m) or an ISO 8601 instant");
        }

        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        for (var attempt = 0; ; attempt++)
        {
            var created = services.AccessTokens.Create(new AccessTokenRequest(name!, owner, scope, projects, expiresAt));
            switch (created.Status)
            {
                case AccessTokenCreateStatus.InvalidName:
                    return Problems.Invalid("name", $"must be 1 to {AccessTokenService.MaxNameLength} characters without control characters");
                case AccessTokenCreateStatus.InvalidProjects:
                    return Problems.Invalid("projects", "must be a non-empty list of project names");
                case AccessTokenCreateStatus.ExpiryNotInFuture:
                    return Problems.Invalid("expires", "must be in the future");
                case AccessTokenCreateStatus.ExpiryTooFar:
                    return Problems.Invalid("expires", $"must be at most {services.TokenOptions.MaxLifetime.TotalDays:0} days away");
                case AccessTokenCreateStatus.InvalidScope:
                    return Problems.Invalid("scope", "must be pull, pull,push or pull,push,delete");
                case AccessTokenCreateStatus.InvalidOwner:
                    return Problems.Forbidden("this account cannot own access tokens");
            }

            var stored = await services.Tokens.CreateAsync(created.Created!.Token, cancellationToken);
            switch (stored.Status)
            {
                case TokenCreateStatus.DuplicateLookupId when attempt < 3:
                    continue; // a random id collided: make another token
                case TokenCreateStatus.DuplicateName:
                    return Problems.Conflict($"{owner.Name} has a token named '{created.Created.Token.Name}' that is not revoked: revoke it or choose another name");
                case TokenCreateStatus.OwnerNotFound:
                    return Problems.NotFound($"'{owner.Name}' no longer exists");
                case TokenCreateStatus.Created when stored.Token is { } token:
                    var response = TokenResponse.From(token, services.Clock.GetUtcNow(), robot);
                    await services.Audit.RecordAsync(context.Caller(), AuditActions.TokenCreate, auditProject, detail: new
                    {
                        id = token.Id,
                        name = token.Name,
                        owner = token.Owner.Name,
                        ownerKind = response.OwnerKind,
                        scope = response.Scope,
                        projects = token.Projects,
                        expiresAt = response.ExpiresAt,
                    });
                    return TypedResults.Created(location(response), new NewTokenResponse(response, created.Created.Secret));
                default:
                    return Problems.Status(StatusCodes.Status503ServiceUnavailable, "could not store the token; try again");
            }
        }
    }

    /// <summary>Revokes and audits; an already revoked token is fine (204).</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(
        ManagementServices services, HttpContext context, AccessToken token, ProjectName? auditProject, CancellationToken cancellationToken)
    {
        var status = await services.Tokens.RevokeAsync(token.Id, cancellationToken);
        if (status == TokenRevokeStatus.NotFound)
        {
            return Problems.NotFound($"token {token.Id} not found");
        }

        if (status == TokenRevokeStatus.Revoked)
        {
            services.AccessChanged();
            await services.Audit.RecordAsync(context.Caller(), AuditActions.TokenRevoke, auditProject,
                detail: new { id = token.Id, name = token.Name, owner = token.Owner.Name, ownerKind = token.Owner.Kind == TokenOwnerKind.Robot ? "robot" : "user" });
        }

        return TypedResults.NoContent();
    }
}
