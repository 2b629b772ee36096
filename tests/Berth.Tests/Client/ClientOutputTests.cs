using System.Net;
using System.Text.Json.Nodes;

namespace Berth.Tests.Client;

/// <summary>Tables, JSON output, paging and the one-time token secret.</summary>
public sealed class ClientOutputTests : IDisposable
{
    private readonly ClientHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private const string Api = """{"name":"api","description":"","visibility":"public","createdAt":"2026-01-02T03:04:05.678Z"}""";

    [Fact]
    public async Task ProjectList_FollowsNextAndPrintsAnAlignedTable()
    {
        _harness.Api.Answer("/api/v1/projects", HttpStatusCode.OK, FakeManagementApi.Page("c1", FakeManagementApi.Project));
        _harness.Api.Answer("/api/v1/projects?after=c1", HttpStatusCode.OK, FakeManagementApi.Page(null, Api));

        var result = await _harness.RunAsync("project", "list");

        Assert.Equal(0, result.Exit);
        Assert.Equal(["/api/v1/projects", "/api/v1/projects?after=c1"], _harness.Api.Requests.Select(r => r.PathAndQuery));
        Assert.Equal(
            """
            NAME   VISIBILITY   USED      QUOTA    CREATED            DESCRIPTION
            web    private      9.8 GiB   10 GiB   2026-11-29 06:30   Web apps
            api    public       -         -        2026-01-02 03:04   -

            """.ReplaceLineEndings("\n"),
            result.Out);
    }

    [Fact]
    public async Task List_Json_IsOneArrayOfEveryPage()
    {
        _harness.Api.Answer("/api/v1/projects", HttpStatusCode.OK, FakeManagementApi.Page("c+1", FakeManagementApi.Project));
        _harness.Api.Answer("/api/v1/projects?after=c%2B1", HttpStatusCode.OK, FakeManagementApi.Page(null, Api));

        var result = await _harness.RunAsync("project", "list", "-o", "json");

        Assert.Equal(0, result.Exit);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($"[{FakeManagementApi.Project},{Api}]"), JsonNode.Parse(result.Out)));
        Assert.Contains("\n  {", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_CursorRepeated_StopsWithAnError()
    {
        _harness.Api.Respond = _ => FakeManagementApi.Json(HttpStatusCode.OK, FakeManagementApi.Page("same", FakeManagementApi.User));

        var result = await _harness.RunAsync("user", "list");

        Assert.Equal(1, result.Exit);
        Assert.Contains("same page cursor twice", result.Error, StringComparison.Ordinal);
        Assert.Equal(2, _harness.Api.Requests.Count);
    }

    [Fact]
    public async Task Show_Json_IsTheServersObjectPrettyPrinted()
    {
        var result = await _harness.RunAsync("robot", "show", "web", "deployer", "--output", "json");

        Assert.Equal(0, result.Exit);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(FakeManagementApi.Robot), JsonNode.Parse(result.Out)));
        Assert.Contains("\"fullName\": \"web+deployer\"", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_Table_IsOneRowWithHeader()
    {
        var result = await _harness.RunAsync("robot", "show", "web", "deployer");

        Assert.Equal(
            """
            NAME       FULL NAME      SCOPE       DISABLED   CREATED            DESCRIPTION
            deployer   web+deployer   pull,push   no         2026-11-29 06:32   CI

            """.ReplaceLineEndings("\n"),
            result.Out);
    }

    [Fact]
    public async Task TokenCreate_Json_HasTheSecretInToken()
    {
        var result = await _harness.RunAsync("token", "create", "--name", "ci", "--scope", "pull,push", "--project", "web", "--expires", "30d", "-o", "json");

        Assert.Equal(0, result.Exit);
        var printed = JsonNode.Parse(result.Out)!;
        Assert.Equal(FakeManagementApi.Secret, (string?)printed["token"]);
        Assert.Equal(42, (int?)printed["id"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"name":"ci","scope":"pull,push","projects":["web"],"expires":"30d"}"""), _harness.Api.Single().Json));
    }

    [Fact]
    public async Task TokenCreate_Table_ShowsTheSecretOnceWithAWarning()
    {
        var result = await _harness.RunAsync("token", "create", "--name", "ci", "--scope", "pull,push");

        Assert.Equal(0, result.Exit);
        Assert.Equal(
            $"""
            ID   NAME   SCOPE       PROJECTS   EXPIRES
            42   ci     pull,push   web        2026-12-29 06:33

            Token: {FakeManagementApi.Secret}
            Copy the token now: it is shown only this once and cannot be shown again.

            """.ReplaceLineEndings("\n"),
            result.Out);
    }

    [Fact]
    public async Task RobotTokenCreate_Table_ShowsTheLoginName()
    {
        var result = await _harness.RunAsync("robot", "token", "create", "web", "deployer", "--name", "ci");

        Assert.Equal(0, result.Exit);
        Assert.Contains("User name: web+deployer\n", result.Out, StringComparison.Ordinal);
        Assert.Contains($"Token: {FakeManagementApi.Secret}\n", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenList_NeverHasASecretColumn_AndShowsAllForNullProjects()
    {
        _harness.Api.Answer("/api/v1/tokens", HttpStatusCode.OK, FakeManagementApi.Page(null,
            FakeManagementApi.Token.Replace("\"projects\":[\"web\"]", "\"projects\":null", StringComparison.Ordinal)
                .Replace("\"lastUsedAt\":null", "\"lastUsedAt\":\"2026-11-30T10:00:59.999Z\"", StringComparison.Ordinal)));

        var result = await _harness.RunAsync("token", "list");

        Assert.Equal(
            """
            ID   NAME   STATE    SCOPE       PROJECTS   CREATED            EXPIRES            LAST USED          REVOKED
            42   ci     active   pull,push   all        2026-11-29 06:33   2026-12-29 06:33   2026-11-30 10:00   -

            """.ReplaceLineEndings("\n"),
            result.Out);
    }

    [Fact]
    public async Task Whoami_ShowsNameKindAdministratorAndMemberships()
    {
        var result = await _harness.RunAsync("whoami");

        Assert.Equal(
            """
            NAME    KIND   ADMINISTRATOR   MEMBERSHIPS
            alice   user   yes             web (owner)

            """.ReplaceLineEndings("\n"),
            result.Out);
    }

    [Fact]
    public async Task Audit_WithoutAll_PrintsOnePageAndSaysHowToGetMore()
    {
        _harness.Api.Answer("/api/v1/audit?project=web", HttpStatusCode.OK, FakeManagementApi.Page("c1", FakeManagementApi.AuditEntry));

        var result = await _harness.RunAsync("audit", "--project", "web");

        Assert.Equal(0, result.Exit);
        Assert.Single(_harness.Api.Requests);
        Assert.Equal(
            """
            TIME               ACTOR   ACTION           PROJECT   REPOSITORY   CLIENT     DETAIL
            2026-11-29 06:36   alice   project.create   web       -            10.1.2.3   {"public":false}

            """.ReplaceLineEndings("\n"),
            result.Out);
        Assert.Contains("add --all to show them all", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_All_FollowsNextKeepingTheFilters()
    {
        _harness.Api.Answer("/api/v1/audit?user=bob&limit=1", HttpStatusCode.OK, FakeManagementApi.Page("c1", FakeManagementApi.AuditEntry));
        _harness.Api.Answer("/api/v1/audit?user=bob&limit=1&after=c1", HttpStatusCode.OK, FakeManagementApi.Page(null, FakeManagementApi.AuditEntry.Replace("\"id\":9", "\"id\":8", StringComparison.Ordinal)));

        var result = await _harness.RunAsync("audit", "--user", "bob", "--limit", "1", "--all", "-o", "json");

        Assert.Equal(0, result.Exit);
        Assert.Equal(2, _harness.Api.Requests.Count);
        Assert.Equal([9, 8], JsonNode.Parse(result.Out)!.AsArray().Select(e => (int)e!["id"]!));
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task Audit_LastPage_SaysNothingMore()
    {
        var result = await _harness.RunAsync("audit");

        Assert.Equal(0, result.Exit);
        Assert.Equal("", result.Error);
    }

    [Theory]
    [InlineData("project delete web", "Deleted project web\n")]
    [InlineData("user delete bob", "Deleted user bob\n")]
    [InlineData("member remove web bob", "Removed bob from web\n")]
    [InlineData("token revoke 42", "Revoked token 42\n")]
    [InlineData("robot delete web deployer", "Deleted robot web+deployer\n")]
    [InlineData("robot token revoke web deployer 7", "Revoked token 7\n")]
    [InlineData("ip-allow remove 3", "Removed rule 3\n")]
    public async Task NoContent_ConfirmsInTables_AndIsSilentInJson(string command, string message)
    {
        var table = await _harness.RunAsync(command.Split(' '));
        var json = await _harness.RunAsync([.. command.Split(' '), "-o", "json"]);

        Assert.Equal((0, message), (table.Exit, table.Out));
        Assert.Equal((0, ""), (json.Exit, json.Out));
    }

    [Fact]
    public async Task Table_ControlCharactersFromTheServer_AreNeutralised()
    {
        _harness.Api.Answer("/api/v1/projects/web", HttpStatusCode.OK,
            """{"name":"web","description":"line1\nline2\u001b[31m","visibility":"private","createdAt":"2026-11-29T06:30:00Z"}""");

        var result = await _harness.RunAsync("project", "show", "web");

        Assert.Contains("line1?line2?[31m", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_Empty_PrintsTheHeaderOnly()
    {
        _harness.Api.Answer("/api/v1/users", HttpStatusCode.OK, """{"items":[],"next":null}""");

        var result = await _harness.RunAsync("user", "list");

        Assert.Equal("NAME   ADMINISTRATOR   DISABLED   CREATED\n", result.Out);
    }
}
