using System.Net;
using Berth.Core.Access;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>Pushes, pulls, deletes and sign-ins at /token land in the audit log with who, where and from which address.</summary>
public sealed class AuditTests : AccessTest
{
    [Fact]
    public async Task RegistryActions_AreRecorded()
    {
        await Setup.ProjectAsync("proj");
        var (_, developer) = await UserAsync("dev", "proj");
        var (_, maintainer) = await UserAsync("keeper", "proj", ProjectRole.Maintainer);
        var robot = await Setup.RobotAsync("proj", "ci", Core.Registry.RegistryActions.Pull);
        var (_, robotSecret) = await Setup.RobotTokenAsync(robot, AccessTokenScope.Pull);
        var image = TestImages.OciImage(1);
        var loose = TestImages.Bytes(30, 9);

        using (var push = AccessClient.Basic(App, developer, "10.0.0.1"))
        {
            await push.PushManifestAsync("proj/app", image, "v1");
            await push.PushBlobAsync("proj/app", loose);
        }

        using (var pull = AccessClient.Bearer(App, await AccessClient.GetTokenAsync(App, new Credentials(robot.FullName, robotSecret), "repository:proj/app:pull"), "10.0.0.2"))
        {
            Assert.True(await pull.ManifestExistsAsync("proj/app", "v1")); // HEAD: not a pull
            using var get = await pull.GetAsync("/v2/proj/app/manifests/v1");
            await OciAssert.StatusAsync(get, HttpStatusCode.OK);
        }

        using (var delete = AccessClient.Basic(App, maintainer, "10.0.0.3"))
        {
            using var manifest = await delete.DeleteAsync($"/v2/proj/app/manifests/{image.Digest}");
            await OciAssert.StatusAsync(manifest, HttpStatusCode.Accepted);
            using var blob = await delete.DeleteAsync($"/v2/proj/app/blobs/{TestImages.Sha256(loose)}");
            await OciAssert.StatusAsync(blob, HttpStatusCode.Accepted);
        }

        var entries = (await Setup.AuditAsync()).Where(e => e.Action is AuditActions.Push or AuditActions.Pull or AuditActions.Delete).OrderBy(e => e.Id).ToList();
        Assert.Equal(
            [
                "push User dev proj proj/app 10.0.0.1",
                "pull Robot proj+ci proj proj/app 10.0.0.2",
                "delete User keeper proj proj/app 10.0.0.3",
                "delete User keeper proj proj/app 10.0.0.3",
            ],
            entries.Select(e => $"{e.Action} {e.ActorKind} {e.ActorName} {e.Project} {e.Repository} {e.ClientAddress}"));
        Assert.Contains(image.Digest, entries[0].Detail);
        Assert.Contains(image.Digest, entries[2].Detail);
        Assert.Contains(TestImages.Sha256(loose), entries[3].Detail);
    }

    [Fact]
    public async Task SignInsAtTheTokenEndpoint_AreRecorded()
    {
        var (_, developer) = await UserAsync("dev");
        using (var good = AccessClient.Basic(App, developer, "10.0.0.4"))
        using (var ok = await good.GetAsync(AccessClient.TokenPath()))
        {
            await OciAssert.StatusAsync(ok, HttpStatusCode.OK);
        }

        using (var bad = AccessClient.Basic(App, new Credentials("dev", "wrong"), "10.0.0.5"))
        using (var refused = await bad.GetAsync(AccessClient.TokenPath()))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var entries = (await Setup.AuditAsync()).Where(e => e.Action.StartsWith("login.", StringComparison.Ordinal)).OrderBy(e => e.Id).ToList();
        Assert.Equal(
            ["login.success User dev 10.0.0.4", "login.failure Anonymous  10.0.0.5"],
            entries.Select(e => $"{e.Action} {e.ActorKind} {e.ActorName} {e.ClientAddress}"));
        Assert.Contains("\"dev\"", entries[1].Detail);
    }
}
