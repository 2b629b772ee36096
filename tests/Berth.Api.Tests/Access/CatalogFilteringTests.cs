using System.Net;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>
/// The catalog is open to every signed-in caller and lists what each may pull, through Basic and through Bearer;
/// anonymous callers are challenged (so clients holding credentials sign in rather than see an empty list).
/// </summary>
public sealed class CatalogFilteringTests : AccessTest
{
    private static readonly string[] All = ["alpha/one", "bravo/two", "charlie/four", "charlie/three", "pub/five"];

    public CatalogFilteringTests()
    {
        Setup.ProjectAsync("alpha").GetAwaiter().GetResult();
        Setup.ProjectAsync("bravo").GetAwaiter().GetResult();
        Setup.ProjectAsync("charlie").GetAwaiter().GetResult();
        Setup.ProjectAsync("pub", isPublic: true).GetAwaiter().GetResult();
        var seed = 1;
        foreach (var repository in All)
        {
            Admin.PushBlobAsync(repository, TestImages.Bytes(20, seed++)).GetAwaiter().GetResult();
        }
    }

    private async Task<List<string>> CatalogAsync(Credentials? credentials, bool bearer, int? n = null)
    {
        using var client = bearer
            ? AccessClient.Bearer(App, await AccessClient.GetTokenAsync(App, credentials, "registry:catalog:*"))
            : AccessClient.Basic(App, credentials);
        var names = new List<string>();
        var path = n is null ? "/v2/_catalog" : $"/v2/_catalog?n={n}";
        for (var pages = 0; path is not null; pages++)
        {
            Assert.True(pages < 20, "too many pages");
            using var response = await client.GetAsync(path);
            await OciAssert.StatusAsync(response, HttpStatusCode.OK);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var page = json.RootElement.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()!).ToList();
            Assert.True(n is null || page.Count <= n, $"page of {page.Count} for n={n}");
            names.AddRange(page);
            var link = response.Headers.TryGetValues("Link", out var links) ? links.Single() : null;
            path = link is null ? null : link[1..link.IndexOf('>', StringComparison.Ordinal)];
            Assert.True(n is not null || path is null, "a Link without paging");
        }

        return names;
    }

    private async Task AnonymousIsChallengedAsync(bool bearer)
    {
        using var client = bearer
            ? AccessClient.Bearer(App, await AccessClient.GetTokenAsync(App, null, "registry:catalog:*"))
            : AccessClient.Basic(App, null);
        using var response = await client.GetAsync("/v2/_catalog");

        await OciAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("registry:catalog:*", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EachCallerSeesWhatItMayPull(bool bearer)
    {
        var (member, memberCredentials) = await UserAsync("member", "alpha", ProjectRole.Reader);
        await Setup.MemberAsync("charlie", member, ProjectRole.Developer);
        var (_, restricted) = await Setup.TokenAsync(member, AccessTokenScope.PullPush, ["alpha"]);
        var robot = await Setup.RobotAsync("bravo", "ci", RegistryActions.Pull);
        var (_, robotSecret) = await Setup.RobotTokenAsync(robot, AccessTokenScope.Pull);

        Assert.Equal(All, await CatalogAsync(new Credentials(BerthApplication.AdminUser, BerthApplication.AdminPassword), bearer));
        Assert.Equal(["alpha/one", "charlie/four", "charlie/three", "pub/five"], await CatalogAsync(memberCredentials, bearer));
        await AnonymousIsChallengedAsync(bearer);
        Assert.Equal(["pub/five"], await CatalogAsync((await UserAsync("stranger")).Credentials, bearer));

        // Restricted to one project: of the owner's private projects only that one (public ones are open to all).
        Assert.Equal(["alpha/one", "pub/five"], await CatalogAsync(new Credentials("member", restricted), bearer));
        Assert.Equal(["bravo/two", "pub/five"], await CatalogAsync(new Credentials(robot.FullName, robotSecret), bearer));
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 3)]
    public async Task Paging_StillWorksWhenFiltering(bool bearer, int n)
    {
        var (member, memberCredentials) = await UserAsync("member", "alpha", ProjectRole.Reader);
        await Setup.MemberAsync("charlie", member, ProjectRole.Reader);

        Assert.Equal(["alpha/one", "charlie/four", "charlie/three", "pub/five"], await CatalogAsync(memberCredentials, bearer, n));
        await AnonymousIsChallengedAsync(bearer);
        Assert.Equal(All, await CatalogAsync(new Credentials(BerthApplication.AdminUser, BerthApplication.AdminPassword), bearer, n));
    }
}
