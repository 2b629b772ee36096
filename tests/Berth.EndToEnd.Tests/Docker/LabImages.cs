using System.Diagnostics;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests.Docker;

/// <summary>
/// The lab's images, made here rather than pulled from Docker Hub (the tests have no Internet registry): two base
/// images brought in with <c>docker import</c> from the run's Debian root filesystem with python3
/// (<see cref="DebianImageBuilder.SharedRootFilesystemAsync"/>), a full one and a slim one without docs, man
/// pages, locales, perl and apt's state, as <c>python:3.11</c> and <c>python:3.11-slim</c> are; then the application
/// in <c>Docker/Lab/api</c> built with <c>docker build</c> from its multi-stage Dockerfile (the lab's) and from a
/// single-stage one.
/// </summary>
public static class LabImages
{
    public const string Python = "lab/python:3.11";
    public const string PythonSlim = "lab/python:3.11-slim";

    /// <summary>The lab's image, from the multi-stage Dockerfile (<c>docker build -t api .</c>).</summary>
    public const string App = "api:latest";

    /// <summary>The same application from Dockerfile.single.</summary>
    public const string AppSingleStage = "api:single";

    /// <summary>What the application prints, up to the Python version.</summary>
    public const string AppOutputAsApp = "shop/api 1.0 running as app (uid 10001) on Python 3.11";

    public const string AppOutputAsRoot = "shop/api 1.0 running as root (uid 0) on Python 3.11";

    /// <summary>The build context: the application, its tests and both Dockerfiles (copied next to the test assembly).</summary>
    public static string BuildContext => Path.Combine(AppContext.BaseDirectory, "Docker", "Lab", "api");

    private static readonly string[] BaseChanges =
    [
        "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change", "ENV LANG=C.UTF-8",
        "--change", "CMD [\"python3\"]",
    ];

    /// <summary>What the slim base leaves out: nothing the application needs to run.</summary>
    private static readonly string[] SlimExcludes =
    [
        "./usr/share/doc", "./usr/share/man", "./usr/share/info", "./usr/share/locale", "./usr/share/lintian",
        "./usr/share/perl5", "./usr/lib/*/perl-base", "./usr/bin/perl*", "./usr/lib/*/gconv", "./usr/lib/python3.11/test",
        "./var/lib/apt", "./var/cache/apt", "./var/cache/debconf",
    ];

    /// <summary>Imports <see cref="Python"/> and <see cref="PythonSlim"/> from the run's Debian root filesystem into the client's engine.</summary>
    public static async Task ImportBasesAsync(DockerClient docker, TempDirectory work, Action<string>? log = null)
    {
        var tar = ExternalTools.Require("tar");
        var full = work.Sub("python.tar");
        var slim = work.Sub("python-slim.tar");
        await DebianImageBuilder.ReadRootFilesystemAsync(async rootfs =>
        {
            await ProcessRunner.RunCheckedAsync(tar, ["--numeric-owner", "-C", rootfs, "-cf", full, "."]);
            return await ProcessRunner.RunCheckedAsync(tar, ["--numeric-owner", .. SlimExcludes.Select(e => "--exclude=" + e), "-C", rootfs, "-cf", slim, "."]);
        }, log);
        await docker.CheckedAsync(["import", .. BaseChanges, "--message", "debootstrap --variant=minbase --include=python3 bookworm", full, Python]);
        await docker.CheckedAsync(["import", .. BaseChanges, "--message", "the same, without docs, man pages, locales, perl and apt state", slim, PythonSlim]);
        File.Delete(full);
        File.Delete(slim);
    }

    /// <summary>
    /// <c>docker build -t api .</c> and <c>docker build -f Dockerfile.single -t api:single .</c>, with the classic builder
    /// (the RUN steps need no network: they run the tests and pack the application).
    /// </summary>
    public static async Task<LabBuild> BuildAsync(DockerClient docker)
    {
        var stopwatch = Stopwatch.StartNew();
        var multi = await docker.RunAsync(["build", "-t", "api", "."], null, TimeSpan.FromMinutes(10), BuildContext);
        Assert.True(multi.ExitCode == 0, $"docker build of the multi-stage Dockerfile failed\n{multi.Describe()}\ndockerd log:\n{docker.Engine.LogTail(15)}");
        var multiTime = stopwatch.Elapsed;
        stopwatch.Restart();
        var single = await docker.RunAsync(["build", "-f", "Dockerfile.single", "-t", AppSingleStage, "."], null, TimeSpan.FromMinutes(10), BuildContext);
        Assert.True(single.ExitCode == 0, $"docker build of Dockerfile.single failed\n{single.Describe()}\ndockerd log:\n{docker.Engine.LogTail(15)}");
        return new LabBuild(multi, single, multiTime, stopwatch.Elapsed);
    }
}

/// <summary>The output of both builds and how long each took.</summary>
public sealed record LabBuild(ProcessResult MultiStage, ProcessResult SingleStage, TimeSpan MultiStageTime, TimeSpan SingleStageTime);
