using Berth.Core.Access;
using Berth.Core.Registry;

namespace Berth.Auth.Permissions;

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
