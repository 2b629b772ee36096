using Berth.Auth.Permissions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Berth.Api.Management;

/// <summary>
/// <c>?force-immutable=true</c> on a repository or project delete: deletes immutable tags with the rest. Only a server
/// administrator signed in as such (never through an access token, which never administers) may pass it; anyone else
/// gets a 403 whether or not immutable tags would go, so the flag never depends on what the caller can see.
/// </summary>
internal static class ImmutabilityOverride
{
    public const string Parameter = "force-immutable";

    public static bool TryRead(string? text, HttpContext context, out bool force, out ValidationProblem? invalid, out ProblemHttpResult? refused)
    {
        force = false;
        invalid = null;
        refused = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (!bool.TryParse(text, out force))
        {
            invalid = Problems.Invalid(Parameter, "must be true or false");
            return false;
        }

        var caller = context.Caller();
        if (force && (caller.ByAccessToken || caller.Principal is null || !AccessPolicy.IsServerAdministrator(caller.Principal)))
        {
            refused = Problems.Forbidden("only a server administrator may delete immutable tags (force-immutable)");
            return false;
        }

        return true;
    }
}
