using System.Net;
using System.Net.Http.Headers;
using Berth.Core.Access;

namespace Berth.Management.Tests;

public sealed class UserAndAuthenticationTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Users_CreateGetListPatchDelete()
    {
        using var created = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/users", new { name = "Bob", password = ManagementApp.Password });
        await Expect.StatusAsync(created, HttpStatusCode.Created);
        Assert.Equal("/api/v1/users/Bob", created.Headers.Location?.OriginalString);
        var user = await created.ReadJsonAsync();
        Assert.Equal(["name", "administrator", "disabled", "createdAt"], user.EnumerateObject().Select(p => p.Name));

        using var duplicate = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/users", new { name = "bob" });
        await Expect.ProblemAsync(duplicate, HttpStatusCode.Conflict);
        using var badName = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/users", new { name = "ci+bot" });
        await Expect.ValidationAsync(badName, "name");
        using var shortPassword = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/users", new { name = "carl", password = "short" });
        await Expect.ValidationAsync(shortPassword, "password");
        using var hash = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/users", new { name = "carl", passwordHash = "x" });
        await Expect.ValidationAsync(hash, "passwordHash");

        var bob = _app.As("bob");
        Assert.Equal("Bob", (await bob.GetJsonAsync("/api/v1/users/bob")).GetProperty("name").GetString());
        using var other = await bob.GetAsync("/api/v1/users/admin");
        await Expect.ProblemAsync(other, HttpStatusCode.Forbidden);
        using var otherMissing = await bob.GetAsync("/api/v1/users/nobody");
        await Expect.ProblemAsync(otherMissing, HttpStatusCode.Forbidden);
        using var missing = await _app.Admin.GetAsync("/api/v1/users/nobody");
        await Expect.ProblemAsync(missing, HttpStatusCode.NotFound);

        var page = await _app.Admin.GetJsonAsync("/api/v1/users?limit=1");
        Assert.Equal("admin", Assert.Single(page.GetProperty("items").EnumerateArray()).GetProperty("name").GetString());
        var rest = await _app.Admin.GetJsonAsync($"/api/v1/users?limit=1&after={page.GetProperty("next").GetString()}");
        Assert.Equal("Bob", Assert.Single(rest.GetProperty("items").EnumerateArray()).GetProperty("name").GetString());

        using var patched = await _app.Admin.SendJsonAsync(HttpMethod.Patch, "/api/v1/users/bob", new { password = "new-password-1", administrator = true });
        await Expect.StatusAsync(patched, HttpStatusCode.OK);
        Assert.True((await patched.ReadJsonAsync()).GetProperty("administrator").GetBoolean());
        using var oldPassword = await bob.GetAsync("/api/v1/me");
        await Expect.ProblemAsync(oldPassword, HttpStatusCode.Unauthorized);
        Assert.True((await _app.As("bob", "new-password-1").GetJsonAsync("/api/v1/me")).GetProperty("administrator").GetBoolean());

        using var disabled = await _app.Admin.SendJsonAsync(HttpMethod.Patch, "/api/v1/users/bob", new { disabled = true });
        await Expect.StatusAsync(disabled, HttpStatusCode.OK);
        using var disabledLogin = await _app.As("bob", "new-password-1").GetAsync("/api/v1/me");
        await Expect.ProblemAsync(disabledLogin, HttpStatusCode.Unauthorized);

        using var deleted = await _app.Admin.DeleteAsync("/api/v1/users/bob");
        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        using var deletedAgain = await _app.Admin.DeleteAsync("/api/v1/users/bob");
        await Expect.ProblemAsync(deletedAgain, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task LastAdministrator_CannotBeDemotedDisabledOrDeleted()
    {
        using var demote = await _app.Admin.SendJsonAsync(HttpMethod.Patch, "/api/v1/users/admin", new { administrator = false, password = "changed-password" });
        await Expect.ProblemAsync(demote, HttpStatusCode.Conflict);
        using var disable = await _app.Admin.SendJsonAsync(HttpMethod.Patch, "/api/v1/users/admin", new { disabled = true });
        await Expect.ProblemAsync(disable, HttpStatusCode.Conflict);
        using var delete = await _app.Admin.DeleteAsync("/api/v1/users/admin");
        await Expect.ProblemAsync(delete, HttpStatusCode.Conflict);

        var me = await _app.Admin.GetJsonAsync("/api/v1/me"); // the password was not changed by the refused patch
        Assert.True(me.GetProperty("administrator").GetBoolean());
    }

    [Fact]
    public async Task Me_ShowsMemberships_AndPasswordChangeNeedsTheCurrentOne()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("bob");
        await _app.AddMemberAsync("shop", "bob", "maintainer");
        var bob = _app.As("bob");

        var me = await bob.GetJsonAsync("/api/v1/me");
        Assert.Equal("user", me.GetProperty("kind").GetString());
        Assert.False(me.GetProperty("administrator").GetBoolean());
        var membership = Assert.Single(me.GetProperty("memberships").EnumerateArray());
        Assert.Equal("shop", membership.GetProperty("project").GetString());
        Assert.Equal("maintainer", membership.GetProperty("role").GetString());

        using var wrong = await bob.SendJsonAsync(HttpMethod.Put, "/api/v1/me/password", new { currentPassword = "wrong-password", newPassword = "another-password" });
        await Expect.ValidationAsync(wrong, "currentPassword");
        using var weak = await bob.SendJsonAsync(HttpMethod.Put, "/api/v1/me/password", new { currentPassword = ManagementApp.Password, newPassword = "x" });
        await Expect.ValidationAsync(weak, "newPassword");
        using var changed = await bob.SendJsonAsync(HttpMethod.Put, "/api/v1/me/password", new { currentPassword = ManagementApp.Password, newPassword = "another-password" });
        await Expect.StatusAsync(changed, HttpStatusCode.NoContent);
        using var old = await bob.GetAsync("/api/v1/me");
        await Expect.ProblemAsync(old, HttpStatusCode.Unauthorized);
        await _app.As("bob", "another-password").GetJsonAsync("/api/v1/me");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Basic YWRtaW46d3Jvbmc=")] // admin:wrong
    [InlineData("Basic !!!")]
    [InlineData("Bearer berth_pat_notatoken")]
    [InlineData("Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig")]
    [InlineData("Digest username=admin")]
    public async Task Me_WithoutValidCredentials_Returns401WithBasicChallenge(string? authorization)
    {
        var client = _app.NewClient(authorization is null ? null : AuthenticationHeaderValue.Parse(authorization));

        using var response = await client.GetAsync("/api/v1/me");

        await Expect.ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Basic realm=\"berth\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task RepeatedFailedSignIns_AreThrottledWith429AndRetryAfter_AndAudited()
    {
        var wrong = _app.As("admin", "wrong-password");
        HttpResponseMessage? last = null;
        for (var i = 0; i < 10 && last?.StatusCode != HttpStatusCode.TooManyRequests; i++)
        {
            last?.Dispose();
            last = await wrong.GetAsync("/api/v1/me");
        }

        using (last)
        {
            await Expect.ProblemAsync(last!, HttpStatusCode.TooManyRequests);
            Assert.True(int.Parse(last!.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        }

        using var rightButThrottled = await _app.Admin.GetAsync("/api/v1/me");
        await Expect.ProblemAsync(rightButThrottled, HttpStatusCode.TooManyRequests);

        _app.App.Clock.Advance(TimeSpan.FromHours(1));
        await _app.Admin.GetJsonAsync("/api/v1/me");
        var failures = await _app.AuditAsync(AuditActions.LoginFailure);
        Assert.NotEmpty(failures);
        Assert.Contains("admin", failures[0].Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password", failures[0].Detail, StringComparison.Ordinal);
        var success = Assert.Single(await _app.AuditAsync(AuditActions.LoginSuccess));
        Assert.Equal("admin", success.ActorName);
    }

    [Fact]
    public async Task ServerIpAllowList_FirstRuleExcludingTheCaller_IsRefusedAndNothingIsStored()
    {
        var fromOffice = _app.NewClient(_app.Admin.DefaultRequestHeaders.Authorization, peer: "10.1.2.3");

        using var lockout = await fromOffice.SendJsonAsync(HttpMethod.Post, "/api/v1/ip-allow", new { network = "192.168.0.0/16" });

        await Expect.ProblemAsync(lockout, HttpStatusCode.Conflict);
        Assert.Contains("10.1.2.3", await lockout.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await fromOffice.GetJsonAsync("/api/v1/ip-allow")).GetProperty("items").EnumerateArray());

        // With the caller's own network allowed first, further rules only widen the list.
        using var own = await fromOffice.SendJsonAsync(HttpMethod.Post, "/api/v1/ip-allow", new { network = "10.0.0.0/8" });
        await Expect.StatusAsync(own, HttpStatusCode.Created);
        using var other = await fromOffice.SendJsonAsync(HttpMethod.Post, "/api/v1/ip-allow", new { network = "192.168.0.0/16" });
        await Expect.StatusAsync(other, HttpStatusCode.Created);
    }

    [Fact]
    public async Task ServerIpAllowList_RefusesOtherAddressesWith403()
    {
        var fromOffice = _app.NewClient(_app.Admin.DefaultRequestHeaders.Authorization, peer: "10.1.2.3");
        using var invalid = await fromOffice.SendJsonAsync(HttpMethod.Post, "/api/v1/ip-allow", new { network = "10.0.0.1/8" });
        await Expect.ValidationAsync(invalid, "network");
        using var added = await fromOffice.SendJsonAsync(HttpMethod.Post, "/api/v1/ip-allow", new { network = "10.0.0.0/8", note = "office" });
        await Expect.StatusAsync(added, HttpStatusCode.Created);
        var rule = await added.ReadJsonAsync();
        Assert.Equal("10.0.0.0/8", rule.GetProperty("network").GetString());
        Assert.Equal("office", rule.GetProperty("note").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, rule.GetProperty("project").ValueKind);
        using var duplicate = await fromOffice.SendJsonAsync(HttpMethod.Post, "/api/v1/ip-allow", new { network = "10.0.0.0/8" });
        await Expect.ProblemAsync(duplicate, HttpStatusCode.Conflict);

        using var elsewhere = await _app.Admin.GetAsync("/api/v1/me");
        await Expect.ProblemAsync(elsewhere, HttpStatusCode.Forbidden);
        using var anonymousElsewhere = await _app.Anonymous.GetAsync("/api/v1/projects");
        await Expect.ProblemAsync(anonymousElsewhere, HttpStatusCode.Forbidden);
        Assert.Single((await fromOffice.GetJsonAsync("/api/v1/ip-allow")).GetProperty("items").EnumerateArray());

        using var removed = await fromOffice.DeleteAsync($"/api/v1/ip-allow/{rule.GetProperty("id").GetInt64()}");
        await Expect.StatusAsync(removed, HttpStatusCode.NoContent);
        using var removedAgain = await fromOffice.DeleteAsync($"/api/v1/ip-allow/{rule.GetProperty("id").GetInt64()}");
        await Expect.ProblemAsync(removedAgain, HttpStatusCode.NotFound);
        await _app.Admin.GetJsonAsync("/api/v1/me");
    }

    [Fact]
    public async Task ProjectIpAllowList_RefusesProjectRoutesFromOtherAddresses_StrangersStillSee404()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("olivia");
        await _app.CreateUserAsync("stranger");
        await _app.AddMemberAsync("shop", "olivia", "owner");
        var olivia = _app.As("olivia");
        var fromNetwork = _app.NewClient(olivia.DefaultRequestHeaders.Authorization, peer: "192.0.2.9");

        // From 127.0.0.1 the first rule would lock olivia out of her own project: refused; from inside the network it is fine.
        using var lockout = await olivia.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/ip-allow", new { network = "192.0.2.0/24" });
        await Expect.ProblemAsync(lockout, HttpStatusCode.Conflict);
        using var added = await fromNetwork.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/ip-allow", new { network = "192.0.2.0/24" });
        await Expect.StatusAsync(added, HttpStatusCode.Created);
        Assert.Equal("shop", (await added.ReadJsonAsync()).GetProperty("project").GetString());

        using var blocked = await olivia.GetAsync("/api/v1/projects/shop");
        await Expect.ProblemAsync(blocked, HttpStatusCode.Forbidden);
        using var stranger = await _app.As("stranger").GetAsync("/api/v1/projects/shop");
        await Expect.ProblemAsync(stranger, HttpStatusCode.NotFound);
        var rules = await fromNetwork.GetJsonAsync("/api/v1/projects/shop/ip-allow");
        var id = Assert.Single(rules.GetProperty("items").EnumerateArray()).GetProperty("id").GetInt64();
        using var serverRoute = await _app.Admin.DeleteAsync($"/api/v1/ip-allow/{id}");
        await Expect.ProblemAsync(serverRoute, HttpStatusCode.NotFound); // a project rule is not a server rule
        using var removed = await fromNetwork.DeleteAsync($"/api/v1/projects/shop/ip-allow/{id}");
        await Expect.StatusAsync(removed, HttpStatusCode.NoContent);
        await olivia.GetJsonAsync("/api/v1/projects/shop");
    }
}
