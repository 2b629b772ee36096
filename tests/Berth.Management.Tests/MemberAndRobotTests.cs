using System.Net;

namespace Berth.Management.Tests;

public sealed class MemberAndRobotTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task PutMember_AddsWith201_ThenChangesRoleWith200_DeleteRemoves()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("dave");

        using var added = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/members/dave", new { role = "developer" });
        await Expect.StatusAsync(added, HttpStatusCode.Created);
        var member = await added.ReadJsonAsync();
        Assert.Equal("dave", member.GetProperty("user").GetString());
        Assert.Equal("developer", member.GetProperty("role").GetString());
        Assert.Equal("2026-01-01T00:00:00.000Z", member.GetProperty("addedAt").GetString());

        using var changed = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/members/dave", new { role = "owner" });
        await Expect.StatusAsync(changed, HttpStatusCode.OK);
        var list = await _app.As("dave").GetJsonAsync("/api/v1/projects/shop/members");
        Assert.Equal("owner", Assert.Single(list.GetProperty("items").EnumerateArray()).GetProperty("role").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, list.GetProperty("next").ValueKind);

        using var removed = await _app.Admin.DeleteAsync("/api/v1/projects/shop/members/dave");
        await Expect.StatusAsync(removed, HttpStatusCode.NoContent);
        using var again = await _app.Admin.DeleteAsync("/api/v1/projects/shop/members/dave");
        await Expect.ProblemAsync(again, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task PutMember_UnknownUserOrBadRole_IsRefused()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("dave");

        using var unknown = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/members/nobody", new { role = "reader" });
        await Expect.ProblemAsync(unknown, HttpStatusCode.NotFound);
        using var badRole = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/members/dave", new { role = "admin" });
        await Expect.ValidationAsync(badRole, "role");
        using var extra = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/members/dave", new { role = "reader", addedAt = "2020-01-01" });
        await Expect.ValidationAsync(extra, "addedAt");
    }

    [Fact]
    public async Task Robot_CreateTokenUseRevokeDelete()
    {
        await _app.CreateProjectAsync("shop");
        using var created = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "ci", description = "builds", scope = "pull,push" });
        await Expect.StatusAsync(created, HttpStatusCode.Created);
        var robot = await created.ReadJsonAsync();
        Assert.Equal("shop+ci", robot.GetProperty("fullName").GetString());
        Assert.Equal("shop", robot.GetProperty("project").GetString());
        Assert.Equal("pull,push", robot.GetProperty("scope").GetString());
        Assert.False(robot.GetProperty("disabled").GetBoolean());

        using var duplicate = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "ci", scope = "pull" });
        await Expect.ProblemAsync(duplicate, HttpStatusCode.Conflict);
        using var badScope = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "cd", scope = "push" });
        await Expect.ValidationAsync(badScope, "scope");

        using var tokenResponse = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots/ci/tokens", new { name = "pipeline", expires = "30d" });
        await Expect.StatusAsync(tokenResponse, HttpStatusCode.Created);
        var token = await tokenResponse.ReadJsonAsync();
        Assert.StartsWith("berth_robot_", token.GetProperty("token").GetString());
        Assert.Equal("robot", token.GetProperty("ownerKind").GetString());
        Assert.Equal("shop+ci", token.GetProperty("owner").GetString());
        Assert.Equal("2026-01-31T00:00:00.000Z", token.GetProperty("expiresAt").GetString());

        var robotClient = _app.WithBearer(token.GetProperty("token").GetString()!);
        var me = await robotClient.GetJsonAsync("/api/v1/me");
        Assert.Equal("robot", me.GetProperty("kind").GetString());
        Assert.Equal("shop+ci", me.GetProperty("name").GetString());
        Assert.False(me.GetProperty("administrator").GetBoolean());

        using var disabled = await _app.Admin.SendJsonAsync(HttpMethod.Patch, "/api/v1/projects/shop/robots/ci", new { disabled = true, scope = "pull" });
        await Expect.StatusAsync(disabled, HttpStatusCode.OK);
        Assert.Equal("pull", (await disabled.ReadJsonAsync()).GetProperty("scope").GetString());
        using var refused = await robotClient.GetAsync("/api/v1/me");
        await Expect.ProblemAsync(refused, HttpStatusCode.Unauthorized);
        using var enabled = await _app.Admin.SendJsonAsync(HttpMethod.Patch, "/api/v1/projects/shop/robots/ci", new { disabled = false });
        await Expect.StatusAsync(enabled, HttpStatusCode.OK);

        var id = token.GetProperty("id").GetInt64();
        var tokens = await _app.Admin.GetJsonAsync("/api/v1/projects/shop/robots/ci/tokens");
        Assert.Equal(id, Assert.Single(tokens.GetProperty("items").EnumerateArray()).GetProperty("id").GetInt64());
        using var revoked = await _app.Admin.DeleteAsync($"/api/v1/projects/shop/robots/ci/tokens/{id}");
        await Expect.StatusAsync(revoked, HttpStatusCode.NoContent);
        using var afterRevoke = await robotClient.GetAsync("/api/v1/me");
        await Expect.ProblemAsync(afterRevoke, HttpStatusCode.Unauthorized);
        using var otherId = await _app.Admin.DeleteAsync("/api/v1/projects/shop/robots/ci/tokens/99999");
        await Expect.ProblemAsync(otherId, HttpStatusCode.NotFound);

        using var deleted = await _app.Admin.DeleteAsync("/api/v1/projects/shop/robots/ci");
        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        using var gone = await _app.Admin.GetAsync("/api/v1/projects/shop/robots/ci");
        await Expect.ProblemAsync(gone, HttpStatusCode.NotFound);
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/robots")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task RobotTokens_ShowTheRobotsScopeAndProject_NotTheWidestScopeForAllProjects()
    {
        await _app.CreateProjectAsync("shop");
        using (var robot = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "ci", scope = "pull,push" }))
        {
            await Expect.StatusAsync(robot, HttpStatusCode.Created);
        }

        using var created = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots/ci/tokens", new { name = "pipeline" });
        await Expect.StatusAsync(created, HttpStatusCode.Created);
        var token = await created.ReadJsonAsync();
        Assert.Equal("pull,push", token.GetProperty("scope").GetString());
        Assert.Equal(["shop"], token.GetProperty("projects").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal("active", token.GetProperty("state").GetString());

        var listed = Assert.Single((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/robots/ci/tokens")).GetProperty("items").EnumerateArray());
        Assert.Equal("pull,push", listed.GetProperty("scope").GetString());
        Assert.Equal(["shop"], listed.GetProperty("projects").EnumerateArray().Select(p => p.GetString()));

        // The robot's scope limits all its tokens: narrowing it shows in the listing at once.
        using (var narrowed = await _app.Admin.SendJsonAsync(HttpMethod.Patch, "/api/v1/projects/shop/robots/ci", new { scope = "pull" }))
        {
            await Expect.StatusAsync(narrowed, HttpStatusCode.OK);
        }

        listed = Assert.Single((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/robots/ci/tokens")).GetProperty("items").EnumerateArray());
        Assert.Equal("pull", listed.GetProperty("scope").GetString());
    }
}
