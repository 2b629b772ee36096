using Berth.Api.Access;
using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Auth.Passwords;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Microsoft.Extensions.Options;

namespace Berth.Api.Management;

/// <summary>What the management handlers use, one singleton bound as a handler parameter (handlers are static).</summary>
internal sealed class ManagementServices(
    IProjectStore projects,
    IUserStore users,
    IMembershipStore memberships,
    IRobotAccountStore robots,
    IAccessTokenStore tokens,
    IIpAllowRuleStore ipRules,
    IAuditLog auditLog,
    ProjectDirectory directory,
    IpAllowRules ipAllow,
    AuditRecorder audit,
    PasswordHasher hasher,
    AccessTokenService accessTokens,
    IOptions<AccessTokenOptions> tokenOptions,
    TokenSubjects tokenSubjects,
    TimeProvider clock)
{
    public IProjectStore Projects { get; } = projects;

    public IUserStore Users { get; } = users;

    public IMembershipStore Memberships { get; } = memberships;

    public IRobotAccountStore Robots { get; } = robots;

    public IAccessTokenStore Tokens { get; } = tokens;

    public IIpAllowRuleStore IpRules { get; } = ipRules;

    public IAuditLog AuditLog { get; } = auditLog;

    /// <summary>Invalidate a project here after every create, update and delete.</summary>
    public ProjectDirectory Directory { get; } = directory;

    /// <summary>Invalidate here after every rule added or removed.</summary>
    public IpAllowRules IpAllow { get; } = ipAllow;

    public AuditRecorder Audit { get; } = audit;

    public PasswordHasher Hasher { get; } = hasher;

    public AccessTokenService AccessTokens { get; } = accessTokens;

    public AccessTokenOptions TokenOptions { get; } = tokenOptions.Value;

    public TimeProvider Clock { get; } = clock;

    /// <summary>
    /// After a change to a user, membership, robot, access token or project: registry tokens are checked against the
    /// new state at once on this node (other nodes within <see cref="TokenSubjects.Lifetime"/>).
    /// </summary>
    public void AccessChanged() => tokenSubjects.Invalidate();
}
