namespace Berth.Core.Access;

/// <summary>
/// The words the metadata stores keep for access-control enums (<c>projects.visibility</c>, <c>project_members.role</c>,
/// <c>audit_log.actor_kind</c>): one table for every provider, so that rows copied between them
/// (<c>berth admin migrate</c>) mean the same everywhere. Unknown words read as the least privileged value.
/// </summary>
public static class AccessWords
{
    public static string Word(ProjectVisibility visibility) => visibility switch
    {
        ProjectVisibility.Private => "private",
        ProjectVisibility.Public => "public",
        _ => throw new ArgumentOutOfRangeException(nameof(visibility), visibility, null),
    };

    public static ProjectVisibility ParseVisibility(string word) => word == "public" ? ProjectVisibility.Public : ProjectVisibility.Private;

    public static string Word(ProjectRole role) => role switch
    {
        ProjectRole.Reader => "reader",
        ProjectRole.Developer => "developer",
        ProjectRole.Maintainer => "maintainer",
        ProjectRole.Owner => "owner",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    public static ProjectRole ParseRole(string word) => word switch
    {
        "owner" => ProjectRole.Owner,
        "maintainer" => ProjectRole.Maintainer,
        "developer" => ProjectRole.Developer,
        _ => ProjectRole.Reader,
    };

    public static string Word(AuditActorKind kind) => kind switch
    {
        AuditActorKind.Anonymous => "anonymous",
        AuditActorKind.User => "user",
        AuditActorKind.Robot => "robot",
        AuditActorKind.System => "system",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static AuditActorKind ParseActorKind(string word) => word switch
    {
        "user" => AuditActorKind.User,
        "robot" => AuditActorKind.Robot,
        "system" => AuditActorKind.System,
        _ => AuditActorKind.Anonymous,
    };
}
