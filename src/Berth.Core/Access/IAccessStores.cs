using Berth.Core.Metadata;
using Berth.Core.Registry;

namespace Berth.Core.Access;

// Access-control storage. Stores only keep records and enforce uniqueness and referential rules; who may call what
// is decided above them (Berth.Auth's AccessPolicy). Times are kept to the millisecond. Times the store stamps
// (created, revoked, added) come from the store's TimeProvider.

/// <summary>Projects: the first component of repository names, and the unit of ownership and access.</summary>
public interface IProjectStore
{
    /// <summary>Creates the project. An existing project of that name is left unchanged and gives <see cref="ProjectCreateStatus.Duplicate"/>.</summary>
    Task<ProjectCreateResult> CreateAsync(ProjectName name, string description, ProjectVisibility visibility, CancellationToken cancellationToken);

    /// <summary>The project, or null when there is none of that name.</summary>
    Task<Project?> GetAsync(ProjectName name, CancellationToken cancellationToken);

    /// <summary>Projects with names after <paramref name="after"/> (exclusive; null for the first page), in ordinal name order, at most <paramref name="limit"/> (cut to <see cref="PageSize.Max"/>).</summary>
    Task<Page<Project>> ListAsync(ProjectName? after, int limit, CancellationToken cancellationToken);

    /// <summary>Applies the non-null members of <paramref name="changes"/>; <see cref="UpdateResult.NotFound"/> when there is no such project.</summary>
    Task<UpdateResult> UpdateAsync(ProjectName name, ProjectChanges changes, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the project and everything in it, in one transaction, so that a project created later under the same
    /// name starts empty: its memberships, robot accounts (and their tokens) and IP allow rules; with
    /// <paramref name="force"/>, its repositories (<c>name</c> and <c>name/…</c>) with their manifests, tags,
    /// manifest references, blob links and upload sessions (the blobs themselves become garbage for collection; the
    /// caller removes the sessions' data, named in <see cref="ProjectDeletion.Uploads"/>, after the delete). Personal
    /// access tokens restricted to the project by name lose it from their list, and one whose list would become empty
    /// (which would mean every project) is revoked instead, keeping its list. Without <paramref name="force"/>, while
    /// such repositories exist, nothing is deleted: <see cref="ProjectDeleteStatus.HasRepositories"/>. No project of
    /// that name: <see cref="ProjectDeleteStatus.NotFound"/>. Audit entries are kept. A write that races the delete
    /// cannot bring the content back: repositories are created only inside an existing project
    /// (<see cref="Berth.Core.Metadata.IBlobIndex.LinkAsync"/>), and an upload whose session went completes nothing.
    /// </summary>
    Task<ProjectDeleteResult> DeleteAsync(ProjectName name, bool force, CancellationToken cancellationToken);
}

/// <summary>People who sign in. Names are unique case-insensitively.</summary>
public interface IUserStore
{
    /// <summary>
    /// Creates the user. A user whose name differs only in case exists already: <see cref="UserCreateStatus.Duplicate"/>,
    /// nothing changes.
    /// </summary>
    Task<UserCreateResult> CreateAsync(UserName name, string? passwordHash, bool isAdministrator, CancellationToken cancellationToken);

    /// <summary>The user with that name in any case, or null. Disabled users are returned too (check <see cref="User.Disabled"/>).</summary>
    Task<User?> GetAsync(UserName name, CancellationToken cancellationToken);

    /// <summary>The user with that id, or null. Disabled users are returned too.</summary>
    Task<User?> GetAsync(long id, CancellationToken cancellationToken);

    /// <summary>
    /// Users with names after <paramref name="after"/> (exclusive; null for the first page) at most
    /// <paramref name="limit"/> (cut to <see cref="PageSize.Max"/>), in case-insensitive order: the ordinal order of
    /// the names with ASCII letters lower-cased (so <c>b_c</c> comes before <c>bob</c>; SQLite's NOCASE, PostgreSQL's
    /// <c>lower(name) COLLATE "C"</c>).
    /// </summary>
    Task<Page<User>> ListAsync(UserName? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Sets a new password hash (null: no password sign-in): a password change or reset, so the
    /// <see cref="User.SecurityStamp"/> is replaced in the same write and everything bound to the old one ends.
    /// <see cref="UpdateResult.NotFound"/> for an unknown id.
    /// </summary>
    Task<UpdateResult> SetPasswordHashAsync(long id, string? passwordHash, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the hash of the same password with a stronger one (new hashing parameters, found at a sign-in), keeping
    /// the <see cref="User.SecurityStamp"/>: nothing the user holds ends. Only while the stored hash is still
    /// <paramref name="expectedHash"/> (compared exactly), so a password changed meanwhile is never overwritten;
    /// <see cref="UpdateResult.NotFound"/> when the user is gone or the hash differs.
    /// </summary>
    Task<UpdateResult> RehashPasswordAsync(long id, string expectedHash, string newHash, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the <see cref="User.SecurityStamp"/> with new random text and changes nothing else ("sign out
    /// everywhere"). <see cref="UpdateResult.NotFound"/> for an unknown id.
    /// </summary>
    Task<UpdateResult> RotateSecurityStampAsync(long id, CancellationToken cancellationToken);

    /// <summary>
    /// Grants or removes server administration. Removing it from the only enabled administrator is refused with
    /// <see cref="UserUpdateStatus.LastAdministrator"/>, so the server cannot lose its last administrator. Setting
    /// the value it already has succeeds and changes nothing; a change replaces the <see cref="User.SecurityStamp"/>.
    /// </summary>
    Task<UserUpdateStatus> SetAdministratorAsync(long id, bool isAdministrator, CancellationToken cancellationToken);

    /// <summary>
    /// Disables or re-enables the user; their tokens and memberships stay but must not be honoured while disabled.
    /// Disabling the only enabled administrator is refused with <see cref="UserUpdateStatus.LastAdministrator"/>.
    /// Setting the value it already has changes nothing; a change replaces the <see cref="User.SecurityStamp"/>.
    /// </summary>
    Task<UserUpdateStatus> SetDisabledAsync(long id, bool disabled, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the user with their memberships and access tokens, in one transaction; audit entries keep their name.
    /// Deleting the only enabled administrator is refused with <see cref="UserDeleteStatus.LastAdministrator"/>.
    /// </summary>
    Task<UserDeleteStatus> DeleteAsync(long id, CancellationToken cancellationToken);

    /// <summary>How many users are administrators and not disabled (0 on a fresh server: time to create the first one).</summary>
    Task<int> CountAdministratorsAsync(CancellationToken cancellationToken);
}

/// <summary>Which users hold which role in which project (at most one role per user and project).</summary>
public interface IMembershipStore
{
    /// <summary>Makes the user a member with <paramref name="role"/>. An existing membership is left unchanged (<see cref="MembershipAddStatus.AlreadyMember"/>).</summary>
    Task<MembershipAddStatus> AddAsync(ProjectName project, long userId, ProjectRole role, CancellationToken cancellationToken);

    /// <summary>Changes an existing member's role; <see cref="UpdateResult.NotFound"/> when the user is not a member (or the project does not exist).</summary>
    Task<UpdateResult> SetRoleAsync(ProjectName project, long userId, ProjectRole role, CancellationToken cancellationToken);

    /// <summary>Ends the membership; <see cref="DeleteResult.NotFound"/> when there is none. A project may be left without owners (administrators still manage it).</summary>
    Task<DeleteResult> RemoveAsync(ProjectName project, long userId, CancellationToken cancellationToken);

    /// <summary>Every member of the project, in the user-name order of <see cref="IUserStore.ListAsync"/>; empty when the project does not exist.</summary>
    Task<IReadOnlyList<Membership>> ListByProjectAsync(ProjectName project, CancellationToken cancellationToken);

    /// <summary>Every membership of the user, in project-name order; empty for an unknown user. Enough to build the user's principal.</summary>
    Task<IReadOnlyList<Membership>> ListByUserAsync(long userId, CancellationToken cancellationToken);
}

/// <summary>Robot accounts, each belonging to one project.</summary>
public interface IRobotAccountStore
{
    /// <summary>
    /// Creates a robot account in the project. A robot of that name in the project exists already:
    /// <see cref="RobotCreateStatus.Duplicate"/>. Throws <see cref="ArgumentException"/> when <paramref name="name"/>
    /// fails <see cref="RobotAccount.IsValidName"/> or <paramref name="actions"/> has bits other than pull, push and delete.
    /// </summary>
    Task<RobotCreateResult> CreateAsync(ProjectName project, string name, string description, RegistryActions actions, CancellationToken cancellationToken);

    /// <summary>The robot account, or null.</summary>
    Task<RobotAccount?> GetAsync(long id, CancellationToken cancellationToken);

    /// <summary>The project's robot account of that name, or null.</summary>
    Task<RobotAccount?> GetAsync(ProjectName project, string name, CancellationToken cancellationToken);

    /// <summary>The project's robot accounts in name order; empty when the project does not exist.</summary>
    Task<IReadOnlyList<RobotAccount>> ListAsync(ProjectName project, CancellationToken cancellationToken);

    /// <summary>Applies the non-null members of <paramref name="changes"/> (actions are checked as on create); <see cref="UpdateResult.NotFound"/> for an unknown id.</summary>
    Task<UpdateResult> UpdateAsync(long id, RobotChanges changes, CancellationToken cancellationToken);

    /// <summary>Deletes the robot account with its access tokens, in one transaction.</summary>
    Task<DeleteResult> DeleteAsync(long id, CancellationToken cancellationToken);
}

/// <summary>Personal and robot access tokens (only their hashes; see <see cref="AccessToken"/>).</summary>
public interface IAccessTokenStore
{
    /// <summary>
    /// Stores a token made by Berth.Auth's <c>AccessTokenService.Create</c>; its <see cref="AccessToken.Id"/> is
    /// ignored and assigned, and <see cref="TokenOwner.Name"/> is not stored (reads give the owner's current name).
    /// The owner (by kind and id) must exist (<see cref="TokenCreateStatus.OwnerNotFound"/>); the lookup id must be
    /// unused (<see cref="TokenCreateStatus.DuplicateLookupId"/>), and the name unused among the owner's tokens that
    /// are not revoked (<see cref="TokenCreateStatus.DuplicateName"/>: revoke the old token to reuse its name).
    /// </summary>
    Task<TokenCreateResult> CreateAsync(AccessToken token, CancellationToken cancellationToken);

    /// <summary>The token with that id, revoked and expired ones included; null when there is none.</summary>
    Task<AccessToken?> GetAsync(long id, CancellationToken cancellationToken);

    /// <summary>
    /// The token stored under <paramref name="lookupId"/> (exact, case-sensitive match), revoked and expired ones
    /// included; null when there is none. One indexed read, for every request that presents a token. Says nothing
    /// about the owner's state: refuse the token when the owner is disabled.
    /// </summary>
    Task<AccessToken?> FindByLookupIdAsync(string lookupId, CancellationToken cancellationToken);

    /// <summary>
    /// The owner's tokens (revoked and expired included) with ids above <paramref name="afterId"/> (null for the
    /// first page), oldest first, at most <paramref name="limit"/> (cut to <see cref="PageSize.Max"/>). Empty for an unknown owner.
    /// </summary>
    Task<Page<AccessToken>> ListByOwnerAsync(TokenOwnerKind ownerKind, long ownerId, long? afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Revokes the token now, for good. A revoked token stays revoked at its first revocation time (<see cref="TokenRevokeStatus.AlreadyRevoked"/>).</summary>
    Task<TokenRevokeStatus> RevokeAsync(long id, CancellationToken cancellationToken);

    /// <summary>Records a successful use. The stored time only moves forward: an earlier <paramref name="at"/> changes nothing but still answers <see cref="UpdateResult.Updated"/>.</summary>
    Task<UpdateResult> SetLastUsedAsync(long id, DateTimeOffset at, CancellationToken cancellationToken);
}

/// <summary>
/// Where each user signed in successfully, by network, and when last: the login throttle lets a user's known networks
/// past the per-account limit, so guesses spread over many addresses cannot lock the owner out. Networks are opaque
/// text (Berth.Auth's <c>LoginThrottle.NetworkOf</c>: an IPv4 address, or an IPv6 /64 as <c>2001:db8:1:2::/64</c>)
/// of at most <see cref="MaxNetworkLength"/> characters. Rows go with their user.
/// </summary>
public interface IKnownNetworkStore
{
    public const int MaxNetworkLength = 64;

    /// <summary>
    /// Records a successful sign-in of the user from <paramref name="network"/> at <paramref name="at"/>. The stored time
    /// only moves forward (an earlier time changes nothing and still answers <see cref="UpdateResult.Updated"/>).
    /// <see cref="UpdateResult.NotFound"/> when there is no such user: nothing is stored. Throws
    /// <see cref="ArgumentException"/> for empty or over-long network text.
    /// </summary>
    Task<UpdateResult> RememberAsync(long userId, string network, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>The last successful sign-in of the user from the network (exact text match), or null when none is stored.</summary>
    Task<DateTimeOffset?> GetLastSignInAsync(long userId, string network, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="limit"/> records last used before <paramref name="before"/>; returns how many. Call until it returns less than the limit.</summary>
    Task<int> ForgetBeforeAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken);
}

/// <summary>Networks clients may come from, for the whole server or for one project.</summary>
public interface IIpAllowRuleStore
{
    /// <summary>
    /// Adds a rule for the server (<paramref name="project"/> null) or a project. <paramref name="network"/> is
    /// opaque text here: validate and normalise it first (Berth.Auth's <c>IPNetworkList</c>; store the parsed
    /// network's canonical text) so that the <see cref="IpRuleAddStatus.Duplicate"/> check, an exact text match at
    /// the same level, finds equal networks. Throws <see cref="ArgumentException"/> for empty text.
    /// </summary>
    Task<IpRuleAddResult> AddAsync(ProjectName? project, string network, string? note, CancellationToken cancellationToken);

    /// <summary>Removes the rule; <see cref="DeleteResult.NotFound"/> for an unknown id.</summary>
    Task<DeleteResult> RemoveAsync(long id, CancellationToken cancellationToken);

    /// <summary>The server-wide rules (<paramref name="project"/> null) or one project's, oldest first; empty when there are none or the project does not exist.</summary>
    Task<IReadOnlyList<IpAllowRule>> ListAsync(ProjectName? project, CancellationToken cancellationToken);
}

/// <summary>The append-only record of who did what.</summary>
public interface IAuditLog
{
    /// <summary>
    /// Appends the entry and returns its id (ids increase and are never reused). The entry's own
    /// <see cref="AuditEntry.Id"/> is ignored. Throws <see cref="ArgumentException"/> when the action is empty or longer
    /// than <see cref="AuditEntry.MaxActionLength"/>, <see cref="AuditEntry.Detail"/> is not one JSON document, or
    /// <see cref="AuditEntry.Project"/> is not the project of <see cref="AuditEntry.Repository"/>.
    /// </summary>
    Task<long> AppendAsync(AuditEntry entry, CancellationToken cancellationToken);

    /// <summary>
    /// Appends the entries in order, as <see cref="AppendAsync"/> would one by one (ids increase in the list's order),
    /// with the same checks, all or none: every entry is checked first, then they are written together (one
    /// transaction, one round trip where the store can). When it throws, nothing was written.
    /// </summary>
    Task AppendManyAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken);

    /// <summary>Entries matching every filter of <paramref name="query"/>, newest (highest id) first; see <see cref="AuditQuery"/>.</summary>
    Task<Page<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="limit"/> of the oldest entries from before <paramref name="before"/>; returns how many. Call until it returns less than the limit.</summary>
    Task<int> DeleteBeforeAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken);
}
