using System.Net;
using Berth.Core.Access;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Tests.Access;

/// <summary>Pushing into a project that does not exist: administrators create it (or are told how), others learn nothing.</summary>
public sealed class ProjectAccessTests
{
    private static readonly Credentials AdminCredentials = new(BerthApplication.AdminUser, BerthApplication.AdminPassword);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AdminPushIntoMissingProject_WithoutAutoCreate_IsDeniedWithHowToCreateIt(bool bearer)
    {
        using var app = new BerthApplication(new Dictionary<string, string?> { ["Berth:AutoCreateProjects"] = "false" });
        var blob = TestImages.Bytes(10, 1);
        using var client = bearer
            ? AccessClient.Bearer(app, await AccessClient.GetTokenAsync(app, AdminCredentials, "repository:newproj/app:pull,push"))
            : AccessClient.Basic(app, AdminCredentials);

        using var response = await client.PostAsync($"/v2/newproj/app/blobs/uploads/?digest={TestImages.Sha256(blob)}", new ByteArrayContent(blob));

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("'newproj' does not exist", error.Message);
        Assert.Contains("berth project create newproj", error.Message);
        Assert.Null(await app.Services.GetService<IProjectStore>()!.GetAsync(ProjectName.Parse("newproj"), CancellationToken.None));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AdminPushIntoMissingProject_WithAutoCreate_CreatesItPrivate(bool bearer)
    {
        using var app = new BerthApplication();
        using var client = bearer
            ? AccessClient.Bearer(app, await AccessClient.GetTokenAsync(app, AdminCredentials, "repository:newproj/app:pull,push"))
            : AccessClient.Basic(app, AdminCredentials);

        await client.PushManifestAsync("newproj/app", TestImages.OciImage(1), "v1");

        var project = await app.Services.GetService<IProjectStore>()!.GetAsync(ProjectName.Parse("newproj"), CancellationToken.None);
        Assert.Equal(ProjectVisibility.Private, project!.Visibility);
        var created = Assert.Single(await new AccessSetup(app).AuditAsync(), e => e.Action == AuditActions.ProjectCreate);
        Assert.Equal(AuditActorKind.User, created.ActorKind);
        Assert.Equal("admin", created.ActorName);
        Assert.Equal("newproj", created.Project?.Value);
        using var anonymous = app.CreateAnonymousClient();
        using var pull = await anonymous.GetAsync("/v2/newproj/app/manifests/v1");
        Assert.Equal(HttpStatusCode.Unauthorized, pull.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NonAdminPushIntoMissingProject_LooksLikeAPrivateOne(bool bearer)
    {
        using var app = new BerthApplication();
        var setup = new AccessSetup(app);
        await setup.ProjectAsync("secret");
        var user = await setup.UserAsync("dev", "dev-password");
        await setup.ProjectAsync("mine");
        await setup.MemberAsync("mine", user, ProjectRole.Developer);
        var credentials = new Credentials("dev", "dev-password");
        var blob = TestImages.Bytes(10, 1);

        async Task<(HttpStatusCode, string?, string)> PushAsync(string project)
        {
            using var client = bearer
                ? AccessClient.Bearer(app, await AccessClient.GetTokenAsync(app, credentials, $"repository:{project}/app:pull,push"))
                : AccessClient.Basic(app, credentials);
            using var response = await client.PostAsync($"/v2/{project}/app/blobs/uploads/?digest={TestImages.Sha256(blob)}", new ByteArrayContent(blob));
            return (response.StatusCode, response.Header("WWW-Authenticate")?.Replace(project, "NAME", StringComparison.Ordinal),
                (await response.Content.ReadAsStringAsync()).Replace(project, "NAME", StringComparison.Ordinal));
        }

        var missing = await PushAsync("ghost");
        var hidden = await PushAsync("secret");

        Assert.Equal(bearer ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden, hidden.Item1);
        Assert.Equal(hidden, missing);
        Assert.Null(await app.Services.GetService<IProjectStore>()!.GetAsync(ProjectName.Parse("ghost"), CancellationToken.None));
    }
}
