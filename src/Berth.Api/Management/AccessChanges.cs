using Berth.Api.Access;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Management;

/// <summary>What management handlers call after a change that can take access away.</summary>
internal static class AccessChanges
{
    /// <summary>
    /// After a change to a user, membership, robot, access token or project: registry tokens are checked against the
    /// new state at once on this node (other nodes within <see cref="TokenSubjects.Lifetime"/>).
    /// </summary>
    public static void Changed(HttpContext context) => context.RequestServices.GetRequiredService<TokenSubjects>().Invalidate();
}
