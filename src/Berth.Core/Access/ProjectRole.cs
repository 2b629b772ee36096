namespace Berth.Core.Access;

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
