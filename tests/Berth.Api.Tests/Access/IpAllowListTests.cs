using System.Net;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>Server-wide and per-project IP allow lists, IPv6, and X-Forwarded-For from trusted proxies only.</summary>
public sealed class IpAllowListTests
{
    private static readonly Credentials AdminCredentials = new(BerthApplication.AdminUser, BerthApplication.AdminPassword);

    private static async Task<BerthApplication> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var app = new BerthApplication(settings);
        var setup = new AccessSetup(app);
        await setup.ProjectAsync("proj");
        await setup.ProjectAsync("other");
        using var admin = app.CreateClient();
        await admin.PushManifestAsync("proj/app", TestImages.OciImage(1), "v1");
        await admin.PushManifestAsync("other/app", TestImages.OciImage(2), "v1");
        return app;
    }

    private static async Task<HttpResponseMessage> PullAsync(HttpClient client, string project = "proj") =>
        await client.GetAsync($"/v2/{project}/app/manifests/v1");

    [Fact]
    public async Task ServerRule_RefusesOtherAddresses_EvenForTheAdministrator()
    {
        using var app = await StartAsync();
        var bearer = await AccessClient.GetTokenAsync(app, AdminCredentials, "repository:proj/app:pull");
        await new AccessSetup(app).AllowAsync("10.0.0.0/8");

        using var basicLocal = AccessClient.Basic(app, AdminCredentials);
        using var refused = await PullAsync(basicLocal);
        var error = await OciAssert.ErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("127.0.0.1", error.Message);
        using var bearerLocal = AccessClient.Bearer(app, bearer);
        using var refusedBearer = await PullAsync(bearerLocal);
        await OciAssert.ErrorAsync(refusedBearer, HttpStatusCode.Forbidden, "DENIED");
        using var tokenLocal = AccessClient.Basic(app, AdminCredentials);
        using var refusedToken = await tokenLocal.GetAsync(AccessClient.TokenPath("repository:proj/app:pull"));
        Assert.Equal(HttpStatusCode.Forbidden, refusedToken.StatusCode);

        using var basicInside = AccessClient.Basic(app, AdminCredentials, "10.1.2.3");
        using var allowed = await PullAsync(basicInside);
        await OciAssert.StatusAsync(allowed, HttpStatusCode.OK);
        using var bearerInside = AccessClient.Bearer(app, bearer, "10.1.2.3");
        using var allowedBearer = await PullAsync(bearerInside);
        await OciAssert.StatusAsync(allowedBearer, HttpStatusCode.OK);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ProjectRule_AppliesOnlyToThatProject(bool bearer)
    {
        using var app = await StartAsync();
        await new AccessSetup(app).AllowAsync("10.0.0.0/8", "proj");

        async Task<HttpStatusCode> PullAsAdminAsync(string project, string address)
        {
            using var client = bearer
                ? AccessClient.Bearer(app, await AccessClient.GetTokenFromAsync(app, address, AdminCredentials, $"repository:{project}/app:pull"), address)
                : AccessClient.Basic(app, AdminCredentials, address);
            using var response = await PullAsync(client, project);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Forbidden, await PullAsAdminAsync("proj", "127.0.0.1"));
        Assert.Equal(HttpStatusCode.OK, await PullAsAdminAsync("other", "127.0.0.1"));
        Assert.Equal(HttpStatusCode.OK, await PullAsAdminAsync("proj", "10.1.2.3"));
    }

    [Fact]
    public async Task ProjectRule_KeepsItsRepositoriesOutOfTheCatalogElsewhere()
    {
        using var app = await StartAsync();
        await new AccessSetup(app).AllowAsync("10.0.0.0/8", "proj");

        using var outside = AccessClient.Basic(app, AdminCredentials);
        using var inside = AccessClient.Basic(app, AdminCredentials, "10.1.2.3");
        Assert.Equal(["other/app"], await outside.GetCatalogAsync());
        Assert.Equal(["other/app", "proj/app"], await inside.GetCatalogAsync());
    }

    [Fact]
    public async Task IPv6Rule()
    {
        using var app = await StartAsync();
        await new AccessSetup(app).AllowAsync("2001:db8::/32");

        using var inside = AccessClient.Basic(app, AdminCredentials, "2001:db8::1");
        using var outside = AccessClient.Basic(app, AdminCredentials, "2001:db9::1");
        using var allowed = await PullAsync(inside);
        using var refused = await PullAsync(outside);

        await OciAssert.StatusAsync(allowed, HttpStatusCode.OK);
        await OciAssert.ErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
    }

    [Theory]
    [InlineData(null, "127.0.0.1", HttpStatusCode.Forbidden)]
    [InlineData("127.0.0.1", "127.0.0.1", HttpStatusCode.OK)]
    [InlineData("127.0.0.1", "192.168.1.1", HttpStatusCode.Forbidden)]
    [InlineData("192.168.0.0/16", "192.168.1.1", HttpStatusCode.OK)]
    [InlineData("127.0.0.1,192.168.0.0/16", "127.0.0.1", HttpStatusCode.OK, "10.1.2.3, 192.168.1.5")]
    [InlineData("127.0.0.1", "127.0.0.1", HttpStatusCode.Forbidden, "10.1.2.3, 192.168.1.5")]
    [InlineData("127.0.0.1", "127.0.0.1", HttpStatusCode.Forbidden, "10.1.2.3, 127.0.0.2")]
    public async Task ForwardedFor_IsHonouredOnlyFromTrustedProxies(string? trusted, string peer, HttpStatusCode expected, string forwardedFor = "10.1.2.3")
    {
        using var app = await StartAsync(trusted is null ? null : new Dictionary<string, string?> { ["Berth:TrustedProxies"] = trusted });
        await new AccessSetup(app).AllowAsync("10.0.0.0/8");

        using var client = AccessClient.Basic(app, AdminCredentials, peer);
        client.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor);
        using var response = await PullAsync(client);

        Assert.Equal(expected, response.StatusCode);
    }

    [Theory]
    [InlineData("::ffff:10.1.2.3", HttpStatusCode.OK)]
    [InlineData("::ffff:127.0.0.1", HttpStatusCode.Forbidden)]
    public async Task IPv4MappedAddresses_CountAsIPv4(string address, HttpStatusCode expected)
    {
        using var app = await StartAsync();
        await new AccessSetup(app).AllowAsync("10.0.0.0/8");

        using var client = AccessClient.Basic(app, AdminCredentials, address);
        using var response = await PullAsync(client);

        Assert.Equal(expected, response.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MemberOutsideTheProjectList_IsToldWhy(bool bearer)
    {
        using var app = await StartAsync();
        var setup = new AccessSetup(app);
        var user = await setup.UserAsync("dev", "dev-password");
        await setup.MemberAsync("proj", user, Berth.Core.Access.ProjectRole.Developer);
        await setup.AllowAsync("10.0.0.0/8", "proj");
        var credentials = new Credentials("dev", "dev-password");

        using var client = bearer
            ? AccessClient.Bearer(app, await AccessClient.GetTokenAsync(app, credentials, "repository:proj/app:pull"))
            : AccessClient.Basic(app, credentials);
        using var response = await PullAsync(client);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("requests from 127.0.0.1 are not allowed by the IP allow list", error.Message);
    }
}
