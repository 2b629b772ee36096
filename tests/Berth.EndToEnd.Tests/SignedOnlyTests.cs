using Berth.EndToEnd.Tests.Docker;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// The signed-only pull policy seen by real clients (issue 15): with <c>berth project update --signed-only true</c> and a
/// key trusted by the project (<c>berth key generate</c>, <c>berth trust add</c>), skopeo and podman pulls of an unsigned
/// image fail printing the registry's reason; after <c>berth sign</c> they work and <c>berth verify</c> exits 0; after
/// <c>berth trust remove</c> the pull is refused again. A multi-platform index signed as a referrer is pulled whole
/// (its platform manifests pass through the signed index).
/// </summary>
public sealed class SignedOnlyTests : IClassFixture<AccessServerFixture>
{
    private const string Passphrase = "correct horse battery staple";
    private readonly BerthProcess _server;

    public SignedOnlyTests(AccessServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task SkopeoAndPodman_Unsigned_Refused_BerthSignLetsThrough_TrustRemovedRefusesAgain()
    {
        using var work = new TempDirectory("signed-only");
        var image = OciLayoutBuilder.RandomImage(work.Sub("source"), "v1", 2, 64 * 1024, seed: 1501);
        using var cli = new BerthCli();
        await cli.LoginAsync(_server, BerthProcess.AdminUser, BerthProcess.AdminPassword);
        await cli.RunAsync(null, "project", "create", "signed");
        var reference = $"{_server.Host}/signed/app:v1";
        await Skopeo.PushAsync(image, reference);

        var key = Path.Combine(work.Path, "ci");
        await cli.RunAsync(Passphrase + "\n", "key", "generate", key);
        Assert.True(File.Exists(key + ".key") && File.Exists(key + ".pub"));
        await cli.RunAsync(null, "trust", "add", "ci", "--key", key + ".pub", "--project", "signed");
        await cli.RunAsync(null, "project", "update", "signed", "--signed-only", "true");

        var refusal = $"signed/app@{image.Root.Digest}: no valid signature: no signature (project signed allows only signed images)";
        await AssertRefusedAsync(reference, work.Sub("refused-1"), refusal);
        using var podman = new PodmanStore();
        var refused = await podman.TryRunAsync("pull", "--quiet", "--tls-verify=false", reference);
        Assert.True(refused.ExitCode != 0, refused.Describe());
        Assert.Contains(refusal, refused.StandardError, StringComparison.Ordinal);

        // berth verify on the client side agrees: no signature, exit 1.
        var unsigned = await cli.TryRunAsync(null, "verify", "signed/app:v1", "--key", key + ".pub");
        Assert.True(unsigned.ExitCode == 1, unsigned.Describe());

        await cli.RunAsync(Passphrase + "\n", "sign", "signed/app:v1", "--key", key + ".key");
        await cli.RunAsync(null, "verify", "signed/app:v1", "--key", key + ".pub");

        await Skopeo.PullAsync(reference, work.Sub("pulled"), "v1", all: false);
        Assert.Equal(image.Root.Digest, OciLayout.FindTag(work.Sub("pulled"), "v1").Digest);
        var id = await podman.PullAsync(reference);
        Assert.Equal(image.Images.Single().Config.Digest, "sha256:" + id);

        await cli.RunAsync(null, "trust", "remove", "ci", "--project", "signed");
        await AssertRefusedAsync(reference, work.Sub("refused-2"), $"signed/app@{image.Root.Digest}: no valid signature:");
        var again = await podman.TryRunAsync("pull", "--quiet", "--tls-verify=false", reference);
        Assert.True(again.ExitCode != 0, again.Describe());
        Assert.Contains("allows only signed images", again.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SkopeoCopyAll_IndexSignedAsReferrer_EveryPlatformPasses()
    {
        using var work = new TempDirectory("signed-index");
        var index = OciLayoutBuilder.MultiPlatformIndex(work.Sub("source"), "v1", 32 * 1024, seed: 1502);
        using var cli = new BerthCli();
        await cli.LoginAsync(_server, BerthProcess.AdminUser, BerthProcess.AdminPassword);
        await cli.RunAsync(null, "project", "create", "signedidx");
        var reference = $"{_server.Host}/signedidx/multi:v1";
        await Skopeo.PushAsync(index, reference);

        var key = Path.Combine(work.Path, "release");
        await cli.RunAsync(Passphrase + "\n", "key", "generate", key);
        await cli.RunAsync(null, "trust", "add", "release", "--key", key + ".pub", "--project", "signedidx");
        await cli.RunAsync(null, "project", "update", "signedidx", "--signed-only", "true");

        var refused = await ProcessRunner.RunAsync(ExternalTools.Skopeo,
            ["--insecure-policy", "copy", "--all", "--quiet", "--src-tls-verify=false", $"docker://{reference}", $"oci:{work.Sub("refused")}:v1"],
            environment: RegistryAuth.Environment);
        Assert.True(refused.ExitCode != 0, refused.Describe());
        Assert.Contains("allows only signed images", refused.StandardError, StringComparison.Ordinal);

        await cli.RunAsync(Passphrase + "\n", "sign", "signedidx/multi:v1", "--key", key + ".key", "--referrer");
        await Skopeo.PullAsync(reference, work.Sub("pulled"), "v1", all: true);
        Assert.Equal(index.Root.Digest, OciLayout.FindTag(work.Sub("pulled"), "v1").Digest);
        foreach (var platform in index.Images)
        {
            var raw = await Skopeo.InspectRawAsync($"{_server.Host}/signedidx/multi@{platform.Manifest.Digest}");
            Assert.NotEmpty(raw);
        }
    }

    private static async Task AssertRefusedAsync(string reference, string layout, string expected)
    {
        var skopeo = await ProcessRunner.RunAsync(ExternalTools.Skopeo,
            ["--insecure-policy", "copy", "--quiet", "--src-tls-verify=false", $"docker://{reference}", $"oci:{layout}:v1"],
            environment: RegistryAuth.Environment);
        Assert.True(skopeo.ExitCode != 0, skopeo.Describe());
        Assert.Contains(expected, skopeo.StandardError, StringComparison.Ordinal);
    }
}
