using System.Net;
using System.Text;
using Berth.Core.Registry;
using Berth.Oci;

namespace Berth.Core.Access;

/// <summary>One page of a keyset-paginated listing; <see cref="HasMore"/> tells whether a next page exists.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, bool HasMore);

/// <summary>Page-size bounds shared by every access listing.</summary>
public static class PageSize
{
    /// <summary>The largest page a listing returns; larger requests are cut to this.</summary>
    public const int Max = 1000;

    /// <summary><paramref name="limit"/> cut to <see cref="Max"/>; throws when it is below 1.</summary>
    public static int Clamp(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return Math.Min(limit, Max);
    }
}

/// <summary>Outcome of an update of one row.</summary>
public enum UpdateResult
{
    Updated,
    NotFound,
}

// ------------------------------------------------------------------ projects

/// <summary>A project: the unit of ownership and access. Its repositories are those whose name starts with <see cref="Name"/>.</summary>
/// <param name="Description">Free text; empty when none.</param>
public sealed record Project(ProjectName Name, string Description, ProjectVisibility Visibility, DateTimeOffset CreatedAt);

/// <summary>Changes to a project; a null member keeps the stored value.</summary>
public sealed record ProjectChanges(string? Description = null, ProjectVisibility? Visibility = null);

public enum ProjectCreateStatus
{
    Created,

    /// <summary>A project with that name exists; it is unchanged.</summary>
    Duplicate,
}

/// <summary>Status, and on success the stored project.</summary>
public sealed record ProjectCreateResult(ProjectCreateStatus Status, Project? Project = null);

public enum ProjectDeleteStatus
{
    Deleted,
    NotFound,

    /// <summary>Repositories of the project exist and the delete was not forced; nothing was deleted.</summary>
    HasRepositories,
}

/// <summary>Status, and on <see cref="ProjectDeleteStatus.Deleted"/> what went with the project.</summary>
public sealed record ProjectDeleteResult(ProjectDeleteStatus Status, ProjectDeletion? Deleted = null);

/// <summary>
/// What a project delete removed in its transaction. The blobs the repositories linked stay in the blob store (and
/// in the <c>blobs</c> table) for garbage collection; <see cref="Uploads"/> names upload sessions whose data the
/// caller removes from the upload store after the delete.
/// </summary>
/// <param name="Repositories">The repositories removed (<c>name</c> and <c>name/…</c>), in name order.</param>
/// <param name="BlobLinks">Links of blobs to those repositories.</param>
/// <param name="Uploads">Ids of the upload sessions of those repositories that were ended.</param>
/// <param name="TokensNarrowed">Access tokens restricted to several projects by name that lost this one.</param>
/// <param name="TokensRevoked">Access tokens restricted to this project alone, revoked (their list would have become empty, which means every project).</param>
public sealed record ProjectDeletion(
    IReadOnlyList<RepositoryName> Repositories,
    int Manifests,
    int Tags,
    int BlobLinks,
    IReadOnlyList<string> Uploads,
    int Members,
    int Robots,
    int IpRules,
    int TokensNarrowed,
    int TokensRevoked);

// ------------------------------------------------------------------ users

/// <summary>A person who signs in.</summary>
/// <param name="PasswordHash">Opaque text from the password hasher; null when the user cannot sign in with a password.</param>
/// <param name="Disabled">A disabled user cannot sign in, and nothing (tokens included) may act for them.</param>
public sealed record User(long Id, UserName Name, string? PasswordHash, bool IsAdministrator, bool Disabled, DateTimeOffset CreatedAt)
{
    /// <summary>
    /// The account's credential generation: random text the store sets when it creates the user and replaces with new
    /// random text whenever the password is set (not when it is only rehashed, see <see cref="IUserStore.RehashPasswordAsync"/>),
    /// the administrator or disabled flag changes, or <see cref="IUserStore.RotateSecurityStampAsync"/> is called.
    /// Tokens bound to it (refresh tokens, registry tokens of password sign-ins) end when it changes. Never reused,
    /// also not by a new user who gets the id of a deleted one. Filled by the store; empty in a record built by hand.
    /// </summary>
    public string SecurityStamp { get; init; } = string.Empty;

    // Keeps the password hash out of logs that print the record.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Id = ").Append(Id).Append(", Name = ").Append(Name.Value)
            .Append(", IsAdministrator = ").Append(IsAdministrator).Append(", Disabled = ").Append(Disabled)
            .Append(", CreatedAt = ").Append(CreatedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        return true;
    }
}

public enum UserCreateStatus
{
    Created,

    /// <summary>A user with that name exists, compared case-insensitively; it is unchanged.</summary>
    Duplicate,
}

/// <summary>Status, and on success the stored user.</summary>
public sealed record UserCreateResult(UserCreateStatus Status, User? User = null);

/// <summary>Outcome of a change to a user that could lock every administrator out.</summary>
public enum UserUpdateStatus
{
    Updated,
    NotFound,

    /// <summary>The user is the only enabled administrator; demoting or disabling them is refused.</summary>
    LastAdministrator,
}

public enum UserDeleteStatus
{
    Deleted,
    NotFound,

    /// <summary>The user is the only enabled administrator; the delete is refused.</summary>
    LastAdministrator,
}

// ------------------------------------------------------------------ memberships

/// <summary>A user's role in a project.</summary>
public sealed record Membership(ProjectName Project, long UserId, UserName UserName, ProjectRole Role, DateTimeOffset AddedAt);

public enum MembershipAddStatus
{
    Added,

    /// <summary>The user is already a member; the existing role is unchanged (change it with <see cref="IMembershipStore.SetRoleAsync"/>).</summary>
    AlreadyMember,
    ProjectNotFound,
    UserNotFound,
}

// ------------------------------------------------------------------ robot accounts

/// <summary>
/// A non-person account of one project, for CI and other automation. It signs in with its access tokens
/// (<see cref="TokenOwnerKind.Robot"/>) and may do <see cref="Actions"/> in <see cref="Project"/>.
/// </summary>
/// <param name="Name">Unique within the project; same grammar as a project name (see <see cref="IsValidName"/>).</param>
/// <param name="Disabled">Nothing may act for a disabled robot; its tokens are refused.</param>
public sealed record RobotAccount(long Id, ProjectName Project, string Name, string Description, RegistryActions Actions, DateTimeOffset CreatedAt, bool Disabled)
{
    /// <summary>The name it signs in with and tokens show as owner: <c>project+name</c>.</summary>
    public string FullName => FormatFullName(Project, Name);

    public static string FormatFullName(ProjectName project, string name) => project.Value + "+" + name;

    /// <summary>True for a name with the grammar of a project name (lower case, no <c>+</c> or <c>/</c>).</summary>
    public static bool IsValidName(string? name) => ProjectName.TryParse(name, out _);
}

/// <summary>Changes to a robot account; a null member keeps the stored value.</summary>
public sealed record RobotChanges(string? Description = null, RegistryActions? Actions = null, bool? Disabled = null);

public enum RobotCreateStatus
{
    Created,

    /// <summary>The project has a robot account with that name; it is unchanged.</summary>
    Duplicate,
    ProjectNotFound,
}

/// <summary>Status, and on success the stored robot account.</summary>
public sealed record RobotCreateResult(RobotCreateStatus Status, RobotAccount? Robot = null);

// ------------------------------------------------------------------ access tokens

public enum TokenCreateStatus
{
    Created,

    /// <summary>A token with the same <see cref="AccessToken.LookupId"/> exists (practically impossible with random ids: create a new token and try again).</summary>
    DuplicateLookupId,

    /// <summary>The owner has a token with that name that is not revoked.</summary>
    DuplicateName,

    /// <summary>No user or robot account has the owner's id.</summary>
    OwnerNotFound,
}

/// <summary>Status, and on success the stored token (with its <see cref="AccessToken.Id"/> and the owner's current name).</summary>
public sealed record TokenCreateResult(TokenCreateStatus Status, AccessToken? Token = null);

public enum TokenRevokeStatus
{
    Revoked,

    /// <summary>The token was already revoked; its revocation time is unchanged.</summary>
    AlreadyRevoked,
    NotFound,
}

// ------------------------------------------------------------------ IP allow rules

/// <summary>
/// One network from which clients may use the whole server (<see cref="Project"/> null) or one project. An empty
/// set of rules allows every address (see Berth.Auth's <c>IpAllowList</c>).
/// </summary>
/// <param name="Network">CIDR text (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>) as the caller validated and normalised it.</param>
/// <param name="Note">Why the rule exists; optional.</param>
public sealed record IpAllowRule(long Id, ProjectName? Project, string Network, string? Note, DateTimeOffset CreatedAt);

public enum IpRuleAddStatus
{
    Added,

    /// <summary>The same network text is already a rule at that level (server or that project).</summary>
    Duplicate,
    ProjectNotFound,
}

/// <summary>Status, and on success the stored rule.</summary>
public sealed record IpRuleAddResult(IpRuleAddStatus Status, IpAllowRule? Rule = null);

// ------------------------------------------------------------------ audit log

/// <summary>Who did something, as the audit log records it.</summary>
public enum AuditActorKind
{
    /// <summary>A request without credentials; the name is empty.</summary>
    Anonymous,
    User,
    Robot,

    /// <summary>Berth itself (garbage collection, retention); the name says which part.</summary>
    System,
}

/// <summary>The action names Berth writes. The log accepts any non-empty name up to <see cref="AuditEntry.MaxActionLength"/> characters.</summary>
public static class AuditActions
{
    public const string LoginSuccess = "login.success";
    public const string LoginFailure = "login.failure";
    public const string Push = "push";
    public const string Pull = "pull";
    public const string Delete = "delete";
    public const string TokenCreate = "token.create";
    public const string TokenRevoke = "token.revoke";

    /// <summary>A new registry-token signing key (<c>berth admin rotate-token-key</c>).</summary>
    public const string TokenKeyRotate = "token_key.rotate";

    /// <summary>Older registry-token signing keys removed (<c>berth admin retire-token-keys</c>).</summary>
    public const string TokenKeyRetire = "token_key.retire";
    public const string ProjectCreate = "project.create";
    public const string ProjectUpdate = "project.update";
    public const string ProjectDelete = "project.delete";
    public const string MemberAdd = "member.add";
    public const string MemberUpdate = "member.update";
    public const string MemberRemove = "member.remove";
    public const string RobotCreate = "robot.create";
    public const string RobotUpdate = "robot.update";
    public const string RobotDelete = "robot.delete";
    public const string UserCreate = "user.create";
    public const string UserUpdate = "user.update";
    public const string UserDelete = "user.delete";

    /// <summary>A user signed out everywhere: their refresh tokens and remembered sign-ins ended.</summary>
    public const string UserSignOut = "user.sign_out";
    public const string IpRuleAdd = "ip_rule.add";
    public const string IpRuleRemove = "ip_rule.remove";

    /// <summary>A tag immutability rule added to a project.</summary>
    public const string ImmutabilityRuleAdd = "immutability.add";

    /// <summary>A tag immutability rule removed from a project.</summary>
    public const string ImmutabilityRuleRemove = "immutability.remove";

    /// <summary>A server administrator deleted a repository or project holding immutable tags (<c>force-immutable</c>).</summary>
    public const string ImmutabilityOverride = "immutability.override";

    /// <summary>A project's retention policy was set or replaced.</summary>
    public const string RetentionSet = "retention.set";

    /// <summary>A project's retention policy was removed.</summary>
    public const string RetentionDelete = "retention.delete";

    /// <summary>A retention run ended (scheduled or started by hand, dry or not), with its totals.</summary>
    public const string RetentionRun = "retention.run";
    /// <summary>A garbage collection run ended (scheduled or on demand, dry run or not), with its report.</summary>
    public const string GcRun = "gc.run";
    /// <summary>A project's storage quota set or removed (detail: <c>bytes</c>, null for none, and the <c>previous</c> one).</summary>
    public const string QuotaSet = "quota.set";
}

/// <summary>One entry of the audit log. Entries are never changed; old ones are pruned by time.</summary>
public sealed record AuditEntry
{
    public const int MaxActionLength = 100;

    /// <summary>Assigned by the log when the entry is appended (increasing, never reused); 0 before that.</summary>
    public long Id { get; init; }

    public required DateTimeOffset At { get; init; }

    public required AuditActorKind ActorKind { get; init; }

    /// <summary>User name, robot full name, or the part of Berth; empty for anonymous. Compared case-insensitively when filtering.</summary>
    public required string ActorName { get; init; }

    /// <summary>What happened: one of <see cref="AuditActions"/> or another dotted name.</summary>
    public required string Action { get; init; }

    /// <summary>The project concerned, if any. When null and <see cref="Repository"/> is set, the log records the repository's project.</summary>
    public ProjectName? Project { get; init; }

    public RepositoryName? Repository { get; init; }

    /// <summary>The target and details as one JSON document (e.g. <c>{"tag":"v1","digest":"sha256:…"}</c>); null when none.</summary>
    public string? Detail { get; init; }

    /// <summary>The client's address as the request resolved it (after trusted proxies); null when unknown.</summary>
    public IPAddress? ClientAddress { get; init; }
}

/// <summary>
/// Filters for reading the audit log; every set filter must match. Results are newest first (by id), at most
/// <see cref="Limit"/> (cut to <see cref="PageSize.Max"/>).
/// </summary>
/// <param name="ActorName">Compared case-insensitively.</param>
/// <param name="From">Entries at or after this instant.</param>
/// <param name="Until">Entries strictly before this instant.</param>
/// <param name="BeforeId">Keyset cursor: entries with a smaller id (pass the last id of the previous page); null for the first page.</param>
public sealed record AuditQuery(
    ProjectName? Project = null,
    AuditActorKind? ActorKind = null,
    string? ActorName = null,
    string? Action = null,
    DateTimeOffset? From = null,
    DateTimeOffset? Until = null,
    long? BeforeId = null,
    int Limit = 100);
