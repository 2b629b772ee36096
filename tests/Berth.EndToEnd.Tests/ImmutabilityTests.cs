using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>Tag immutability seen by a real client: skopeo's push of another image to an immutable tag fails with the reason.</summary>
public sealed class ImmutabilityTests : IClassFixture<BerthServerFixture>
{
    private readonly BerthProcess _server;

    public ImmutabilityTests(BerthServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task SkopeoPush_OtherImageToImmutableTag_RefusedWithTheMessage_SameImageAgainSucceeds()
    {
        using var work = new TempDirectory("skopeo-immutable");
        var one = OciLayoutBuilder.RandomImage(work.Sub("one"), "v1", layers: 1, bytesPerLayer: 96 * 1024, seed: 1301);
        var two = OciLayoutBuilder.RandomImage(work.Sub("two"), "v1", layers: 1, bytesPerLayer: 96 * 1024, seed: 1302);
        long rule;
        await using (var setup = ServerSetup.Open(_server))
        {
            await setup.Access.ProjectAsync("immut");
            rule = await setup.Access.ImmutableAsync("immut", ["v*"], ["latest", "dev", "stable"]);
        }

        var reference = $"{_server.Host}/immut/app:v1.0";
        await Skopeo.PushAsync(one, reference);

        var refused = await ProcessRunner.RunAsync(ExternalTools.Skopeo,
            ["--insecure-policy", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false", two.OciReference, $"docker://{reference}"],
            environment: RegistryAuth.Environment);

        Assert.True(refused.ExitCode != 0, refused.Describe());
        Assert.Contains($"tag v1.0 is immutable (rule {rule}: tags v* excluding latest,dev,stable)", refused.StandardError, StringComparison.Ordinal);
        Assert.Equal(one.Root.Digest, Sha256Digest.Of(await Skopeo.InspectRawAsync(reference)));

        await Skopeo.PushAsync(one, reference); // the same image again: a re-run CI job succeeds
        await Skopeo.PushAsync(two, $"{_server.Host}/immut/app:latest"); // movable tags move
        await Skopeo.PushAsync(one, $"{_server.Host}/immut/app:latest");
        Assert.Equal(one.Root.Digest, Sha256Digest.Of(await Skopeo.InspectRawAsync(reference)));
    }
}
