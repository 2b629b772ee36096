using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Access.Conformance;

/// <summary>The access-control stores of one provider, opened on an empty database.</summary>
/// <param name="Blobs">Used only to create repositories (a project with repositories refuses an unforced delete).</param>
public sealed record AccessStores(
    IProjectStore Projects,
    IUserStore Users,
    IMembershipStore Memberships,
    IRobotAccountStore Robots,
    IAccessTokenStore Tokens,
    IIpAllowRuleStore IpRules,
    IAuditLog Audit,
    IBlobIndex Blobs,
    IKnownNetworkStore KnownNetworks)
{
    /// <summary>The registry content of the same database, which a forced project delete removes with the project.</summary>
    public required RegistryContent Registry { get; init; }

    /// <summary>The project's tag immutability rules, which the registry content's writes obey.</summary>
    public required IImmutabilityRuleStore ImmutabilityRules { get; init; }

    /// <summary>The projects' retention policies and run history.</summary>
    public required Core.Retention.IRetentionStore Retention { get; init; }
}

/// <summary>The registry metadata interfaces of the provider's database.</summary>
public sealed record RegistryContent(IRepositoryIndex Repositories, IManifestIndex Manifests, IUploadSessionStore Sessions);

/// <summary>
/// The contract of the access-control stores (<see cref="IProjectStore"/>, <see cref="IUserStore"/>,
/// <see cref="IMembershipStore"/>, <see cref="IRobotAccountStore"/>, <see cref="IAccessTokenStore"/>,
/// <see cref="IIpAllowRuleStore"/>, <see cref="IAuditLog"/>, <see cref="IKnownNetworkStore"/>). Every provider runs it by deriving a class that opens
/// its stores on a fresh, empty database per test; xunit makes one instance per test.
/// </summary>
public abstract partial class AccessStoreConformance : IAsyncLifetime
{
    protected static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private AccessStores? _stores;

    protected FakeTimeProvider Clock { get; } = new(Start);

    protected AccessStores Stores => _stores ?? throw new InvalidOperationException("Not opened.");

    protected IProjectStore Projects => Stores.Projects;

    protected IUserStore Users => Stores.Users;

    protected IMembershipStore Memberships => Stores.Memberships;

    protected IRobotAccountStore Robots => Stores.Robots;

    protected IAccessTokenStore Tokens => Stores.Tokens;

    protected IIpAllowRuleStore IpRules => Stores.IpRules;

    protected IAuditLog Audit => Stores.Audit;

    protected IKnownNetworkStore KnownNetworks => Stores.KnownNetworks;

    protected static CancellationToken Ct => CancellationToken.None;

    /// <summary>Opens the provider's stores on a new, empty database, reading time from <paramref name="clock"/>.</summary>
    protected abstract Task<AccessStores> OpenAsync(TimeProvider clock);

    /// <summary>Closes the stores and removes the database.</summary>
    protected abstract Task CloseAsync();

    public async Task InitializeAsync() => _stores = await OpenAsync(Clock);

    public Task DisposeAsync() => CloseAsync();

    // ------------------------------------------------------------------ helpers

    protected static ProjectName P(string name) => ProjectName.Parse(name);

    protected static UserName U(string name) => UserName.Parse(name);

    protected async Task<Project> CreateProjectAsync(string name, ProjectVisibility visibility = ProjectVisibility.Private)
    {
        var result = await Projects.CreateAsync(P(name), "", visibility, Ct);
        Assert.Equal(ProjectCreateStatus.Created, result.Status);
        return result.Project!;
    }

    protected async Task<User> CreateUserAsync(string name, bool isAdministrator = false)
    {
        var result = await Users.CreateAsync(U(name), "$hash$" + name, isAdministrator, Ct);
        Assert.Equal(UserCreateStatus.Created, result.Status);
        return result.User!;
    }

    protected async Task<RobotAccount> CreateRobotAsync(string project, string name, RegistryActions actions = RegistryActions.Pull)
    {
        var result = await Robots.CreateAsync(P(project), name, "", actions, Ct);
        Assert.Equal(RobotCreateStatus.Created, result.Status);
        return result.Robot!;
    }

    private int _tokenCounter;

    /// <summary>A token as AccessTokenService would make it, with a unique lookup id.</summary>
    protected AccessToken NewToken(TokenOwner owner, string name = "ci", IReadOnlyList<string>? projects = null, string? lookupId = null)
    {
        var n = Interlocked.Increment(ref _tokenCounter);
        return new AccessToken
        {
            LookupId = lookupId ?? "lookup" + n.ToString("D10", System.Globalization.CultureInfo.InvariantCulture),
            SecretHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(n))),
            Name = name,
            Owner = owner,
            Scope = AccessTokenScope.PullPush,
            Projects = projects,
            CreatedAt = Clock.GetUtcNow(),
            ExpiresAt = Clock.GetUtcNow().AddDays(90),
        };
    }

    protected async Task<AccessToken> CreateTokenAsync(TokenOwner owner, string name = "ci", IReadOnlyList<string>? projects = null)
    {
        var result = await Tokens.CreateAsync(NewToken(owner, name, projects), Ct);
        Assert.Equal(TokenCreateStatus.Created, result.Status);
        return result.Token!;
    }

    /// <summary>Creates the repository (through the blob index, as a push does), and its project when missing.</summary>
    protected async Task CreateRepositoryAsync(string repository)
    {
        var name = RepositoryName.Parse(repository);
        await Projects.CreateAsync(P(name.Project), "", ProjectVisibility.Private, Ct);
        Assert.Equal(BlobLinkResult.Linked, await Stores.Blobs.LinkAsync(name, Digest.Parse("sha256:" + new string('a', 64)), 1, Ct));
    }

    /// <summary>Reads every page of a keyset listing and checks that only the last page says there is no more.</summary>
    protected static async Task<List<T>> ReadAllPagesAsync<T>(Func<T?, Task<Page<T>>> readPage, int pageSize)
        where T : class
    {
        var all = new List<T>();
        T? last = null;
        for (var pages = 0; pages < 1000; pages++)
        {
            var page = await readPage(last);
            Assert.True(page.Items.Count <= pageSize);
            all.AddRange(page.Items);
            if (!page.HasMore)
            {
                return all;
            }

            Assert.Equal(pageSize, page.Items.Count);
            last = page.Items[^1];
        }

        throw new InvalidOperationException("The listing never ended.");
    }
}
