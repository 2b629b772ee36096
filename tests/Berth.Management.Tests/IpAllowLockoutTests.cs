using System.Net;

namespace Berth.Management.Tests;

/// <summary>
/// IP allow lists cannot lock everyone out for good: a change that would shut out the caller's own address is
/// refused (the first rule, and removals), and server administrators manage a project's list from any address.
/// </summary>
public sealed class IpAllowLockoutTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task ProjectIpAllowList_RemovingTheCallersLastRule_IsRefusedAndTheListIsUnchanged()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("olivia");
        await _app.AddMemberAsync("shop", "olivia", "owner");
        var olivia = _app.As("olivia"); // from 127.0.0.1

        // The sequence: ip-allow add 127.0.0.1; ip-allow add 10.0.0.0/8; ip-allow remove 1 (all --project shop).
        var own = await AddAsync(olivia, "/api/v1/projects/shop/ip-allow", "127.0.0.1");
        await AddAsync(olivia, "/api/v1/projects/shop/ip-allow", "10.0.0.0/8");
        using var removal = await olivia.DeleteAsync($"/api/v1/projects/shop/ip-allow/{own}");

        var problem = await Expect.ProblemAsync(removal, HttpStatusCode.Conflict);
        Assert.Contains("127.0.0.1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, (await olivia.GetJsonAsync("/api/v1/projects/shop/ip-allow")).GetProperty("items").GetArrayLength());
        await olivia.GetJsonAsync("/api/v1/projects/shop");
        Assert.Empty(await _app.AuditAsync(Core.Access.AuditActions.IpRuleRemove));
    }

    [Fact]
    public async Task ServerIpAllowList_RemovingTheCallersLastRule_IsRefused()
    {
        var fromOffice = _app.NewClient(_app.Admin.DefaultRequestHeaders.Authorization, peer: "10.1.2.3");
        var office = await AddAsync(fromOffice, "/api/v1/ip-allow", "10.0.0.0/8");
        await AddAsync(fromOffice, "/api/v1/ip-allow", "192.168.0.0/16");

        using var removal = await fromOffice.DeleteAsync($"/api/v1/ip-allow/{office}");

        await Expect.ProblemAsync(removal, HttpStatusCode.Conflict);
        Assert.Equal(2, (await fromOffice.GetJsonAsync("/api/v1/ip-allow")).GetProperty("items").GetArrayLength());
        await fromOffice.GetJsonAsync("/api/v1/me");
    }

    [Fact]
    public async Task IpAllowList_RemovalsThatKeepTheCallerIn_Succeed()
    {
        var fromOffice = _app.NewClient(_app.Admin.DefaultRequestHeaders.Authorization, peer: "10.1.2.3");
        var wide = await AddAsync(fromOffice, "/api/v1/ip-allow", "10.0.0.0/8");
        var narrow = await AddAsync(fromOffice, "/api/v1/ip-allow", "10.1.0.0/16");
        var other = await AddAsync(fromOffice, "/api/v1/ip-allow", "192.168.0.0/16");

        // Another rule still admits the caller; then a rule that never did; then the last one (no rules: every address).
        foreach (var id in new[] { wide, other, narrow })
        {
            using var removed = await fromOffice.DeleteAsync($"/api/v1/ip-allow/{id}");
            await Expect.StatusAsync(removed, HttpStatusCode.NoContent);
        }

        Assert.Equal(0, (await _app.Admin.GetJsonAsync("/api/v1/ip-allow")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task ProjectIpAllowList_ShuttingOutEveryoneElse_AnAdministratorRepairsItFromAnywhere()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("olivia");
        await _app.AddMemberAsync("shop", "olivia", "owner");
        var oliviaInside = _app.NewClient(_app.As("olivia").DefaultRequestHeaders.Authorization, peer: "192.0.2.9");
        var rule = await AddAsync(oliviaInside, "/api/v1/projects/shop/ip-allow", "192.0.2.0/24");
        var olivia = _app.As("olivia"); // now outside it, as is the administrator (127.0.0.1)

        using (var ownerOutside = await olivia.GetAsync("/api/v1/projects/shop/ip-allow"))
        {
            await Expect.ProblemAsync(ownerOutside, HttpStatusCode.Forbidden); // owners get no exemption
        }

        using (var adminOtherRoute = await _app.Admin.GetAsync("/api/v1/projects/shop"))
        {
            await Expect.ProblemAsync(adminOtherRoute, HttpStatusCode.Forbidden); // only the ip-allow routes are exempt
        }

        Assert.Single((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/ip-allow")).GetProperty("items").EnumerateArray());
        var added = await AddAsync(_app.Admin, "/api/v1/projects/shop/ip-allow", "203.0.113.0/24"); // not the admin's own: fine, it was outside already
        using (var removedOther = await _app.Admin.DeleteAsync($"/api/v1/projects/shop/ip-allow/{added}"))
        {
            await Expect.StatusAsync(removedOther, HttpStatusCode.NoContent);
        }

        using (var removed = await _app.Admin.DeleteAsync($"/api/v1/projects/shop/ip-allow/{rule}"))
        {
            await Expect.StatusAsync(removed, HttpStatusCode.NoContent);
        }

        await olivia.GetJsonAsync("/api/v1/projects/shop"); // open to every address again
    }

    [Fact]
    public async Task ProjectIpAllowList_AdministratorOutsideTheServerList_IsStillRefused()
    {
        await _app.CreateProjectAsync("shop");
        var fromOffice = _app.NewClient(_app.Admin.DefaultRequestHeaders.Authorization, peer: "10.1.2.3");
        await AddAsync(fromOffice, "/api/v1/ip-allow", "10.0.0.0/8");

        using var outside = await _app.Admin.GetAsync("/api/v1/projects/shop/ip-allow");

        await Expect.ProblemAsync(outside, HttpStatusCode.Forbidden);
    }

    private static async Task<long> AddAsync(HttpClient client, string path, string network)
    {
        using var response = await client.SendJsonAsync(HttpMethod.Post, path, new { network });
        await Expect.StatusAsync(response, HttpStatusCode.Created);
        return (await response.ReadJsonAsync()).GetProperty("id").GetInt64();
    }
}
