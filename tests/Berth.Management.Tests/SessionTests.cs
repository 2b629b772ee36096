using System.Net;
using Berth.Core.Access;

namespace Berth.Management.Tests;

/// <summary>Signing out everywhere, what <c>/me</c> shows through a restricted token, and audited failed sign-ins on every route.</summary>
public sealed class SessionTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Me_WithTokenLimitedToOneProject_ListsOnlyThatMembership()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateProjectAsync("secret");
        await _app.CreateUserAsync("bob");
        await _app.AddMemberAsync("shop", "bob", "developer");
        await _app.AddMemberAsync("secret", "bob", "owner");
        var (_, limited) = await ManagementApp.CreateTokenAsync(_app.As("bob"), "ci", "pull", ["shop"]);
        var (_, unlimited) = await ManagementApp.CreateTokenAsync(_app.As("bob"), "laptop", "pull");

        var throughLimited = await _app.WithBearer(limited).GetJsonAsync("/api/v1/me");
        var throughUnlimited = await _app.WithBearer(unlimited).GetJsonAsync("/api/v1/me");
        var byPassword = await _app.As("bob").GetJsonAsync("/api/v1/me");

        Assert.Equal(["shop"], throughLimited.GetProperty("memberships").EnumerateArray().Select(m => m.GetProperty("project").GetString()));
        Assert.Equal(["secret", "shop"], throughUnlimited.GetProperty("memberships").EnumerateArray().Select(m => m.GetProperty("project").GetString()));
        Assert.Equal(["secret", "shop"], byPassword.GetProperty("memberships").EnumerateArray().Select(m => m.GetProperty("project").GetString()));
    }

    [Fact]
    public async Task SignOutEverywhere_Returns204_RotatesTheStamp_AndIsAudited()
    {
        await _app.CreateUserAsync("bob");
        var before = (await _app.Service<IUserStore>().GetAsync(UserName.Parse("bob"), CancellationToken.None))!;

        using var response = await _app.As("bob").DeleteAsync("/api/v1/me/sessions");

        await Expect.StatusAsync(response, HttpStatusCode.NoContent);
        var after = (await _app.Service<IUserStore>().GetAsync(UserName.Parse("bob"), CancellationToken.None))!;
        Assert.NotEqual(before.SecurityStamp, after.SecurityStamp);
        Assert.Equal(before.PasswordHash, after.PasswordHash);
        await _app.As("bob").GetJsonAsync("/api/v1/me"); // the password itself still works
        var entry = Assert.Single(await _app.AuditAsync(AuditActions.UserSignOut));
        Assert.Equal("bob", entry.ActorName);
    }

    [Fact]
    public async Task SignOutEverywhere_ByRobotToken_IsForbidden()
    {
        await _app.CreateProjectAsync("shop");
        using var robot = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots", new { name = "ci", scope = "pull" });
        await Expect.StatusAsync(robot, HttpStatusCode.Created);
        using var token = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/robots/ci/tokens", new { name = "t" });
        var secret = (await token.ReadJsonAsync()).GetProperty("token").GetString()!;

        using var response = await _app.WithBearer(secret).DeleteAsync("/api/v1/me/sessions");

        await Expect.ProblemAsync(response, HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("GET", "/api/v1/projects")]
    [InlineData("POST", "/api/v1/tokens")]
    [InlineData("GET", "/api/v1/users")]
    [InlineData("DELETE", "/api/v1/me/sessions")]
    public async Task FailedSignIn_OnAnyRoute_IsAudited(string method, string path)
    {
        using var response = await _app.As("admin", "wrong-password").SendJsonAsync(new HttpMethod(method), path, method == "GET" ? null : new { name = "x" });

        await Expect.ProblemAsync(response, HttpStatusCode.Unauthorized);
        var failure = Assert.Single(await _app.AuditAsync(AuditActions.LoginFailure));
        Assert.Contains("\"user\":\"admin\"", failure.Detail);
        Assert.Contains("\"endpoint\":\"api\"", failure.Detail);
        Assert.DoesNotContain("wrong-password", failure.Detail);
    }

    [Fact]
    public async Task FailedBearerToken_IsAudited()
    {
        using var response = await _app.WithBearer("berth_pat_" + new string('a', 16) + "_" + new string('b', 52)).GetAsync("/api/v1/projects");

        await Expect.ProblemAsync(response, HttpStatusCode.Unauthorized);
        var failure = Assert.Single(await _app.AuditAsync(AuditActions.LoginFailure));
        Assert.Contains("\"via\":\"token\"", failure.Detail);
    }
}
