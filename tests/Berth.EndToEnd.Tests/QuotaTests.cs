using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>Project quotas seen by a real client: skopeo's push beyond the quota fails with the quota message.</summary>
public sealed class QuotaTests : IClassFixture<BerthServerFixture>
{
    private readonly BerthProcess _server;

    public QuotaTests(BerthServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task SkopeoPush_BeyondTheQuota_RefusedWithTheMessage_FitsAfterRaising()
    {
        using var work = new TempDirectory("skopeo-quota");
        var one = OciLayoutBuilder.RandomImage(work.Sub("one"), "v1", layers: 1, bytesPerLayer: 96 * 1024, seed: 1401);
        var two = OciLayoutBuilder.RandomImage(work.Sub("two"), "v2", layers: 1, bytesPerLayer: 160 * 1024, seed: 1402);
        await using (var setup = ServerSetup.Open(_server))
        {
            await setup.Access.ProjectAsync("quota");
            await setup.Access.QuotaAsync("quota", 200 * 1024);
        }

        await Skopeo.PushAsync(one, $"{_server.Host}/quota/app:v1");
        long used;
        await using (var setup = ServerSetup.Open(_server))
        {
            used = await setup.Access.UsedAsync("quota");
        }

        var refused = await ProcessRunner.RunAsync(ExternalTools.Skopeo,
            ["--insecure-policy", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false", two.OciReference, $"docker://{_server.Host}/quota/app:v2"],
            environment: RegistryAuth.Environment);

        Assert.True(refused.ExitCode != 0, refused.Describe());
        Assert.Contains("quota exceeded: ", refused.StandardError, StringComparison.Ordinal);
        Assert.Contains(" of 200 KiB used, this push needs ", refused.StandardError, StringComparison.Ordinal);
        await using (var setup = ServerSetup.Open(_server))
        {
            Assert.Equal(used, await setup.Access.UsedAsync("quota")); // the refused upload left nothing counted
            await setup.Access.QuotaAsync("quota", 1024 * 1024);
        }

        await Skopeo.PushAsync(two, $"{_server.Host}/quota/app:v2");
        Assert.Equal(two.Root.Digest, Sha256Digest.Of(await Skopeo.InspectRawAsync($"{_server.Host}/quota/app:v2")));
    }
}
