using System.Net;
using System.Text;
using System.Text.Json;
using Berth.EndToEnd.Tests.Docker;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// The vulnerability pull policy seen by real clients: an advisory imported with <c>berth vulndb import</c>, a small
/// Debian 12 image (os-release and a dpkg status naming zlib1g 1:1.2.13.dfsg-1) pushed with skopeo and scanned on push;
/// with <c>--block-severity CRITICAL</c> skopeo and podman pulls fail printing the registry's reason (CVE-2023-45853,
/// CVSS 9.8, unfixed in bookworm), and <c>berth cve-allow add</c> lifts it.
/// </summary>
public sealed class PullPolicyTests : IClassFixture<AccessServerFixture>
{
    private const string Vulnerability = "CVE-2023-45853";
    private readonly BerthProcess _server;

    public PullPolicyTests(AccessServerFixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task SkopeoAndPodmanPulls_CriticalFinding_RefusedWithTheReason_CveAllowLiftsIt()
    {
        using var work = new TempDirectory("pull-policy");
        var image = DebianZlibImage(work.Sub("source"));
        var advisories = work.Sub("advisories");
        Directory.CreateDirectory(advisories);
        File.Copy(TestData("vulndb/debian/osv/CVE/2023/CVE-2023-45853.json"), Path.Combine(advisories, "CVE-2023-45853.json"));

        using var cli = new BerthCli();
        await cli.LoginAsync(_server, BerthProcess.AdminUser, BerthProcess.AdminPassword);
        await cli.RunAsync(null, "vulndb", "import", advisories);
        await cli.RunAsync(null, "project", "create", "gate");
        await cli.RunAsync(null, "project", "update", "gate", "--block-severity", "CRITICAL");

        var reference = $"{_server.Host}/gate/app:v1";
        await Skopeo.PushAsync(image, reference);
        await _server.WaitForScanAsync("gate/app", "v1", TimeSpan.FromMinutes(2));
        await ServerSetup.WaitForServerCachesAsync();

        var expected = $"gate/app@{image.Root.Digest}: 1 vulnerability at or above CRITICAL ({Vulnerability} CRITICAL) is blocked by project gate's pull policy";
        var skopeo = await ProcessRunner.RunAsync(ExternalTools.Skopeo,
            ["--insecure-policy", "copy", "--quiet", "--src-tls-verify=false", $"docker://{reference}", $"oci:{work.Sub("refused")}:v1"],
            environment: RegistryAuth.Environment);
        Assert.True(skopeo.ExitCode != 0, skopeo.Describe());
        Assert.Contains(expected, skopeo.StandardError, StringComparison.Ordinal);

        using var podman = new PodmanStore();
        var refused = await podman.TryRunAsync("pull", "--quiet", "--tls-verify=false", reference);
        Assert.True(refused.ExitCode != 0, refused.Describe());
        Assert.Contains(expected, refused.StandardError, StringComparison.Ordinal);

        await cli.RunAsync(null, "cve-allow", "add", Vulnerability, "--project", "gate", "--reason", "zlib's minizip is not shipped in this image");
        await ServerSetup.WaitForServerCachesAsync();

        await Skopeo.PullAsync(reference, work.Sub("pulled"), "v1", all: false);
        Assert.Equal(image.Root.Digest, OciLayout.FindTag(work.Sub("pulled"), "v1").Digest);
        var id = await podman.PullAsync(reference);
        Assert.Equal(image.Images.Single().Config.Digest, "sha256:" + id);
    }

    /// <summary>A one-layer linux/amd64 image holding bookworm's os-release and a dpkg status with zlib1g.</summary>
    private static TestImage DebianZlibImage(string layout)
    {
        var status = """
            Package: zlib1g
            Status: install ok installed
            Priority: optional
            Section: libs
            Installed-Size: 168
            Maintainer: Mark Brown <broonie@debian.org>
            Architecture: amd64
            Multi-Arch: same
            Source: zlib
            Version: 1:1.2.13.dfsg-1
            Description: compression library - runtime

            """.ReplaceLineEndings("\n");
        var builder = new OciLayoutBuilder(layout);
        var layer = builder.AddLayer(
        [
            ("etc/", null),
            ("etc/os-release", File.ReadAllBytes(TestData("vulndb/bookworm-os-release"))),
            ("var/", null),
            ("var/lib/", null),
            ("var/lib/dpkg/", null),
            ("var/lib/dpkg/status", Encoding.UTF8.GetBytes(status)),
        ]);
        var built = builder.AddImage(OciPlatform.LinuxAmd64, [layer], "pull policy");
        builder.Tag(built.Manifest, "v1");
        return new TestImage(builder.Layout, "v1", built.Manifest, [built]);
    }

    private static string TestData(string relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "testdata", relative);
            if (File.Exists(candidate) || Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"tests/testdata/{relative} not found above {AppContext.BaseDirectory}");
    }
}
