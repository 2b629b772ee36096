using Berth.Core.Access;
using Berth.Core.Registry;

namespace Berth.Auth.Permissions;

/// <summary>
/// Who is making a request, as far as access decisions care. Built once per request by whatever authenticated it
/// (session, basic auth, bearer token); disabled accounts and revoked or expired tokens never become principals.
/// </summary>
public abstract record Principal
{
    private protected Principal()
    {
    }

    /// <summary>No credentials: may pull public projects only.</summary>
    public static AnonymousPrincipal Anonymous { get; } = new();
}

/// <summary>A request without credentials.</summary>
public sealed record AnonymousPrincipal : Principal;

/// <summary>A signed-in person.</summary>
/// <param name="IsAdministrator">Server administrator: every permission in every project, and server management.</param>
/// <param name="Memberships">The user's role per project name (ordinal keys). Projects not listed: no role.</param>
public sealed record UserPrincipal(string Name, bool IsAdministrator, IReadOnlyDictionary<string, ProjectRole> Memberships) : Principal
{
    /// <summary>A user without memberships.</summary>
    public UserPrincipal(string name, bool isAdministrator = false)
        : this(name, isAdministrator, new Dictionary<string, ProjectRole>(StringComparer.Ordinal))
    {
    }
}

/// <summary>A robot account, which belongs to exactly one project.</summary>
/// <param name="Actions">The registry actions the robot was given in <paramref name="Project"/>.</param>
public sealed record RobotPrincipal(string Name, string Project, RegistryActions Actions) : Principal;

/// <summary>
/// A request authenticated with an access token: it may do what its owner may do, limited to the token's scope and,
/// when <paramref name="Projects"/> is set, to those projects. Tokens carry registry actions only, never project
/// management or server administration.
/// </summary>
/// <param name="Owner">The token owner as a principal (<see cref="UserPrincipal"/> or <see cref="RobotPrincipal"/>).</param>
/// <param name="Scope">The token's scope as registry actions.</param>
/// <param name="Projects">Project names the token is restricted to; null for no restriction.</param>
public sealed record TokenPrincipal(Principal Owner, RegistryActions Scope, IReadOnlyCollection<string>? Projects = null) : Principal;
