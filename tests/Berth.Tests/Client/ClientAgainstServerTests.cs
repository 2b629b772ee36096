using System.Net;
using System.Text.Json;
using Berth.Client;
using Berth.Testing;

namespace Berth.Tests.Client;

/// <summary>
/// The CLI against the real server in memory: every command group once, through the real /api/v1, so the client
/// and the server agree on the contract (docs/management-api.md), and a token the CLI creates works on /v2.
/// </summary>
public sealed class ClientAgainstServerTests : IDisposable
{
    private const string Url = "http://localhost";
    private readonly BerthApplication _app = new() { DefaultCredentials = null };
    private readonly string _config = Directory.CreateTempSubdirectory("berth-cli-int-").FullName;

    public void Dispose()
    {
        _app.Dispose();
        Directory.Delete(_config, recursive: true);
    }

    private async Task<RunResult> Run(string stdin, string configFolder, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new ClientContext
        {
            Handler = _app.Server.CreateHandler(),
            In = new StringReader(stdin),
            Out = output,
            Error = error,
            ConfigDirectory = configFolder,
        };
        var exit = await ClientCli.RunAsync(args, context);
        return new RunResult(exit, output.ToString(), error.ToString());
    }

    private Task<RunResult> Admin(params string[] args) => Run(string.Empty, Path.Combine(_config, "admin"), args);

    private static void Ok(RunResult result) => Assert.True(result.Exit == 0, $"exit {result.Exit}: {result.Error}{result.Out}");

    [Fact]
    public async Task EveryCommandGroup_WorksAgainstTheRealServer()
    {
        Ok(await Run(BerthApplication.AdminPassword + "\n", Path.Combine(_config, "admin"), "login", Url, "-u", "admin", "--password-stdin"));
        var wrong = await Run("nope\n", Path.Combine(_config, "x"), "login", Url, "-u", "admin", "--password-stdin");
        Assert.Equal(1, wrong.Exit);

        Ok(await Admin("project", "create", "shop", "--description", "Shop services"));
        Ok(await Admin("project", "create", "docs", "--public"));
        var projects = await Admin("project", "list", "--output", "json");
        Ok(projects);
        var list = JsonDocument.Parse(projects.Out).RootElement.EnumerateArray().ToList();
        Assert.Equal(["docs", "shop"], list.Select(p => p.GetProperty("name").GetString()).Order());
        Assert.Equal("public", list.Single(p => p.GetProperty("name").GetString() == "docs").GetProperty("visibility").GetString());
        Ok(await Admin("project", "update", "shop", "--description", "Shop"));
        Assert.Contains("Shop", (await Admin("project", "show", "shop")).Out, StringComparison.Ordinal);

        Ok(await Run("alices-password\n", Path.Combine(_config, "admin"), "user", "create", "alice", "--password-stdin"));
        Assert.Contains("alice", (await Admin("user", "list")).Out, StringComparison.Ordinal);
        Ok(await Admin("member", "add", "shop", "alice", "--role", "developer"));
        Ok(await Admin("member", "set-role", "shop", "alice", "--role", "maintainer"));
        Assert.Contains("maintainer", (await Admin("member", "list", "shop")).Out, StringComparison.Ordinal);

        Ok(await Admin("robot", "create", "shop", "ci", "--scope", "pull,push"));
        var robotToken = await Admin("robot", "token", "create", "shop", "ci", "--name", "gitlab", "--expires", "30d", "--output", "json");
        Ok(robotToken);
        var robotSecret = JsonDocument.Parse(robotToken.Out).RootElement.GetProperty("token").GetString()!;
        Assert.StartsWith("berth_robot_", robotSecret, StringComparison.Ordinal);
        Assert.Contains("gitlab", (await Admin("robot", "token", "list", "shop", "ci")).Out, StringComparison.Ordinal);

        // alice signs in on her own machine and makes herself a token; it works for docker-style Basic auth on /v2.
        var aliceConfig = Path.Combine(_config, "alice");
        Ok(await Run("alices-password\n", aliceConfig, "login", Url, "-u", "alice", "--password-stdin"));
        var created = await Run(string.Empty, aliceConfig, "token", "create", "--name", "laptop", "--scope", "pull,push", "--project", "shop", "--expires", "30d", "--output", "json");
        Ok(created);
        var token = JsonDocument.Parse(created.Out).RootElement;
        var secret = token.GetProperty("token").GetString()!;
        Assert.StartsWith("berth_pat_", secret, StringComparison.Ordinal);
        using (var registry = _app.CreateClient("alice", secret))
        {
            var image = TestImages.OciImage(1);
            await registry.PushManifestAsync("shop/api", image, "v1");
            using var pulled = await registry.GetAsync("/v2/shop/api/manifests/v1");
            Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);
        }

        Assert.Contains("laptop", (await Run(string.Empty, aliceConfig, "token", "list")).Out, StringComparison.Ordinal);
        Ok(await Run(string.Empty, aliceConfig, "token", "revoke", token.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using (var revoked = _app.CreateClient("alice", secret))
        {
            using var refused = await revoked.GetAsync("/v2/shop/api/manifests/v1");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var whoami = await Run(string.Empty, aliceConfig, "whoami");
        Ok(whoami);
        Assert.Contains("alice", whoami.Out, StringComparison.Ordinal);

        Ok(await Admin("ip-allow", "add", "127.0.0.0/8", "--project", "shop", "--note", "loopback"));
        Assert.Contains("127.0.0.0/8", (await Admin("ip-allow", "list", "--project", "shop")).Out, StringComparison.Ordinal);

        var audit = await Admin("audit", "--project", "shop", "--all", "--output", "json");
        Ok(audit);
        var actions = JsonDocument.Parse(audit.Out).RootElement.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToHashSet();
        Assert.Contains("project.create", actions);
        Assert.Contains("member.add", actions);
        Assert.Contains("push", actions);
        Assert.Contains("robot.create", actions);

        Ok(await Admin("member", "remove", "shop", "alice"));
        Ok(await Admin("robot", "delete", "shop", "ci"));
        var refusedDelete = await Admin("project", "delete", "shop");
        Assert.Equal(1, refusedDelete.Exit); // it has a repository; the message names the CLI's flag
        Assert.Contains("berth project delete shop --force", refusedDelete.Error, StringComparison.Ordinal);
        Ok(await Admin("project", "delete", "shop", "--force"));
        using (var admin = _app.CreateClient(BerthApplication.AdminUser, BerthApplication.AdminPassword))
        {
            Assert.DoesNotContain("shop/api", await admin.GetCatalogAsync()); // the repositories went with it
        }

        Ok(await Admin("user", "delete", "alice"));
        Ok(await Admin("logout", Url));
    }

    [Fact]
    public async Task IpAllowRemove_TheLastRuleForYourAddress_IsRefusedAndSaysWhy()
    {
        Ok(await Run(BerthApplication.AdminPassword + "\n", Path.Combine(_config, "admin"), "login", Url, "-u", "admin", "--password-stdin"));
        Ok(await Admin("project", "create", "shop"));

        // The sequence, from 127.0.0.1: add 127.0.0.1, add 10.0.0.0/8, remove the first.
        Ok(await Admin("ip-allow", "add", "127.0.0.1", "--project", "shop"));
        Ok(await Admin("ip-allow", "add", "10.0.0.0/8", "--project", "shop"));
        var list = await Admin("ip-allow", "list", "--project", "shop", "--output", "json");
        Ok(list);
        var first = JsonDocument.Parse(list.Out).RootElement.EnumerateArray().First().GetProperty("id").GetInt64();

        var refused = await Admin("ip-allow", "remove", first.ToString(System.Globalization.CultureInfo.InvariantCulture), "--project", "shop");

        Assert.Equal(1, refused.Exit);
        Assert.Contains("127.0.0.1", refused.Error, StringComparison.Ordinal);
        Assert.Contains("lock yourself out", refused.Error, StringComparison.Ordinal);
        Ok(await Admin("project", "show", "shop"));
    }

    [Fact]
    public async Task LogoutEverywhere_EndsDockersRefreshTokens_AndRemovesTheLogin()
    {
        var config = Path.Combine(_config, "admin");
        Ok(await Run(BerthApplication.AdminPassword + "\n", config, "login", Url, "-u", "admin", "--password-stdin"));
        using var http = _app.CreateAnonymousClient();
        async Task<HttpStatusCode> GrantAsync(params (string, string)[] form)
        {
            using var response = await http.PostAsync("/token", new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Item1, f.Item2))));
            return response.StatusCode;
        }

        using var login = await http.PostAsync("/token", new FormUrlEncodedContent([
            KeyValuePair.Create("grant_type", "password"), KeyValuePair.Create("username", "admin"),
            KeyValuePair.Create("password", BerthApplication.AdminPassword), KeyValuePair.Create("access_type", "offline")]));
        var refresh = JsonDocument.Parse(await login.Content.ReadAsStringAsync()).RootElement.GetProperty("refresh_token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await GrantAsync(("grant_type", "refresh_token"), ("refresh_token", refresh)));

        var result = await Run(string.Empty, config, "logout", "--everywhere");

        Ok(result);
        Assert.Contains("Signed out everywhere", result.Out, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, await GrantAsync(("grant_type", "refresh_token"), ("refresh_token", refresh)));
        Assert.Null(new CredentialStore(config).Find(Url));
        var again = await Run(string.Empty, config, "logout", "--everywhere", Url);
        Assert.Equal(1, again.Exit);
        Assert.Contains("not logged in", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenLists_ShowStateAndARobotsRealScopeAndProject()
    {
        Ok(await Run(BerthApplication.AdminPassword + "\n", Path.Combine(_config, "admin"), "login", Url, "-u", "admin", "--password-stdin"));
        Ok(await Admin("project", "create", "shop"));
        Ok(await Admin("robot", "create", "shop", "ci", "--scope", "pull,push"));
        Ok(await Admin("robot", "token", "create", "shop", "ci", "--name", "gitlab"));
        Ok(await Admin("token", "create", "--name", "kept", "--scope", "pull"));
        Ok(await Admin("token", "create", "--name", "dropped", "--scope", "pull"));
        Ok(await Admin("token", "create", "--name", "brief", "--scope", "pull", "--expires", "1h"));
        var mine = JsonDocument.Parse((await Admin("token", "list", "--output", "json")).Out).RootElement.EnumerateArray().ToList();
        var dropped = mine.Single(t => t.GetProperty("name").GetString() == "dropped").GetProperty("id").GetInt64();
        Ok(await Admin("token", "revoke", dropped.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        _app.Clock.Advance(TimeSpan.FromHours(2));

        var table = (await Admin("token", "list")).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("STATE", table[0], StringComparison.Ordinal);
        Assert.Contains(" active ", table.Single(l => l.Contains("kept", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains(" revoked ", table.Single(l => l.Contains("dropped", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains(" expired ", table.Single(l => l.Contains("brief", StringComparison.Ordinal)), StringComparison.Ordinal);
        var json = JsonDocument.Parse((await Admin("token", "list", "--output", "json")).Out).RootElement.EnumerateArray()
            .ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("state").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["kept"] = "active", ["dropped"] = "revoked", ["brief"] = "expired" }, json);

        var robot = (await Admin("robot", "token", "list", "shop", "ci")).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var row = robot.Single(l => l.Contains("gitlab", StringComparison.Ordinal));
        Assert.Contains(" pull,push ", row, StringComparison.Ordinal);
        Assert.Contains(" shop ", row, StringComparison.Ordinal);
        Assert.DoesNotContain("delete", row, StringComparison.Ordinal);
        Assert.DoesNotContain(" all ", row, StringComparison.Ordinal);
    }
}
