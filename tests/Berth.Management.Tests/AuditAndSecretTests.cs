using System.Net;
using Berth.Core.Access;

namespace Berth.Management.Tests;

public sealed class AuditAndSecretTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    /// <summary>Every kind of change, made once; returns every response body seen.</summary>
    private async Task<List<string>> MakeEveryChangeAsync()
    {
        var bodies = new List<string>();
        async Task Send(HttpClient client, HttpMethod method, string path, object? body, HttpStatusCode expected)
        {
            using var response = await client.SendJsonAsync(method, path, body);
            await Expect.StatusAsync(response, expected);
            bodies.Add(await response.Content.ReadAsStringAsync());
        }

        await Send(_app.Admin, HttpMethod.Post, "/api/v1/users", new { name = "bob", password = ManagementApp.Password }, HttpStatusCode.Created);
        await Send(_app.Admin, HttpMethod.Patch, "/api/v1/users/bob", new { password = "second-password" }, HttpStatusCode.OK);
        await Send(_app.Admin, HttpMethod.Post, "/api/v1/projects", new { name = "shop" }, HttpStatusCode.Created);
        await Send(_app.Admin, HttpMethod.Patch, "/api/v1/projects/shop", new { @public = true }, HttpStatusCode.OK);
        await Send(_app.Admin, HttpMethod.Put, "/api/v1/projects/shop/members/bob", new { role = "reader" }, HttpStatusCode.Created);
        await Send(_app.Admin, HttpMethod.Put, "/api/v1/projects/shop/members/bob", new { role = "owner" }, HttpStatusCode.OK);
        await Send(_app.Admin, HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "ci", scope = "pull" }, HttpStatusCode.Created);
        await Send(_app.Admin, HttpMethod.Patch, "/api/v1/projects/shop/robots/ci", new { scope = "pull,push" }, HttpStatusCode.OK);
        await Send(_app.Admin, HttpMethod.Post, "/api/v1/projects/shop/robots/ci/tokens", new { name = "pipeline" }, HttpStatusCode.Created);
        var bob = _app.As("bob", "second-password");
        await Send(bob, HttpMethod.Post, "/api/v1/tokens", new { name = "laptop", scope = "pull" }, HttpStatusCode.Created);
        await Send(bob, HttpMethod.Post, "/api/v1/projects/shop/ip-allow", new { network = "127.0.0.0/8" }, HttpStatusCode.Created);
        await Send(_app.Admin, HttpMethod.Post, "/api/v1/ip-allow", new { network = "127.0.0.1" }, HttpStatusCode.Created);

        var reads = new[]
        {
            "/api/v1/me", "/api/v1/users", "/api/v1/users/bob", "/api/v1/projects", "/api/v1/projects/shop", "/api/v1/projects/shop/members",
            "/api/v1/projects/shop/robots", "/api/v1/projects/shop/robots/ci", "/api/v1/projects/shop/robots/ci/tokens",
            "/api/v1/projects/shop/ip-allow", "/api/v1/ip-allow", "/api/v1/tokens", "/api/v1/openapi.json",
        };
        foreach (var path in reads)
        {
            await Send(_app.Admin, HttpMethod.Get, path, null, HttpStatusCode.OK);
        }

        await Send(bob, HttpMethod.Get, "/api/v1/tokens", null, HttpStatusCode.OK);
        await _app.Service<Application.Audit.AuditRecorder>().FlushAsync(CancellationToken.None);
        await Send(_app.Admin, HttpMethod.Get, "/api/v1/audit", null, HttpStatusCode.OK);

        var projectRules = await _app.Admin.GetJsonAsync("/api/v1/projects/shop/ip-allow");
        await Send(bob, HttpMethod.Delete, $"/api/v1/projects/shop/ip-allow/{projectRules.GetProperty("items")[0].GetProperty("id").GetInt64()}", null, HttpStatusCode.NoContent);
        var serverRules = await _app.Admin.GetJsonAsync("/api/v1/ip-allow");
        await Send(_app.Admin, HttpMethod.Delete, $"/api/v1/ip-allow/{serverRules.GetProperty("items")[0].GetProperty("id").GetInt64()}", null, HttpStatusCode.NoContent);
        var bobTokens = await bob.GetJsonAsync("/api/v1/tokens");
        await Send(bob, HttpMethod.Delete, $"/api/v1/tokens/{bobTokens.GetProperty("items")[0].GetProperty("id").GetInt64()}", null, HttpStatusCode.NoContent);
        await Send(_app.Admin, HttpMethod.Delete, "/api/v1/projects/shop/robots/ci", null, HttpStatusCode.NoContent);
        await Send(_app.Admin, HttpMethod.Delete, "/api/v1/projects/shop/members/bob", null, HttpStatusCode.NoContent);
        await Send(_app.Admin, HttpMethod.Delete, "/api/v1/projects/shop", null, HttpStatusCode.NoContent);
        await Send(_app.Admin, HttpMethod.Delete, "/api/v1/users/bob", null, HttpStatusCode.NoContent);
        return bodies;
    }

    [Fact]
    public async Task EveryChange_IsAudited_WithActorProjectAndAddress()
    {
        await MakeEveryChangeAsync();

        var entries = await _app.AuditAsync();
        string[] expected =
        [
            AuditActions.UserCreate, AuditActions.UserUpdate, AuditActions.UserDelete,
            AuditActions.ProjectCreate, AuditActions.ProjectUpdate, AuditActions.ProjectDelete,
            AuditActions.MemberAdd, AuditActions.MemberUpdate, AuditActions.MemberRemove,
            AuditActions.RobotCreate, AuditActions.RobotUpdate, AuditActions.RobotDelete,
            AuditActions.TokenCreate, AuditActions.TokenRevoke, AuditActions.IpRuleAdd, AuditActions.IpRuleRemove,
        ];
        foreach (var action in expected)
        {
            Assert.Contains(entries, e => e.Action == action);
        }

        Assert.Equal(2, entries.Count(e => e.Action == AuditActions.TokenCreate));
        Assert.Equal(2, entries.Count(e => e.Action == AuditActions.IpRuleAdd));
        var robotToken = entries.Single(e => e.Action == AuditActions.TokenCreate && e.Project is not null);
        Assert.Equal("shop", robotToken.Project!.Value.Value);
        var memberAdd = entries.Single(e => e.Action == AuditActions.MemberAdd);
        Assert.Equal(AuditActorKind.User, memberAdd.ActorKind);
        Assert.Equal("admin", memberAdd.ActorName);
        Assert.Equal("127.0.0.1", memberAdd.ClientAddress?.ToString());
        Assert.Contains("\"bob\"", memberAdd.Detail, StringComparison.Ordinal);
        Assert.Equal("bob", entries.Single(e => e.Action == AuditActions.IpRuleAdd && e.Project is not null).ActorName);
    }

    [Fact]
    public async Task NoResponse_ContainsASecretOrHash_ExceptTheNewTokenItself()
    {
        var bodies = await MakeEveryChangeAsync();

        var secrets = bodies.Where(b => b.Contains("\"token\":\"berth_", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, secrets.Count); // the robot token and bob's token, each once in its creation answer
        var tokenText = new System.Text.RegularExpressions.Regex("berth_(pat|robot)_[a-z2-7]{8,}");
        foreach (var body in bodies.Except(secrets))
        {
            Assert.DoesNotMatch(tokenText, body);
            Assert.DoesNotContain("pbkdf2", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(ManagementApp.Password, body, StringComparison.Ordinal);
            Assert.DoesNotContain("second-password", body, StringComparison.Ordinal);
            Assert.DoesNotContain("secretHash", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("lookupId", body, StringComparison.OrdinalIgnoreCase);
        }

        foreach (var entry in await _app.AuditAsync())
        {
            Assert.DoesNotMatch(tokenText, entry.Detail ?? string.Empty);
            Assert.DoesNotContain("password-", entry.Detail ?? string.Empty, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AuditQuery_FiltersPagesNewestFirst_OwnersSeeTheirProjectOnly()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateProjectAsync("other");
        await _app.CreateUserAsync("olivia");
        await _app.AddMemberAsync("shop", "olivia", "owner");
        _app.App.Clock.Advance(TimeSpan.FromHours(1));
        await _app.Service<Application.Audit.AuditRecorder>().FlushAsync(CancellationToken.None);

        var first = await _app.Admin.GetJsonAsync("/api/v1/audit?limit=2");
        var items = first.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, items.Count);
        Assert.True(items[0].GetProperty("id").GetInt64() > items[1].GetProperty("id").GetInt64());
        var entry = items[0];
        Assert.Equal("user", entry.GetProperty("actorKind").GetString());
        Assert.Equal("admin", entry.GetProperty("actor").GetString());
        Assert.EndsWith("Z", entry.GetProperty("at").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Object, entry.GetProperty("detail").ValueKind);
        var second = await _app.Admin.GetJsonAsync($"/api/v1/audit?limit=2&after={first.GetProperty("next").GetString()}");
        Assert.True(second.GetProperty("items")[0].GetProperty("id").GetInt64() < items[1].GetProperty("id").GetInt64());

        var creates = await _app.Admin.GetJsonAsync("/api/v1/audit?action=project.create&user=admin&from=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z");
        Assert.Equal(2, creates.GetProperty("items").GetArrayLength());
        var none = await _app.Admin.GetJsonAsync("/api/v1/audit?action=project.create&from=2026-01-01T00:30:00Z");
        Assert.Empty(none.GetProperty("items").EnumerateArray());
        using var badTime = await _app.Admin.GetAsync("/api/v1/audit?from=yesterday");
        await Expect.ValidationAsync(badTime, "from");

        var olivia = _app.As("olivia");
        var shop = await olivia.GetJsonAsync("/api/v1/audit?project=shop");
        Assert.NotEmpty(shop.GetProperty("items").EnumerateArray());
        Assert.All(shop.GetProperty("items").EnumerateArray(), e => Assert.Equal("shop", e.GetProperty("project").GetString()));
        using var all = await olivia.GetAsync("/api/v1/audit");
        await Expect.ProblemAsync(all, HttpStatusCode.Forbidden);
        using var other = await olivia.GetAsync("/api/v1/audit?project=other");
        await Expect.ProblemAsync(other, HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("limit=1&limit=2", "limit")]
    [InlineData("limit=-1", "limit")]
    [InlineData("after=not-a-cursor", "after")]
    [InlineData("after=%00", "after")]
    [InlineData("project=Not..A..Project", "project")]
    [InlineData("from=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z", "from")]
    [InlineData("until=99999", "until")]
    public async Task AuditQuery_MalformedParameter_ValidationProblemNamingIt(string query, string field)
    {
        using var response = await _app.Admin.GetAsync("/api/v1/audit?" + query);

        await Expect.ValidationAsync(response, field);
    }
}
