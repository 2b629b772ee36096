using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;
using Berth.Testing;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// Issue 17 with the real server and skopeo, the data folder on a 48 MiB tmpfs the test mounts: skopeo pushes until the
/// reserve refuses one, and prints that the registry's storage is full; no request was a 500; the refused push left no
/// bytes in uploads/; what was pushed before pulls byte-identical; while another program keeps the disk below the
/// reserve, pushes are refused, a delete works and /readyz stays 200 saying so; once space is freed pushes work again;
/// and SIGTERM with a pull time still to write on a full disk ends in a clean exit (it ended in SIGABRT).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class DiskFullTests
{
    private const int MiB = 1 << 20;

    [GeneratedRegex(@"RequestLoggingMiddleware\[2001\] (\S+ \S+) 5\d\d ")]
    private static partial Regex ServerErrorLine();

    private static async Task<ProcessResult> SkopeoPushAsync(TestImage image, string destination) =>
        await ProcessRunner.RunAsync(ExternalTools.Skopeo,
            ["--insecure-policy", "copy", "--quiet", "--preserve-digests", "--retry-times", "0", "--dest-tls-verify=false", image.OciReference, $"docker://{destination}"],
            environment: RegistryAuth.Environment);

    private static void Ok(ProcessResult result) => Assert.True(result.ExitCode == 0, result.Describe());

    private static long UploadBytes(BerthProcess server) =>
        new DirectoryInfo(Path.Combine(server.DataPath, "uploads")).EnumerateFiles().Sum(f => f.Length);

    private static void NoServerErrors(BerthProcess server)
    {
        var all = ServerErrorLine().Matches(server.Log).Select(m => m.Value).ToList();
        var errors = all.Where(e => !e.EndsWith(" 507 ", StringComparison.Ordinal)).ToList();
        Assert.True(all.Count > errors.Count, "no 507 answer in the server's log");
        Assert.True(errors.Count == 0, "5xx answers other than 507:\n" + string.Join('\n', errors));
    }

    [Fact]
    public async Task SkopeoPush_FillsTheDisk_RefusedAsStorageFullThenRecovers()
    {
        using var disk = SmallFileSystem.Mount(48);
        using var work = new TempDirectory("disk-full");
        await using var server = await BerthProcess.StartInFolderAsync(Path.Combine(disk.Path, "data"), "--storage-reserve", "8M");
        using var http = new RegistryHttp(server.BaseAddress);

        var before = OciLayoutBuilder.RandomImage(work.Sub("before"), "v1", layers: 2, bytesPerLayer: 2 * MiB, seed: 1701);
        Ok(await SkopeoPushAsync(before, $"{server.Host}/full/app:before"));

        ProcessResult? refused = null;
        for (var i = 0; i < 10 && refused is null; i++)
        {
            var image = OciLayoutBuilder.RandomImage(work.Sub($"fill-{i}"), "v1", layers: 2, bytesPerLayer: 5 * MiB, seed: 1710 + (ulong)i);
            var push = await SkopeoPushAsync(image, $"{server.Host}/full/app:fill-{i}");
            if (push.ExitCode != 0)
            {
                refused = push;
            }
        }

        Assert.NotNull(refused);
        // skopeo prints the status of a refused upload, not its body (asserted below).
        Assert.True(refused.StandardError.Contains("507 Insufficient Storage", StringComparison.Ordinal), refused.Describe());
        Assert.Equal(0, UploadBytes(server));

        var pulled = work.Sub("pulled");
        Ok(await ProcessRunner.RunAsync(ExternalTools.Skopeo, ["--insecure-policy", "copy", "--quiet", "--preserve-digests", "--src-tls-verify=false",
            $"docker://{server.Host}/full/app:before", $"oci:{pulled}:before"], environment: RegistryAuth.Environment));
        ImageAssert.PulledIdentical(before, pulled, "before");

        // Another program takes the disk below the reserve.
        disk.Fill("filler", leaveFree: 4 * MiB);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var small = OciLayoutBuilder.RandomImage(work.Sub("small"), "v1", layers: 1, bytesPerLayer: 64 * 1024, seed: 1790);
        var refusedSmall = await SkopeoPushAsync(small, $"{server.Host}/full/app:small");
        Assert.NotEqual(0, refusedSmall.ExitCode);
        Assert.True(refusedSmall.StandardError.Contains("507 Insufficient Storage", StringComparison.Ordinal), refusedSmall.Describe());

        // skopeo shows the status only; the body says why, in the words docker prints after "denied:".
        using (var start = await http.Client.PostAsync("/v2/full/app/blobs/uploads/", null))
        {
            Assert.Equal(HttpStatusCode.InsufficientStorage, start.StatusCode);
            using var json = JsonDocument.Parse(await start.Content.ReadAsStringAsync());
            var error = json.RootElement.GetProperty("errors")[0];
            Assert.Equal("DENIED", error.GetProperty("code").GetString());
            Assert.Contains("storage is full", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(0, UploadBytes(server));

        using (var ready = await http.Client.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            using var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
            Assert.True(json.RootElement.GetProperty("storage").GetProperty("reserveReached").GetBoolean());
        }

        using (var figure = await http.Client.GetAsync("/api/v1/system/storage"))
        {
            using var json = JsonDocument.Parse(await figure.Content.ReadAsStringAsync());
            Assert.Equal("refused", json.RootElement.GetProperty("uploads").GetString());
        }

        Assert.Contains("Storage reserve reached", server.Log, StringComparison.Ordinal);

        using (var delete = await http.Client.DeleteAsync("/v2/full/app/manifests/fill-0"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }

        // Space freed: the same push goes through.
        disk.Remove("filler");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Ok(await SkopeoPushAsync(small, $"{server.Host}/full/app:small"));
        NoServerErrors(server);
    }

    [Fact]
    public async Task Sigterm_DiskFullWithAPullToRecord_ExitsCleanly()
    {
        using var disk = SmallFileSystem.Mount(48);
        using var work = new TempDirectory("disk-full-stop");
        await using var server = await BerthProcess.StartInFolderAsync(Path.Combine(disk.Path, "data"), "--storage-reserve", "0");
        using var http = new RegistryHttp(server.BaseAddress);
        var image = OciLayoutBuilder.RandomImage(work.Sub("image"), "v1", layers: 1, bytesPerLayer: 256 * 1024, seed: 1801);
        Ok(await SkopeoPushAsync(image, $"{server.Host}/stop/app:v1"));

        // The disk entirely full, then a pull: its time waits in memory for the next flush, which cannot commit.
        disk.Fill("filler", leaveFree: 1);
        using (var pull = await http.Client.GetAsync("/v2/stop/app/manifests/v1"))
        {
            Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        }

        using (var delete = await http.Client.DeleteAsync("/v2/stop/app/manifests/v1"))
        {
            Assert.NotEqual(HttpStatusCode.InternalServerError, delete.StatusCode); // 507 when the database cannot commit
        }

        var exit = await server.TerminateAsync(TimeSpan.FromSeconds(30));
        Assert.True(exit == 0, $"exit code {exit} after SIGTERM\n{server.LogTail()}");
        Assert.DoesNotContain("Unhandled exception", server.Log, StringComparison.Ordinal);
    }
}
