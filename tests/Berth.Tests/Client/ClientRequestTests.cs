using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Tests.Client;

/// <summary>Each command sends the request docs/management-api.md specifies: method, path, query and exact JSON body.</summary>
public sealed class ClientRequestTests : IDisposable
{
    private static readonly string AdminAuthorization =
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{ClientHarness.AdminPassword}"));

    private readonly ClientHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    public static TheoryData<string, string, string, string?> Requests => new()
    {
        { "project create web", "POST", "/api/v1/projects", """{"name":"web"}""" },
        { "project create web --description Web --public", "POST", "/api/v1/projects", """{"name":"web","description":"Web","public":true}""" },
        { "project list", "GET", "/api/v1/projects", null },
        { "project show web", "GET", "/api/v1/projects/web", null },
        { "project update web --description Apps --private", "PATCH", "/api/v1/projects/web", """{"description":"Apps","public":false}""" },
        { "project update web --public", "PATCH", "/api/v1/projects/web", """{"public":true}""" },
        { "project delete web", "DELETE", "/api/v1/projects/web", null },
        { "project delete web --force", "DELETE", "/api/v1/projects/web?force=true", null },
        { "user create bob", "POST", "/api/v1/users", """{"name":"bob"}""" },
        { "user create bob --admin", "POST", "/api/v1/users", """{"name":"bob","administrator":true}""" },
        { "user list", "GET", "/api/v1/users", null },
        { "user show bob", "GET", "/api/v1/users/bob", null },
        { "user update bob --no-admin --disable", "PATCH", "/api/v1/users/bob", """{"administrator":false,"disabled":true}""" },
        { "user update bob --admin --enable", "PATCH", "/api/v1/users/bob", """{"administrator":true,"disabled":false}""" },
        { "user delete bob", "DELETE", "/api/v1/users/bob", null },
        { "member add web bob --role developer", "PUT", "/api/v1/projects/web/members/bob", """{"role":"developer"}""" },
        { "member set-role web bob --role owner", "PUT", "/api/v1/projects/web/members/bob", """{"role":"owner"}""" },
        { "member list web", "GET", "/api/v1/projects/web/members", null },
        { "member remove web bob", "DELETE", "/api/v1/projects/web/members/bob", null },
        { "token create --name ci --scope pull,push --project web --project api --expires 30d", "POST", "/api/v1/tokens", """{"name":"ci","scope":"pull,push","projects":["web","api"],"expires":"30d"}""" },
        { "token create --name ci --scope pull", "POST", "/api/v1/tokens", """{"name":"ci","scope":"pull"}""" },
        { "token create --name=ci --scope=pull,push,delete --expires=2027-01-31T00:00:00Z", "POST", "/api/v1/tokens", """{"name":"ci","scope":"pull,push,delete","expires":"2027-01-31T00:00:00Z"}""" },
        { "token list", "GET", "/api/v1/tokens", null },
        { "token revoke 42", "DELETE", "/api/v1/tokens/42", null },
        { "robot create web deployer --scope pull,push --description CI", "POST", "/api/v1/projects/web/robots", """{"name":"deployer","description":"CI","scope":"pull,push"}""" },
        { "robot create web deployer --scope pull", "POST", "/api/v1/projects/web/robots", """{"name":"deployer","scope":"pull"}""" },
        { "robot list web", "GET", "/api/v1/projects/web/robots", null },
        { "robot show web deployer", "GET", "/api/v1/projects/web/robots/deployer", null },
        { "robot update web deployer --scope pull --disable", "PATCH", "/api/v1/projects/web/robots/deployer", """{"scope":"pull","disabled":true}""" },
        { "robot update web deployer --description Deploys --enable", "PATCH", "/api/v1/projects/web/robots/deployer", """{"description":"Deploys","disabled":false}""" },
        { "robot delete web deployer", "DELETE", "/api/v1/projects/web/robots/deployer", null },
        { "robot token create web deployer --name ci --expires 12h", "POST", "/api/v1/projects/web/robots/deployer/tokens", """{"name":"ci","expires":"12h"}""" },
        { "robot token create web deployer --name ci", "POST", "/api/v1/projects/web/robots/deployer/tokens", """{"name":"ci"}""" },
        { "robot token list web deployer", "GET", "/api/v1/projects/web/robots/deployer/tokens", null },
        { "robot token revoke web deployer 7", "DELETE", "/api/v1/projects/web/robots/deployer/tokens/7", null },
        { "ip-allow list", "GET", "/api/v1/ip-allow", null },
        { "ip-allow list --project web", "GET", "/api/v1/projects/web/ip-allow", null },
        { "ip-allow add 10.0.0.0/8 --note office", "POST", "/api/v1/ip-allow", """{"network":"10.0.0.0/8","note":"office"}""" },
        { "ip-allow add 192.168.1.7 --project web", "POST", "/api/v1/projects/web/ip-allow", """{"network":"192.168.1.7/32"}""" },
        { "ip-allow add 2001:db8::/32", "POST", "/api/v1/ip-allow", """{"network":"2001:db8::/32"}""" },
        { "ip-allow remove 3", "DELETE", "/api/v1/ip-allow/3", null },
        { "ip-allow remove 3 --project web", "DELETE", "/api/v1/projects/web/ip-allow/3", null },
        { "audit", "GET", "/api/v1/audit", null },
        { "audit --project web --user bob --action project.create --limit 50", "GET", "/api/v1/audit?project=web&user=bob&action=project.create&limit=50", null },
        { "audit --since 2026-01-01T00:00:00Z --until 24h", "GET", "/api/v1/audit?from=2026-01-01T00%3A00%3A00.000Z&until=2026-11-28T06%3A30%3A00.000Z", null },
        { "audit --since 90m", "GET", "/api/v1/audit?from=2026-11-29T05%3A00%3A00.000Z", null },
        { "whoami", "GET", "/api/v1/me", null },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Command_SendsTheContractRequest(string command, string method, string pathAndQuery, string? body)
    {
        var result = await _harness.RunAsync(command.Split(' '));

        Assert.True(result.Exit == 0, result.Error);
        Assert.Equal("", result.Error);
        var request = _harness.Api.Single();
        Assert.Equal(method, request.Method);
        Assert.Equal(ClientHarness.Server + pathAndQuery, request.Uri.AbsoluteUri);
        Assert.Equal(AdminAuthorization, request.Authorization);
        if (body is null)
        {
            Assert.Null(request.Body);
        }
        else
        {
            Assert.Equal("application/json", request.ContentType);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(body), request.Json), $"sent {request.Body}, expected {body}");
        }
    }

    [Fact]
    public async Task Names_AreEscapedInThePath()
    {
        var result = await _harness.RunAsync("project", "show", "a b/c");

        Assert.Equal(0, result.Exit);
        Assert.Equal("https://berth.test/api/v1/projects/a%20b%2Fc", _harness.Api.Single().Uri.AbsoluteUri);
    }

    [Fact]
    public async Task ProjectCreate_DescriptionWithSpacesAndPlus_IsSentVerbatim()
    {
        await _harness.RunAsync("project", "create", "web", "--description", "Web + API <apps>");

        Assert.Equal("Web + API <apps>", (string?)_harness.Api.Single().Json!["description"]);
    }

    [Fact]
    public async Task UserCreate_PasswordStdin_SendsThePasswordAndNeverPrintsIt()
    {
        var result = await _harness.RunWithInputAsync("Bob-Pa55word\n", "user", "create", "bob", "--password-stdin", "--admin");

        Assert.Equal(0, result.Exit);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"name":"bob","password":"Bob-Pa55word","administrator":true}"""), _harness.Api.Single().Json));
        Assert.DoesNotContain("Bob-Pa55word", result.Out + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserUpdate_PasswordStdin_SendsOnlyThePassword()
    {
        var result = await _harness.RunWithInputAsync("New-Pa55word\r\n", "user", "update", "bob", "--password-stdin");

        Assert.Equal(0, result.Exit);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"password":"New-Pa55word"}"""), _harness.Api.Single().Json));
        Assert.DoesNotContain("New-Pa55word", result.Out + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserPasswd_FromStdin_PutsBothPasswordsAndUpdatesTheStoredLogin()
    {
        var result = await _harness.RunWithInputAsync($"{ClientHarness.AdminPassword}\nBrand-New-Pw9\n", "user", "passwd");

        Assert.Equal(0, result.Exit);
        var request = _harness.Api.Single();
        Assert.Equal("PUT", request.Method);
        Assert.Equal("/api/v1/me/password", request.PathAndQuery);
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse($$"""{"currentPassword":"{{ClientHarness.AdminPassword}}","newPassword":"Brand-New-Pw9"}"""), request.Json));
        Assert.Equal("Password changed\n", result.Out);
        Assert.DoesNotContain("Brand-New-Pw9", result.Out + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientHarness.AdminPassword, result.Out + result.Error, StringComparison.Ordinal);
        Assert.Equal("Brand-New-Pw9", new Berth.Client.CredentialStore(_harness.ConfigDirectory).Find(ClientHarness.Server)!.Secret);
    }

    [Fact]
    public async Task UserPasswd_OnATerminal_PromptsWithoutEcho()
    {
        _harness.Prompts = new Queue<string>([ClientHarness.AdminPassword, "Brand-New-Pw9", "Brand-New-Pw9"]);

        var result = await _harness.RunAsync("user", "passwd");

        Assert.Equal(0, result.Exit);
        Assert.Equal(3, _harness.Asked.Count);
        Assert.All(_harness.Asked, a => Assert.False(a.Echo));
        Assert.Equal("Brand-New-Pw9", (string?)_harness.Api.Single().Json!["newPassword"]);
    }

    [Fact]
    public async Task UserPasswd_NewPasswordsDiffer_IsAUsageErrorAndSendsNothing()
    {
        _harness.Prompts = new Queue<string>([ClientHarness.AdminPassword, "Brand-New-Pw9", "Brand-New-Pw8"]);

        var result = await _harness.RunAsync("user", "passwd");

        Assert.Equal(2, result.Exit);
        Assert.Contains("the new passwords differ", result.Error, StringComparison.Ordinal);
        Assert.Empty(_harness.Api.Requests);
    }

    [Fact]
    public async Task ServerOption_UsesThatServerAndItsStoredLogin()
    {
        new Berth.Client.CredentialStore(_harness.ConfigDirectory).Save(new Berth.Client.Login("http://other.test:5000", "carol", "carol-pw"));

        var result = await _harness.RunAsync("project", "list", "--server", ClientHarness.Server + "/");

        Assert.Equal(0, result.Exit);
        var request = _harness.Api.Single();
        Assert.Equal("https://berth.test/api/v1/projects", request.Uri.AbsoluteUri);
        Assert.Equal(AdminAuthorization, request.Authorization);
    }

    [Fact]
    public async Task DefaultServer_IsTheLastOneLoggedIn()
    {
        new Berth.Client.CredentialStore(_harness.ConfigDirectory).Save(new Berth.Client.Login("http://other.test:5000", "carol", "carol-pw"));

        await _harness.RunAsync("project", "list");

        var request = _harness.Api.Single();
        Assert.Equal("http://other.test:5000/api/v1/projects", request.Uri.AbsoluteUri);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("carol:carol-pw")), request.Authorization);
    }

    [Fact]
    public async Task ServerWithoutStoredLogin_SendsNoCredentials()
    {
        var result = await _harness.RunAsync("project", "list", "--server", "http://anonymous.test");

        Assert.Equal(0, result.Exit);
        Assert.Null(_harness.Api.Single().Authorization);
    }

    [Fact]
    public async Task ServerWithAPathPrefix_KeepsThePrefix()
    {
        await _harness.RunAsync("whoami", "--server", "https://example.test/registry/");

        Assert.Equal("https://example.test/registry/api/v1/me", _harness.Api.Single().Uri.AbsoluteUri);
    }
}
