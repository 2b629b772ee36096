using Berth.Core.Registry;

namespace Berth.Auth.Permissions;

/// <summary>A member's role in a project. Each role includes everything of the roles before it.</summary>
public enum ProjectRole
{
    /// <summary>Pull.</summary>
    Reader = 1,

    /// <summary>Pull and push.</summary>
    Developer = 2,

    /// <summary>Pull, push, delete, and the project's policies (retention, immutability, quotas).</summary>
    Maintainer = 3,

    /// <summary>Everything in the project, including its members (and robot accounts) and settings.</summary>
    Owner = 4,
}

/// <summary>Who may see a project's content without being a member.</summary>
public enum ProjectVisibility
{
    /// <summary>Members (and server administrators) only.</summary>
    Private,

    /// <summary>Anyone may pull, including anonymous clients; everything else still needs a role.</summary>
    Public,
}

/// <summary>
/// What may be done in a project. The three lowest bits equal <see cref="RegistryActions"/>, so
/// <c>(RegistryActions)(permissions &amp; ProjectPermissions.Registry)</c> is the registry part.
/// </summary>
[Flags]
public enum ProjectPermissions
{
    None = 0,
    Pull = (int)RegistryActions.Pull,
    Push = (int)RegistryActions.Push,
    Delete = (int)RegistryActions.Delete,

    /// <summary>Change retention, immutability and quota policies.</summary>
    ManagePolicies = 8,

    /// <summary>Add, remove and change members and robot accounts.</summary>
    ManageMembers = 16,

    /// <summary>Change the project's settings (visibility, description) and delete the project.</summary>
    ManageSettings = 32,

    /// <summary>The registry actions only.</summary>
    Registry = Pull | Push | Delete,

    All = Registry | ManagePolicies | ManageMembers | ManageSettings,
}

/// <summary>The facts about a project that access decisions need.</summary>
/// <param name="Name">The project name: the first component of its repositories' names.</param>
public sealed record ProjectInfo(string Name, ProjectVisibility Visibility);
