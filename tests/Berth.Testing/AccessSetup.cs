using Berth.Auth.Passwords;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Berth.Core.Registry;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Testing;

/// <summary>
/// Arranges users, projects, memberships, robots, access tokens and IP rules straight in the stores of a
/// <see cref="BerthApplication"/>, so tests of the registry's access rules do not depend on the management API.
/// </summary>
public sealed class AccessSetup
{
    private readonly Func<IServiceProvider> _services;

    /// <summary>Over the in-memory server's stores (started on first use).</summary>
    public AccessSetup(BerthApplication app) => _services = () => app.Services;

    /// <summary>
    /// Over the stores of any service provider composed the server's way, e.g. <c>BerthServer.Build(settings).Services</c>
    /// on the data folder of a server running in another process (the end-to-end tests). Caches invalidated here are
    /// this provider's only: the other process sees changes once its own cache lifetime has passed.
    /// </summary>
    public AccessSetup(IServiceProvider services) => _services = () => services;

    private IServiceProvider Services => _services();

    /// <summary>Creates a user with a password.</summary>
    public async Task<User> UserAsync(string name, string password, bool administrator = false)
    {
        var hash = Services.GetRequiredService<PasswordHasher>().Hash(password);
        var result = await Services.GetRequiredService<IUserStore>().CreateAsync(UserName.Parse(name), hash, administrator, CancellationToken.None);
        return result.User ?? throw new InvalidOperationException($"user {name}: {result.Status}");
    }

    public async Task<Project> ProjectAsync(string name, bool isPublic = false, string description = "")
    {
        var result = await Services.GetRequiredService<IProjectStore>().CreateAsync(ProjectName.Parse(name), description,
            isPublic ? ProjectVisibility.Public : ProjectVisibility.Private, CancellationToken.None);
        Invalidate(name);
        return result.Project ?? throw new InvalidOperationException($"project {name}: {result.Status}");
    }

    public async Task SetVisibilityAsync(string project, bool isPublic)
    {
        await Services.GetRequiredService<IProjectStore>().UpdateAsync(ProjectName.Parse(project),
            new ProjectChanges(Visibility: isPublic ? ProjectVisibility.Public : ProjectVisibility.Private), CancellationToken.None);
        Invalidate(project);
    }

    public async Task MemberAsync(string project, User user, ProjectRole role)
    {
        var status = await Services.GetRequiredService<IMembershipStore>().AddAsync(ProjectName.Parse(project), user.Id, role, CancellationToken.None);
        if (status != MembershipAddStatus.Added)
        {
            throw new InvalidOperationException($"member {user.Name} of {project}: {status}");
        }
    }

    /// <summary>Ends the user's membership of the project.</summary>
    public async Task RemoveMemberAsync(string project, User user)
    {
        var result = await Services.GetRequiredService<IMembershipStore>().RemoveAsync(ProjectName.Parse(project), user.Id, CancellationToken.None);
        if (result != Core.Metadata.DeleteResult.Deleted)
        {
            throw new InvalidOperationException($"member {user.Name} of {project}: {result}");
        }
    }

    public async Task<RobotAccount> RobotAsync(string project, string name, RegistryActions actions)
    {
        var result = await Services.GetRequiredService<IRobotAccountStore>().CreateAsync(ProjectName.Parse(project), name, string.Empty, actions, CancellationToken.None);
        return result.Robot ?? throw new InvalidOperationException($"robot {name}: {result.Status}");
    }

    /// <summary>Creates a personal access token and returns its id and secret.</summary>
    public Task<(AccessToken Token, string Secret)> TokenAsync(User owner, AccessTokenScope scope, IReadOnlyList<string>? projects = null, DateTimeOffset? expiresAt = null, string? name = null) =>
        StoreTokenAsync(new AccessTokenRequest(name ?? "t" + Guid.NewGuid().ToString("N")[..8], TokenOwner.User(owner.Id, owner.Name.Value), scope, projects, expiresAt));

    /// <summary>Creates a robot's access token and returns it with its secret.</summary>
    public Task<(AccessToken Token, string Secret)> RobotTokenAsync(RobotAccount robot, AccessTokenScope scope, DateTimeOffset? expiresAt = null) =>
        StoreTokenAsync(new AccessTokenRequest("t" + Guid.NewGuid().ToString("N")[..8], TokenOwner.Robot(robot.Id, robot.FullName), scope, null, expiresAt));

    public async Task RevokeAsync(AccessToken token) =>
        await Services.GetRequiredService<IAccessTokenStore>().RevokeAsync(token.Id, CancellationToken.None);

    /// <summary>Adds an IP allow rule for the server (<paramref name="project"/> null) or a project.</summary>
    public async Task AllowAsync(string network, string? project = null)
    {
        var result = await Services.GetRequiredService<IIpAllowRuleStore>().AddAsync(project is null ? null : ProjectName.Parse(project), network, null, CancellationToken.None);
        if (result.Status != IpRuleAddStatus.Added)
        {
            throw new InvalidOperationException($"rule {network}: {result.Status}");
        }

        Services.GetRequiredService<Berth.Application.Access.IpAllowRules>().Invalidate(project);
    }

    /// <summary>Adds a tag immutability rule to the project (patterns as <c>berth immutability add</c> takes them, split).</summary>
    public async Task<long> ImmutableAsync(string project, string[] tags, string[]? excludeTags = null, string[]? repositories = null)
    {
        var result = await Services.GetRequiredService<IImmutabilityRuleStore>().AddAsync(ProjectName.Parse(project),
            Berth.Core.Immutability.PatternFilter.TryParse(repositories, null, out _)!, Berth.Core.Immutability.PatternFilter.TryParse(tags, excludeTags, out _)!,
            Berth.Core.Immutability.ImmutabilityPolicy.MaxRulesPerProject, CancellationToken.None);
        return result.Status == ImmutabilityRuleAddStatus.Added ? result.Rule!.Id : throw new InvalidOperationException($"immutability rule: {result.Status}");
    }

    /// <summary>Sets the project's storage quota (null: none), applied on this provider's node at once.</summary>
    public async Task QuotaAsync(string project, long? bytes)
    {
        var result = await Services.GetRequiredService<Berth.Core.Quotas.IProjectQuotaStore>().SetQuotaAsync(project, bytes, CancellationToken.None);
        if (result != Berth.Core.Quotas.QuotaSetResult.Set)
        {
            throw new InvalidOperationException($"quota of {project}: {result}");
        }

        Services.GetRequiredService<Berth.Core.Quotas.QuotaGuard>().Invalidate(project);
    }

    /// <summary>The project's usage in bytes now.</summary>
    public async Task<long> UsedAsync(string project) =>
        (await Services.GetRequiredService<Berth.Core.Quotas.IProjectQuotaStore>().GetUsageAsync(project, CancellationToken.None))?.UsedBytes
        ?? throw new InvalidOperationException($"no project {project}");

    /// <summary>Waits until queued audit entries are written, then reads the newest ones.</summary>
    public async Task<IReadOnlyList<AuditEntry>> AuditAsync(AuditQuery? query = null)
    {
        await Services.GetRequiredService<Berth.Application.Audit.AuditRecorder>().FlushAsync(CancellationToken.None);
        return (await Services.GetRequiredService<IAuditLog>().QueryAsync(query ?? new AuditQuery(Limit: 1000), CancellationToken.None)).Items;
    }

    private async Task<(AccessToken Token, string Secret)> StoreTokenAsync(AccessTokenRequest request)
    {
        var created = Services.GetRequiredService<AccessTokenService>().Create(request);
        var created2 = created.Created ?? throw new InvalidOperationException($"token: {created.Status}");
        var stored = await Services.GetRequiredService<IAccessTokenStore>().CreateAsync(created2.Token, CancellationToken.None);
        return (stored.Token ?? throw new InvalidOperationException($"token: {stored.Status}"), created2.Secret);
    }

    private void Invalidate(string project) => Services.GetRequiredService<Berth.Application.Access.ProjectDirectory>().Invalidate(project);
}
