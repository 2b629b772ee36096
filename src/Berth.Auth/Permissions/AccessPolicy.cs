using Berth.Auth.Scopes;
using Berth.Core.Access;
using Berth.Core.Registry;

namespace Berth.Auth.Permissions;

/// <summary>
/// The access rules, as pure functions of a principal and a project:
/// <list type="bullet">
/// <item>a server administrator (a <see cref="UserPrincipal"/> with the flag) may do everything everywhere;</item>
/// <item>a member has the permissions of their <see cref="ProjectRole"/> (see <see cref="ForRole"/>);</item>
/// <item>a robot has its actions in its own project;</item>
/// <item>a token has its owner's permissions, cut to its scope and project restriction, registry actions only;</item>
/// <item>public projects allow pull to everyone, anonymous included; every principal keeps at least that.</item>
/// </list>
/// The catalog is open to every signed-in principal, filtered to the repositories each may pull.
/// Whether the project exists is the caller's question: for an unknown project, grant nothing (and answer as for
/// a private one, so names of private projects do not leak).
/// </summary>
public static class AccessPolicy
{
    /// <summary>The permissions a role carries.</summary>
    public static ProjectPermissions ForRole(ProjectRole role) => role switch
    {
        ProjectRole.Reader => ProjectPermissions.Pull,
        ProjectRole.Developer => ProjectPermissions.Pull | ProjectPermissions.Push,
        ProjectRole.Maintainer => ProjectPermissions.Registry | ProjectPermissions.ManagePolicies,
        ProjectRole.Owner => ProjectPermissions.All,
        _ => ProjectPermissions.None,
    };

    /// <summary>Everything <paramref name="principal"/> may do in <paramref name="project"/>.</summary>
    public static ProjectPermissions GetPermissions(Principal principal, ProjectInfo project)
    {
        ArgumentNullException.ThrowIfNull(principal);
        ArgumentNullException.ThrowIfNull(project);
        var everyone = project.Visibility == ProjectVisibility.Public ? ProjectPermissions.Pull : ProjectPermissions.None;
        return everyone | principal switch
        {
            AnonymousPrincipal => ProjectPermissions.None,
            UserPrincipal { IsAdministrator: true } => ProjectPermissions.All,
            UserPrincipal user => user.Memberships.TryGetValue(project.Name, out var role) ? ForRole(role) : ProjectPermissions.None,
            RobotPrincipal robot => string.Equals(robot.Project, project.Name, StringComparison.Ordinal)
                ? (ProjectPermissions)robot.Actions & ProjectPermissions.Registry
                : ProjectPermissions.None,
            TokenPrincipal token => token.Projects is null || token.Projects.Contains(project.Name, StringComparer.Ordinal)
                ? GetPermissions(token.Owner, project) & (ProjectPermissions)token.Scope & ProjectPermissions.Registry
                : ProjectPermissions.None,
            _ => ProjectPermissions.None,
        };
    }

    /// <summary>The part of <paramref name="requested"/> that <paramref name="principal"/> may do in <paramref name="project"/>.</summary>
    public static RegistryActions GetAllowedActions(Principal principal, ProjectInfo project, RegistryActions requested) =>
        requested & (RegistryActions)(GetPermissions(principal, project) & ProjectPermissions.Registry);

    /// <summary>True for a user with the administrator flag. Tokens never administer the server, even an administrator's.</summary>
    public static bool IsServerAdministrator(Principal principal) => principal is UserPrincipal { IsAdministrator: true };

    /// <summary>
    /// The part of <paramref name="requested"/> allowed on the catalog: pull, for every signed-in principal. What the catalog
    /// then lists is filtered per repository by <see cref="GetAllowedActions"/> (pull), so each caller sees only the
    /// repositories it may pull: everything for administrators, public and member projects for users, one project
    /// for a robot, the token's projects for a restricted token.
    /// </summary>
    public static RegistryActions GetCatalogActions(Principal principal, RegistryActions requested)
    {
        ArgumentNullException.ThrowIfNull(principal);

        // Anonymous callers are challenged instead: a client holding credentials authenticates only when asked, and
        // an empty list would look like an empty registry to it.
        return principal is AnonymousPrincipal ? RegistryActions.None : requested & RegistryActions.Pull;
    }

    /// <summary>
    /// The grant for a list of requested permissions (as parsed by <see cref="DockerScope.ParseAll"/>):
    /// each repository's actions cut to what the principal may do in its project; repositories whose project
    /// <paramref name="findProject"/> does not know (returns null) get nothing. The result may be empty.
    /// </summary>
    /// <param name="findProject">Looks a project up by name; load the few projects the request names beforehand.</param>
    public static IReadOnlyList<RegistryPermission> Grant(Principal principal, IEnumerable<RegistryPermission> requested, Func<string, ProjectInfo?> findProject)
    {
        ArgumentNullException.ThrowIfNull(principal);
        ArgumentNullException.ThrowIfNull(findProject);
        return PermissionLists.Intersect(requested, permission => permission.Repository is { } repository
            ? findProject(repository.Project) is { } project ? GetAllowedActions(principal, project, permission.Actions) : RegistryActions.None
            : GetCatalogActions(principal, permission.Actions));
    }
}
