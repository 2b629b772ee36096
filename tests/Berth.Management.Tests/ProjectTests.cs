using System.Net;
using Berth.Testing;

namespace Berth.Management.Tests;

public sealed class ProjectTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Create_Valid_Returns201WithLocationAndShape()
    {
        using var response = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects", new { name = "shop", description = "the shop", @public = true });

        await Expect.StatusAsync(response, HttpStatusCode.Created);
        Assert.Equal("/api/v1/projects/shop", response.Headers.Location?.OriginalString);
        var project = await response.ReadJsonAsync();
        Assert.Equal("shop", project.GetProperty("name").GetString());
        Assert.Equal("the shop", project.GetProperty("description").GetString());
        Assert.Equal("public", project.GetProperty("visibility").GetString());
        Assert.Equal("2026-01-01T00:00:00.000Z", project.GetProperty("createdAt").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, project.GetProperty("quotaBytes").ValueKind); // no --default-quota
        Assert.Equal(0, project.GetProperty("usedBytes").GetInt64());
        Assert.Equal(6, project.EnumerateObject().Count());
    }

    [Fact]
    public async Task Create_Duplicate_Returns409()
    {
        await _app.CreateProjectAsync("shop");
        using var response = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects", new { name = "shop" });
        await Expect.ProblemAsync(response, HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData("""{"name":"Bad Name"}""", "name")]
    [InlineData("""{}""", "name")]
    [InlineData("""{"name":"shop","owner":"me"}""", "owner")]
    [InlineData("""{"name":"shop","createdAt":"2020-01-01T00:00:00Z"}""", "createdAt")]
    [InlineData("""{"name":1}""", "name")]
    [InlineData("""{"name":"shop","public":"yes"}""", "public")]
    [InlineData("""{"name":"shop",""", "body")]
    [InlineData("""not json""", "body")]
    [InlineData("""[1,2]""", "body")]
    public async Task Create_InvalidOrUnknownMembers_Returns400NamingTheField(string body, string field)
    {
        using var response = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects", body);

        await Expect.ValidationAsync(response, field);
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Create_EmptyBody_Returns400()
    {
        using var response = await _app.Admin.PostAsync("/api/v1/projects", new StringContent(string.Empty, null, "application/json"));
        await Expect.ValidationAsync(response, "body");
    }

    [Fact]
    public async Task Get_PrivateProjectToStranger_Returns404LikeMissingProject()
    {
        await _app.CreateProjectAsync("secret");
        await _app.CreateUserAsync("stranger");
        var stranger = _app.As("stranger");

        using var hidden = await stranger.GetAsync("/api/v1/projects/secret");
        using var missing = await stranger.GetAsync("/api/v1/projects/nothing");
        using var anonymous = await _app.Anonymous.GetAsync("/api/v1/projects/secret");
        using var patch = await stranger.SendJsonAsync(HttpMethod.Patch, "/api/v1/projects/secret", new { description = "x" });

        var hiddenBody = await Expect.ProblemAsync(hidden, HttpStatusCode.NotFound);
        var missingBody = await Expect.ProblemAsync(missing, HttpStatusCode.NotFound);
        await Expect.ProblemAsync(anonymous, HttpStatusCode.NotFound);
        await Expect.ProblemAsync(patch, HttpStatusCode.NotFound);
        Assert.Equal(missingBody.GetProperty("detail").GetString()!.Replace("nothing", "secret", StringComparison.Ordinal), hiddenBody.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task List_Anonymous_SeesOnlyPublicProjects_AndPagesWithNext()
    {
        foreach (var name in new[] { "a1", "a2", "a3", "a4", "a5" })
        {
            await _app.CreateProjectAsync(name, isPublic: name != "a3");
        }

        var first = await _app.Anonymous.GetJsonAsync("/api/v1/projects?limit=2");
        Assert.Equal(["a1", "a2"], first.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        var next = first.GetProperty("next").GetString();
        var second = await _app.Anonymous.GetJsonAsync($"/api/v1/projects?limit=2&after={next}");
        Assert.Equal(["a4", "a5"], second.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, second.GetProperty("next").ValueKind);

        var all = await _app.Admin.GetJsonAsync("/api/v1/projects");
        Assert.Equal(5, all.GetProperty("items").GetArrayLength());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, all.GetProperty("next").ValueKind);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("limit=abc", "limit")]
    [InlineData("after=!!!", "after")]
    public async Task List_BadPaging_Returns400(string query, string field)
    {
        using var response = await _app.Admin.GetAsync("/api/v1/projects?" + query);
        await Expect.ValidationAsync(response, field);
    }

    [Fact]
    public async Task Patch_ByOwner_ChangesVisibility_MaintainerIsRefused()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("olivia");
        await _app.CreateUserAsync("max");
        await _app.AddMemberAsync("shop", "olivia", "owner");
        await _app.AddMemberAsync("shop", "max", "maintainer");

        using var refused = await _app.As("max").SendJsonAsync(HttpMethod.Patch, "/api/v1/projects/shop", new { @public = true });
        await Expect.ProblemAsync(refused, HttpStatusCode.Forbidden);
        using var response = await _app.As("olivia").SendJsonAsync(HttpMethod.Patch, "/api/v1/projects/shop", new { @public = true, description = "now open" });
        await Expect.StatusAsync(response, HttpStatusCode.OK);
        var project = await response.ReadJsonAsync();
        Assert.Equal("public", project.GetProperty("visibility").GetString());
        Assert.Equal("now open", project.GetProperty("description").GetString());

        Assert.Equal("public", (await _app.Anonymous.GetJsonAsync("/api/v1/projects/shop")).GetProperty("visibility").GetString());
    }

    [Fact]
    public async Task Delete_WithRepositories_Returns409UnlessForced()
    {
        await _app.CreateProjectAsync("shop");
        await _app.Admin.PushBlobAsync("shop/app", TestImages.Bytes(10, 1));

        using var refused = await _app.Admin.DeleteAsync("/api/v1/projects/shop");
        await Expect.ProblemAsync(refused, HttpStatusCode.Conflict);
        using var bad = await _app.Admin.DeleteAsync("/api/v1/projects/shop?force=maybe");
        await Expect.ValidationAsync(bad, "force");
        using var forced = await _app.Admin.DeleteAsync("/api/v1/projects/shop?force=true");
        await Expect.StatusAsync(forced, HttpStatusCode.NoContent);
        using var gone = await _app.Admin.GetAsync("/api/v1/projects/shop");
        await Expect.ProblemAsync(gone, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Delete_Empty_Returns204()
    {
        await _app.CreateProjectAsync("shop");
        using var response = await _app.Admin.DeleteAsync("/api/v1/projects/shop");
        await Expect.StatusAsync(response, HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task UnknownRoute_Returns404Problem()
    {
        using var response = await _app.Admin.GetAsync("/api/v1/nothing/here");
        await Expect.ProblemAsync(response, HttpStatusCode.NotFound);
    }
}
