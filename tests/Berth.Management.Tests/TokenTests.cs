using System.Net;

namespace Berth.Management.Tests;

public sealed class TokenTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    [Theory]
    [InlineData(null, "2026-04-01T00:00:00.000Z")]
    [InlineData("30d", "2026-01-31T00:00:00.000Z")]
    [InlineData("12h", "2026-01-01T12:00:00.000Z")]
    [InlineData("90m", "2026-01-01T01:30:00.000Z")]
    [InlineData("365d", "2027-01-01T00:00:00.000Z")]
    [InlineData("2026-06-01T10:00:00Z", "2026-06-01T10:00:00.000Z")]
    [InlineData("2026-06-01T12:00:00+02:00", "2026-06-01T10:00:00.000Z")]
    public async Task Create_Expires_IsParsed(string? expires, string expected)
    {
        using var response = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/tokens", new { name = "t", scope = "pull", expires });

        await Expect.StatusAsync(response, HttpStatusCode.Created);
        var token = await response.ReadJsonAsync();
        Assert.Equal(expected, token.GetProperty("expiresAt").GetString());
        Assert.StartsWith("berth_pat_", token.GetProperty("token").GetString());
        Assert.Equal("user", token.GetProperty("ownerKind").GetString());
        Assert.Equal("admin", token.GetProperty("owner").GetString());
        Assert.Equal(JsonNull, token.GetProperty("projects").ValueKind);
        Assert.Equal(JsonNull, token.GetProperty("lastUsedAt").ValueKind);
        Assert.Equal(JsonNull, token.GetProperty("revokedAt").ValueKind);
    }

    [Theory]
    [InlineData("""{"name":"t","scope":"pull","expires":"366d"}""", "expires")]
    [InlineData("""{"name":"t","scope":"pull","expires":"2030-01-01T00:00:00Z"}""", "expires")]
    [InlineData("""{"name":"t","scope":"pull","expires":"2025-01-01T00:00:00Z"}""", "expires")]
    [InlineData("""{"name":"t","scope":"pull","expires":"0d"}""", "expires")]
    [InlineData("""{"name":"t","scope":"pull","expires":"soon"}""", "expires")]
    [InlineData("""{"name":"t","scope":"pull","expires":"9999999d"}""", "expires")] // past the calendar's end: was a 500
    [InlineData("""{"name":"t","scope":"pull","expires":"3000000d"}""", "expires")]
    [InlineData("""{"name":"t","scope":"pull","expires":"9999999h"}""", "expires")]
    [InlineData("""{"name":"t","scope":"push"}""", "scope")]
    [InlineData("""{"name":"t"}""", "scope")]
    [InlineData("""{"scope":"pull"}""", "name")]
    [InlineData("""{"name":"t","scope":"pull","projects":[]}""", "projects")]
    [InlineData("""{"name":"t","scope":"pull","projects":["missing"]}""", "projects")]
    [InlineData("""{"name":"t","scope":"pull","owner":"bob"}""", "owner")]
    public async Task Create_Invalid_Returns400(string body, string field)
    {
        using var response = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/tokens", body);
        await Expect.ValidationAsync(response, field);
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/tokens")).GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("9999999d")]
    [InlineData("2914000d")]
    public async Task CreateRobotToken_ExpiresPastTheCalendarsEnd_Returns400(string expires)
    {
        await _app.CreateProjectAsync("shop");
        using var robot = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "ci", scope = "pull" });
        await Expect.StatusAsync(robot, HttpStatusCode.Created);

        using var response = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots/ci/tokens", new { name = "t", expires });

        var problem = await Expect.ValidationAsync(response, "expires");
        Assert.Contains("days away", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/robots/ci/tokens")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Create_RestrictedToPrivateProjectCallerCannotSee_Returns400LikeMissing()
    {
        await _app.CreateProjectAsync("secret");
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("bob");
        await _app.AddMemberAsync("shop", "bob", "developer");
        var bob = _app.As("bob");

        using var hidden = await bob.SendJsonAsync(HttpMethod.Post, "/api/v1/tokens", new { name = "t", scope = "pull", projects = new[] { "secret" } });
        await Expect.ValidationAsync(hidden, "projects");
        using var allowed = await bob.SendJsonAsync(HttpMethod.Post, "/api/v1/tokens", new { name = "t", scope = "pull,push", projects = new[] { "shop" } });
        await Expect.StatusAsync(allowed, HttpStatusCode.Created);
        Assert.Equal(["shop"], (await allowed.ReadJsonAsync()).GetProperty("projects").EnumerateArray().Select(p => p.GetString()));
    }

    [Fact]
    public async Task Token_AuthenticatesMeButNeverAdministers()
    {
        var (_, secret) = await ManagementApp.CreateTokenAsync(_app.Admin, "ci");
        var bearer = _app.WithBearer(secret);
        var basic = _app.NewClient(new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("admin:" + secret))));

        var me = await bearer.GetJsonAsync("/api/v1/me");
        Assert.Equal("admin", me.GetProperty("name").GetString());
        Assert.False(me.GetProperty("administrator").GetBoolean());
        await bearer.GetJsonAsync("/api/v1/projects");
        await basic.GetJsonAsync("/api/v1/me");

        foreach (var client in new[] { bearer, basic })
        {
            using var create = await client.SendJsonAsync(HttpMethod.Post, "/api/v1/projects", new { name = "nope" });
            await Expect.ProblemAsync(create, HttpStatusCode.Forbidden);
            using var users = await client.GetAsync("/api/v1/users");
            await Expect.ProblemAsync(users, HttpStatusCode.Forbidden);
            using var token = await client.SendJsonAsync(HttpMethod.Post, "/api/v1/tokens", new { name = "more", scope = "pull" });
            await Expect.ProblemAsync(token, HttpStatusCode.Forbidden);
        }
    }

    [Fact]
    public async Task ListAndRevoke_OwnTokens_AlreadyRevokedIs204_OthersTokensAre404()
    {
        await _app.CreateUserAsync("bob");
        await _app.CreateUserAsync("eve");
        var bob = _app.As("bob");
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await ManagementApp.CreateTokenAsync(bob, $"t{i}")).Id);
        }

        using var duplicate = await bob.SendJsonAsync(HttpMethod.Post, "/api/v1/tokens", new { name = "t0", scope = "pull" });
        await Expect.ProblemAsync(duplicate, HttpStatusCode.Conflict);

        var first = await bob.GetJsonAsync("/api/v1/tokens?limit=2");
        Assert.Equal(ids.Take(2), first.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetInt64()));
        var second = await bob.GetJsonAsync($"/api/v1/tokens?limit=2&after={first.GetProperty("next").GetString()}");
        Assert.Equal(ids.Skip(2), second.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetInt64()));
        Assert.Equal(JsonNull, second.GetProperty("next").ValueKind);
        Assert.Empty((await _app.As("eve").GetJsonAsync("/api/v1/tokens")).GetProperty("items").EnumerateArray());

        using var byEve = await _app.As("eve").DeleteAsync($"/api/v1/tokens/{ids[0]}");
        await Expect.ProblemAsync(byEve, HttpStatusCode.NotFound);
        using var revoked = await bob.DeleteAsync($"/api/v1/tokens/{ids[0]}");
        await Expect.StatusAsync(revoked, HttpStatusCode.NoContent);
        using var again = await bob.DeleteAsync($"/api/v1/tokens/{ids[0]}");
        await Expect.StatusAsync(again, HttpStatusCode.NoContent);
        using var byAdmin = await _app.Admin.DeleteAsync($"/api/v1/tokens/{ids[1]}");
        await Expect.StatusAsync(byAdmin, HttpStatusCode.NoContent);
        using var missing = await bob.DeleteAsync("/api/v1/tokens/424242");
        await Expect.ProblemAsync(missing, HttpStatusCode.NotFound);

        var list = await bob.GetJsonAsync("/api/v1/tokens");
        Assert.Equal(2, list.GetProperty("items").EnumerateArray().Count(t => t.GetProperty("revokedAt").ValueKind != JsonNull));
    }

    [Fact]
    public async Task List_States_AreActiveExpiredAndRevoked()
    {
        var (active, _) = await ManagementApp.CreateTokenAsync(_app.Admin, "active");
        using var shortLived = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/tokens", new { name = "short", scope = "pull", expires = "1h" });
        await Expect.StatusAsync(shortLived, HttpStatusCode.Created);
        var expiring = await shortLived.ReadJsonAsync();
        Assert.Equal("active", expiring.GetProperty("state").GetString());
        var (revoked, _) = await ManagementApp.CreateTokenAsync(_app.Admin, "revoked");
        using (var revoke = await _app.Admin.DeleteAsync($"/api/v1/tokens/{revoked}"))
        {
            await Expect.StatusAsync(revoke, HttpStatusCode.NoContent);
        }

        _app.App.Clock.Advance(TimeSpan.FromHours(1)); // the 1h token expires exactly now: expired

        var states = (await _app.Admin.GetJsonAsync("/api/v1/tokens")).GetProperty("items").EnumerateArray()
            .ToDictionary(t => t.GetProperty("id").GetInt64(), t => t.GetProperty("state").GetString());
        Assert.Equal("active", states[active]);
        Assert.Equal("expired", states[expiring.GetProperty("id").GetInt64()]);
        Assert.Equal("revoked", states[revoked]);
    }

    private const System.Text.Json.JsonValueKind JsonNull = System.Text.Json.JsonValueKind.Null;
}
