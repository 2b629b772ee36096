using System.Net;
using System.Text;

namespace Berth.Management.Tests;

/// <summary>
/// Hostile input to every endpoint that reads a body, an id or a cursor: unknown members, wrong JSON types, bodies
/// that are not objects, too large or not JSON, ids unknown, reused or out of range, and forged cursors. Each is a
/// problem answer naming what is wrong, never a 500, and changes nothing.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    /// <summary>Every route with a body, and a member it takes given the wrong JSON type.</summary>
    private static readonly (string Method, string Path, string WrongType, string Member)[] BodyRoutes =
    [
        ("POST", "/api/v1/projects", """{"name":1}""", "name"),
        ("PATCH", "/api/v1/projects/shop", """{"public":"yes"}""", "public"),
        ("PUT", "/api/v1/projects/shop/members/olivia", """{"role":["owner"]}""", "role"),
        ("POST", "/api/v1/projects/shop/robots", """{"name":"cd","scope":{"pull":true}}""", "scope"),
        ("PATCH", "/api/v1/projects/shop/robots/ci", """{"disabled":"no"}""", "disabled"),
        ("POST", "/api/v1/projects/shop/robots/ci/tokens", """{"name":"t","expires":30}""", "expires"),
        ("POST", "/api/v1/projects/shop/ip-allow", """{"network":167772160}""", "network"),
        ("POST", "/api/v1/tokens", """{"name":"t","scope":"pull","projects":"shop"}""", "projects"),
        ("POST", "/api/v1/users", """{"name":"eve","administrator":"true"}""", "administrator"),
        ("PATCH", "/api/v1/users/olivia", """{"disabled":1}""", "disabled"),
        ("POST", "/api/v1/ip-allow", """{"network":null,"note":false}""", "note"),
        ("PUT", "/api/v1/me/password", """{"currentPassword":1,"newPassword":"another-password-1"}""", "currentPassword"),
    ];

    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    private async Task<string> SetUpAsync()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("olivia");
        using var robot = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "ci", scope = "pull" });
        await Expect.StatusAsync(robot, HttpStatusCode.Created);
        return await StateAsync();
    }

    /// <summary>What the hostile requests must not change: projects, members, robots, tokens, users, rules.</summary>
    private async Task<string> StateAsync()
    {
        var parts = new List<string>();
        foreach (var path in new[]
        {
            "/api/v1/projects", "/api/v1/projects/shop", "/api/v1/projects/shop/members", "/api/v1/projects/shop/robots",
            "/api/v1/projects/shop/robots/ci/tokens", "/api/v1/projects/shop/ip-allow", "/api/v1/tokens", "/api/v1/users", "/api/v1/ip-allow",
        })
        {
            parts.Add((await _app.Admin.GetJsonAsync(path)).GetRawText());
        }

        return string.Join("\n", parts);
    }

    private Task<HttpResponseMessage> SendAsync(string method, string path, HttpContent content) =>
        _app.Admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = content });

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Body_UnknownMember_Returns400NamingItOnEveryRoute()
    {
        var before = await SetUpAsync();

        foreach (var (method, path, _, _) in BodyRoutes)
        {
            using var response = await SendAsync(method, path, Json("""{"isAdmin":true}"""));

            var problem = await Expect.ValidationAsync(response, "isAdmin");
            Assert.Contains("unknown member", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task Body_MemberOfTheWrongJsonType_Returns400NamingItOnEveryRoute()
    {
        var before = await SetUpAsync();

        foreach (var (method, path, wrongType, member) in BodyRoutes)
        {
            using var response = await SendAsync(method, path, Json(wrongType));

            var problem = await Expect.ValidationAsync(response, member);
            Assert.Contains("wrong type", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(before, await StateAsync());
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("{")]
    [InlineData("{} {}")]
    [InlineData("")]
    public async Task Body_NotOneJsonObject_Returns400OnEveryRoute(string body)
    {
        var before = await SetUpAsync();

        foreach (var (method, path, _, _) in BodyRoutes)
        {
            using var response = await SendAsync(method, path, Json(body));

            await Expect.ProblemAsync(response, HttpStatusCode.BadRequest);
        }

        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task Body_OverTheLimit_Returns413OnEveryRoute()
    {
        var before = await SetUpAsync();
        var huge = "{\"name\":\"" + new string('a', 70 * 1024) + "\"}";

        foreach (var (method, path, _, _) in BodyRoutes)
        {
            using var response = await SendAsync(method, path, Json(huge));

            var problem = await Expect.ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
            Assert.Contains("65536", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(before, await StateAsync());
    }

    /// <summary>
    /// Routing matches these routes for JSON only (they declare <c>Accepts(application/json)</c>), so another content
    /// type finds the API's catch-all 404 before RequestBody's 415 could answer; either way a problem, never a 500.
    /// </summary>
    [Fact]
    public async Task Body_NotJson_ReturnsProblemAndChangesNothingOnEveryRoute()
    {
        var before = await SetUpAsync();

        foreach (var (method, path, _, _) in BodyRoutes)
        {
            using var response = await SendAsync(method, path, new StringContent("name=x", Encoding.UTF8, "application/x-www-form-urlencoded"));

            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.UnsupportedMediaType, $"{method} {path}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(before, await StateAsync());
    }

    [Theory]
    [InlineData("/api/v1/tokens/999999")]
    [InlineData("/api/v1/tokens/0")]
    [InlineData("/api/v1/tokens/-1")]
    [InlineData("/api/v1/tokens/99999999999999999999")]
    [InlineData("/api/v1/tokens/abc")]
    [InlineData("/api/v1/ip-allow/999999")]
    [InlineData("/api/v1/ip-allow/abc")]
    [InlineData("/api/v1/projects/shop/ip-allow/999999")]
    [InlineData("/api/v1/projects/shop/robots/ci/tokens/999999")]
    [InlineData("/api/v1/projects/shop/robots/nobody/tokens/1")]
    [InlineData("/api/v1/projects/shop/robots/NOT..A..NAME")]
    [InlineData("/api/v1/projects/shop/members/nobody")]
    [InlineData("/api/v1/projects/shop/members/not%20a%20name")]
    [InlineData("/api/v1/users/nobody")]
    [InlineData("/api/v1/projects/nothing")]
    public async Task Delete_UnknownOrMalformedId_Returns404Problem(string path)
    {
        var before = await SetUpAsync();

        using var response = await _app.Admin.DeleteAsync(path);

        await Expect.ProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task Delete_IpRuleOfAnotherList_Returns404AndKeepsIt()
    {
        await SetUpAsync();
        using var added = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/ip-allow", new { network = "127.0.0.0/8" });
        await Expect.StatusAsync(added, HttpStatusCode.Created);
        var id = (await added.ReadJsonAsync()).GetProperty("id").GetInt64();

        using var response = await _app.Admin.DeleteAsync($"/api/v1/ip-allow/{id}");

        await Expect.ProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Single((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/ip-allow")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Delete_TokenOfAnotherRobotOrAsPersonal_Returns404()
    {
        await SetUpAsync();
        using var other = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "cd", scope = "pull" });
        await Expect.StatusAsync(other, HttpStatusCode.Created);
        using var issued = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots/ci/tokens", new { name = "t" });
        await Expect.StatusAsync(issued, HttpStatusCode.Created);
        var id = (await issued.ReadJsonAsync()).GetProperty("id").GetInt64();
        var (personal, _) = await ManagementApp.CreateTokenAsync(_app.Admin, "mine");

        using var viaOtherRobot = await _app.Admin.DeleteAsync($"/api/v1/projects/shop/robots/cd/tokens/{id}");
        using var personalViaRobot = await _app.Admin.DeleteAsync($"/api/v1/projects/shop/robots/ci/tokens/{personal}");

        await Expect.ProblemAsync(viaOtherRobot, HttpStatusCode.NotFound);
        await Expect.ProblemAsync(personalViaRobot, HttpStatusCode.NotFound);
        var tokens = await _app.Admin.GetJsonAsync("/api/v1/projects/shop/robots/ci/tokens");
        Assert.Equal("active", Assert.Single(tokens.GetProperty("items").EnumerateArray()).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Delete_TokenRevokedTwice_Returns204BothTimesAndAuditsOnce()
    {
        var (id, _) = await ManagementApp.CreateTokenAsync(_app.Admin, "once");

        using var first = await _app.Admin.DeleteAsync($"/api/v1/tokens/{id}");
        using var second = await _app.Admin.DeleteAsync($"/api/v1/tokens/{id}");

        await Expect.StatusAsync(first, HttpStatusCode.NoContent);
        await Expect.StatusAsync(second, HttpStatusCode.NoContent);
        Assert.Single(await _app.AuditAsync("token.revoke"));
    }

    [Fact]
    public async Task Create_NameReusedAfterDelete_StartsAnew()
    {
        await SetUpAsync();
        using var deleted = await _app.Admin.DeleteAsync("/api/v1/projects/shop/robots/ci");
        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);

        using var again = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "ci", scope = "pull,push" });

        await Expect.StatusAsync(again, HttpStatusCode.Created);
        Assert.Equal("pull,push", (await again.ReadJsonAsync()).GetProperty("scope").GetString());
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/robots/ci/tokens")).GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("/api/v1/tokens", "after=not-a-cursor", "after")]
    [InlineData("/api/v1/tokens", "after=YzE6YWJj", "after")] // a well-formed cursor whose position is not an id ("c1:abc")
    [InlineData("/api/v1/tokens", "limit=0", "limit")]
    [InlineData("/api/v1/tokens", "limit=1&limit=2", "limit")]
    [InlineData("/api/v1/users", "after=%00", "after")]
    [InlineData("/api/v1/users", "after=YzE6Li4", "after")] // "c1:..", not a user name
    [InlineData("/api/v1/users", "limit=99999999999", "limit")]
    [InlineData("/api/v1/projects", "after=YzE6c2hvcA", "after")] // a plain cursor where a sealed one is due
    [InlineData("/api/v1/projects/shop/robots/ci/tokens", "after=~", "after")]
    [InlineData("/api/v1/projects/shop/robots/ci/tokens", "limit=-5", "limit")]
    public async Task List_BadCursorOrLimit_Returns400NamingIt(string path, string query, string field)
    {
        await SetUpAsync();

        using var response = await _app.Admin.GetAsync(path + "?" + query);

        await Expect.ValidationAsync(response, field);
    }

    [Theory]
    [InlineData("force=yes")]
    [InlineData("force=1")]
    [InlineData("force=true&force=false")]
    public async Task DeleteProject_MalformedForce_Returns400AndKeepsTheProject(string query)
    {
        await SetUpAsync();

        using var response = await _app.Admin.DeleteAsync("/api/v1/projects/shop?" + query);

        await Expect.ValidationAsync(response, "force");
        await _app.Admin.GetJsonAsync("/api/v1/projects/shop");
    }
}
