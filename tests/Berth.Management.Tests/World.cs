using System.Net;
using System.Text;
using Berth.Api.Access;
using Berth.Application.Access;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Berth.Core.Registry;

namespace Berth.Management.Tests;

/// <summary>Every kind of caller the permission rules distinguish.</summary>
public enum Who
{
    Admin,
    Owner,
    Maintainer,
    Developer,
    Reader,
    Stranger,
    Anonymous,

    /// <summary>The administrator's own personal access token (tokens never administer).</summary>
    AdminToken,

    /// <summary>A token of the project's robot <c>ci</c> (pull, push, delete).</summary>
    RobotToken,
}

/// <summary>
/// A server with the private project <c>proj</c>, users <c>owner</c>, <c>maintainer</c>, <c>developer</c>,
/// <c>reader</c> (members with those roles) and <c>stranger</c> (no role), the robot <c>proj+ci</c>, a token of the
/// admin and one of the robot, and a client per <see cref="Who"/>.
/// </summary>
public sealed class World : IDisposable
{
    public const string Project = "proj";

    private readonly Dictionary<Who, HttpClient> _clients = [];

    private World(ManagementApp app) => App = app;

    public ManagementApp App { get; }

    public RobotAccount Robot { get; private set; } = null!;

    public User OwnerUser { get; private set; } = null!;

    public HttpClient this[Who who] => _clients[who];

    public static string PasswordOf(Who who) => who == Who.Admin ? ManagementApp.AdminPassword : ManagementApp.Password;

    public static async Task<World> CreateAsync()
    {
        var world = new World(new ManagementApp());
        await world.SetUpAsync();
        return world;
    }

    private async Task SetUpAsync()
    {
        await App.CreateProjectAsync(Project);
        foreach (var role in new[] { "owner", "maintainer", "developer", "reader" })
        {
            await App.CreateUserAsync(role);
            await App.AddMemberAsync(Project, role, role);
        }

        await App.CreateUserAsync("stranger");
        using (var robot = await App.Admin.SendJsonAsync(HttpMethod.Post, $"/api/v1/projects/{Project}/robots", new { name = "ci", scope = "pull,push,delete" }))
        {
            await Expect.StatusAsync(robot, HttpStatusCode.Created);
        }

        using var robotToken = await App.Admin.SendJsonAsync(HttpMethod.Post, $"/api/v1/projects/{Project}/robots/ci/tokens", new { name = "ci" });
        await Expect.StatusAsync(robotToken, HttpStatusCode.Created);
        var robotSecret = (await robotToken.ReadJsonAsync()).GetProperty("token").GetString()!;
        var (_, adminSecret) = await ManagementApp.CreateTokenAsync(App.Admin, "admin-token");

        Robot = (await App.Service<IRobotAccountStore>().GetAsync(ProjectName.Parse(Project), "ci", default))!;
        OwnerUser = (await App.Service<IUserStore>().GetAsync(UserName.Parse("owner"), default))!;

        _clients[Who.Admin] = App.Admin;
        _clients[Who.Anonymous] = App.Anonymous;
        foreach (var who in new[] { Who.Owner, Who.Maintainer, Who.Developer, Who.Reader, Who.Stranger })
        {
            _clients[who] = App.As(who.ToString().ToLowerInvariant());
        }

        _clients[Who.AdminToken] = App.WithBearer(adminSecret);
        _clients[Who.RobotToken] = App.WithBearer(robotSecret);
    }

    public async Task<string> CreateUserInStoreAsync(string name) =>
        (await App.Service<IUserStore>().CreateAsync(UserName.Parse(name), null, false, default)).User!.Name.Value;

    public async Task<long> CreateTokenInStoreAsync(TokenOwner owner, string name)
    {
        var created = App.Service<AccessTokenService>().Create(new AccessTokenRequest(name, owner, AccessTokenScope.Pull)).Created!;
        return (await App.Service<IAccessTokenStore>().CreateAsync(created.Token, default)).Token!.Id;
    }

    /// <summary>Replaces the rules of the server (null) or the project with <paramref name="networks"/>; returns their ids.</summary>
    public async Task<long[]> SetIpRulesAsync(string? project, params string[] networks)
    {
        var store = App.Service<IIpAllowRuleStore>();
        var name = project is null ? (ProjectName?)null : ProjectName.Parse(project);
        foreach (var rule in await store.ListAsync(name, default))
        {
            await store.RemoveAsync(rule.Id, default);
        }

        var ids = new List<long>();
        foreach (var network in networks)
        {
            ids.Add((await store.AddAsync(name, network, null, default)).Rule!.Id);
        }

        App.Service<IpAllowRules>().Invalidate(project);
        return [.. ids];
    }

    /// <summary>Everything a management request could change (not last-used times), as text to compare.</summary>
    public async Task<string> SnapshotAsync()
    {
        var text = new StringBuilder();
        var users = App.Service<IUserStore>();
        var tokens = App.Service<IAccessTokenStore>();
        var robots = App.Service<IRobotAccountStore>();
        foreach (var user in (await users.ListAsync(null, 1000, default)).Items)
        {
            text.AppendLine($"user {user.Name.Value} {user.IsAdministrator} {user.Disabled} {user.PasswordHash}");
            foreach (var token in (await tokens.ListByOwnerAsync(TokenOwnerKind.User, user.Id, null, 1000, default)).Items)
            {
                text.AppendLine($"  token {token.Id} {token.Name} {token.Scope} {token.ExpiresAt:O} {token.RevokedAt:O}");
            }
        }

        foreach (var project in (await App.Service<IProjectStore>().ListAsync(null, 1000, default)).Items)
        {
            text.AppendLine($"project {project.Name} {project.Description} {project.Visibility}");
            foreach (var member in await App.Service<IMembershipStore>().ListByProjectAsync(project.Name, default))
            {
                text.AppendLine($"  member {member.UserName.Value} {member.Role}");
            }

            foreach (var robot in await robots.ListAsync(project.Name, default))
            {
                text.AppendLine($"  robot {robot.Name} {robot.Description} {robot.Actions} {robot.Disabled}");
                foreach (var token in (await tokens.ListByOwnerAsync(TokenOwnerKind.Robot, robot.Id, null, 1000, default)).Items)
                {
                    text.AppendLine($"    token {token.Id} {token.Name} {token.RevokedAt:O}");
                }
            }

            foreach (var rule in await App.Service<IIpAllowRuleStore>().ListAsync(project.Name, default))
            {
                text.AppendLine($"  ip {rule.Id} {rule.Network}");
            }
        }

        foreach (var rule in await App.Service<IIpAllowRuleStore>().ListAsync(null, default))
        {
            text.AppendLine($"ip {rule.Id} {rule.Network}");
        }

        var changes = (await App.AuditAsync()).Where(e => e.Action is not (AuditActions.LoginSuccess or AuditActions.LoginFailure)).ToList();
        text.AppendLine($"audit entries {changes.Count}");
        return text.ToString();
    }

    public void Dispose() => App.Dispose();
}
