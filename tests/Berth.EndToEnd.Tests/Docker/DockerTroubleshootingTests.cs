using Berth.Core.Access;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests.Docker;

/// <summary>
/// The lab's troubleshooting, as docker shows it (issue 16, item 3): a push without login, to a project that does not
/// exist, and with a pull-only token each end with docker's <c>denied: …</c> line carrying Berth's message (the
/// challenge's <c>error_description</c>), which says what to do and reads the same for a private project as for a
/// missing one.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class DockerTroubleshootingTests(DockerLabFixture lab) : IAsyncLifetime
{
    private const string Project = "trouble";
    private string _pushToken = string.Empty;
    private string _pullToken = string.Empty;

    /// <summary>Once for the class: bob, a developer of "trouble" with a pull,push and a pull-only token; "hidden", private, without him.</summary>
    public async Task InitializeAsync()
    {
        await lab.BuildAsync();
        (_pushToken, _pullToken) = await lab.OnceAsync(nameof(DockerTroubleshootingTests), async () =>
        {
            await using var setup = ServerSetup.Open(lab.Registry);
            var bob = await setup.Access.UserAsync("bob", "bobs-password");
            await setup.Access.ProjectAsync(Project);
            await setup.Access.ProjectAsync("hidden");
            await setup.Access.MemberAsync(Project, bob, ProjectRole.Developer);
            var push = (await setup.Access.TokenAsync(bob, AccessTokenScope.PullPush, [Project], name: "laptop")).Secret;
            var pull = (await setup.Access.TokenAsync(bob, AccessTokenScope.Pull, [Project], name: "server")).Secret;
            await ServerSetup.WaitForServerCachesAsync();
            return (push, pull);
        });
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task DockerPush_WithoutLogin_DeniedLineSaysToLogInTheSameForAMissingProject()
    {
        using var docker = new DockerClient(lab.Laptop);

        // Repositories nothing was pushed to yet: docker's first request there is an upload (or a mount), no HEAD of a layer.
        var toPrivate = await PushAsync(docker, $"{lab.Host}/{Project}/anonymous:v1");
        var toMissing = await PushAsync(docker, $"{lab.Host}/ghost/anonymous:v1");

        Assert.Equal($"denied: authentication required for pull,push on {Project}/anonymous: log in first (docker login) with an account that may pull,push in project '{Project}'",
            DockerAssert.LastErrorLine(toPrivate));
        Assert.Equal(DockerAssert.Denied(toPrivate).Replace(Project, "ghost", StringComparison.Ordinal), DockerAssert.Denied(toMissing));
    }

    [Fact]
    public async Task DockerPush_ToProjectThatDoesNotExist_DeniedLineSaysWhatToDoTheSameAsForAPrivateProject()
    {
        using var docker = new DockerClient(lab.Laptop);
        ClientAssertSucceeded(await docker.LoginAsync(lab.Host, "bob", _pushToken));

        var toMissing = await PushAsync(docker, $"{lab.Host}/ghost/api:v1");
        var toPrivate = await PushAsync(docker, $"{lab.Host}/hidden/api:v1");

        Assert.Equal("denied: requested access to the resource is denied: pull,push on ghost/api (project 'ghost' does not exist or you may not pull,push in it): " +
            "check the name, ask an owner of the project for a role that allows it, or log in with an access token whose scope and projects include it",
            DockerAssert.LastErrorLine(toMissing));
        Assert.Equal(DockerAssert.Denied(toPrivate).Replace("hidden", "ghost", StringComparison.Ordinal), DockerAssert.Denied(toMissing));
    }

    [Fact]
    public async Task DockerPush_PullOnlyToken_DeniedLineSaysTheTokenMustIncludePush()
    {
        using var docker = new DockerClient(lab.Laptop);
        ClientAssertSucceeded(await docker.LoginAsync(lab.Host, "bob", _pullToken));

        // New layers: the first upload is refused, and docker prints only that.
        var fresh = await PushAsync(docker, $"{lab.Host}/{Project}/fresh:v1");

        Assert.StartsWith($"denied: requested access to the resource is denied: pull,push on {Project}/fresh (project '{Project}' does not exist or you may not pull,push in it)",
            DockerAssert.LastErrorLine(fresh), StringComparison.Ordinal);
        Assert.EndsWith("or log in with an access token whose scope and projects include it", DockerAssert.LastErrorLine(fresh), StringComparison.Ordinal);

        // Layers already there (pushed with the push token): the manifest PUT is refused, and docker lists the challenge's
        // words (denied: …) and the body's (unauthorized: …), the same message.
        using (var pusher = new DockerClient(lab.Laptop))
        {
            ClientAssertSucceeded(await pusher.LoginAsync(lab.Host, "bob", _pushToken));
            await pusher.CheckedAsync("tag", LabImages.App, $"{lab.Host}/{Project}/api:v1");
            await pusher.PushAsync($"{lab.Host}/{Project}/api:v1");
        }

        var existing = await PushAsync(docker, $"{lab.Host}/{Project}/api:v2");
        var message = DockerAssert.Denied(existing);
        Assert.StartsWith($"requested access to the resource is denied: push on {Project}/api (project '{Project}' does not exist or you may not push in it)", message, StringComparison.Ordinal);
        Assert.Contains("access token whose scope", message, StringComparison.Ordinal);
        Assert.Contains("Layer already exists", existing.StandardOutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DockerPush_AdministratorToMissingProject_DeniedLineSaysHowToCreateIt()
    {
        using var docker = new DockerClient(lab.Laptop);
        ClientAssertSucceeded(await docker.LoginAsync(lab.Host, BerthProcess.AdminUser, BerthProcess.AdminPassword));

        var result = await PushAsync(docker, $"{lab.Host}/newteam/api:v1");

        // An administrator may know the project is missing; the server does not create projects on push by default.
        Assert.Equal("project 'newteam' does not exist: create it first (berth project create newteam), or start the server with --auto-create-projects",
            DockerAssert.Denied(result));
    }

    /// <summary>Tags the lab's image as <paramref name="reference"/> on the client's engine and pushes it; the result whatever it is.</summary>
    private static async Task<ProcessResult> PushAsync(DockerClient docker, string reference)
    {
        await docker.CheckedAsync("tag", LabImages.App, reference);
        return await docker.RunAsync("push", reference);
    }

    private static void ClientAssertSucceeded(ProcessResult result) =>
        Assert.True(result.ExitCode == 0 && result.StandardOutputText.Contains("Login Succeeded", StringComparison.Ordinal), result.Describe());
}
