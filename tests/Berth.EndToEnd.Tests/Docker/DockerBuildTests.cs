using System.Globalization;
using System.Text.RegularExpressions;

namespace Berth.EndToEnd.Tests.Docker;

/// <summary>
/// The lab's build (issue 16, item 1): base images made here with <c>docker import</c>, the application built with
/// <c>docker build</c> from a single-stage Dockerfile and from the lab's multi-stage one, and <c>docker images</c>
/// showing that the multi-stage image is the smaller one.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed partial class DockerBuildTests(DockerLabFixture lab)
{
    [Fact]
    public async Task DockerImport_DebootstrapRootFilesystem_BaseImagesRunPython()
    {
        using var docker = new DockerClient(lab.Laptop);

        var listed = Sizes((await docker.CheckedAsync("images", "lab/python")).StandardOutputText);
        var full = await docker.RunAsync("run", "--rm", "--network", "none", LabImages.Python, "python3", "-c", "import sys; print(sys.version_info[:2])");
        var slim = await docker.RunAsync("run", "--rm", "--network", "none", LabImages.PythonSlim, "sh", "-c", "python3 --version; ls /usr/share/doc 2>&1 | head -1");

        Assert.Equal(new[] { LabImages.Python, LabImages.PythonSlim }.Order(), listed.Keys.Order());
        Assert.True(listed[LabImages.PythonSlim] < listed[LabImages.Python], $"the slim base is not smaller: {string.Join(", ", listed)}");
        Assert.True(full.ExitCode == 0, full.Describe());
        Assert.Equal("(3, 11)", full.StandardOutputText.Trim());
        Assert.True(slim.ExitCode == 0, slim.Describe());
        Assert.StartsWith("Python 3.11.", slim.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains("No such file or directory", slim.StandardOutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DockerBuild_SingleAndMultiStageDockerfiles_DockerImagesShowsTheMultiStageImageSmaller()
    {
        var build = await lab.BuildAsync();
        using var docker = new DockerClient(lab.Laptop);

        var listed = Sizes((await docker.CheckedAsync("images", "api")).StandardOutputText);
        var multiBytes = long.Parse(await docker.InspectAsync(LabImages.App, "{{.Size}}"), CultureInfo.InvariantCulture);
        var singleBytes = long.Parse(await docker.InspectAsync(LabImages.AppSingleStage, "{{.Size}}"), CultureInfo.InvariantCulture);

        // The classic builder's own words: both stages ran, the tests ran in the build stage.
        Assert.Contains("Step 1/9 : FROM lab/python:3.11 AS build", build.MultiStage.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains("COPY --from=build /out/api.pyz /app/api.pyz", build.MultiStage.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains("Ran 1 test", build.MultiStage.StandardOutputText + build.MultiStage.StandardError, StringComparison.Ordinal);
        Assert.Contains("Successfully tagged " + LabImages.App, build.MultiStage.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains("Successfully tagged " + LabImages.AppSingleStage, build.SingleStage.StandardOutputText, StringComparison.Ordinal);

        // docker images: both, the multi-stage one smaller by the slim base's savings (about 60 MB of 160).
        Assert.Equal(new[] { LabImages.App, LabImages.AppSingleStage }.Order(), listed.Keys.Order());
        Assert.True(listed[LabImages.App] < listed[LabImages.AppSingleStage], $"docker images: {string.Join(", ", listed)}");
        Assert.True(singleBytes - multiBytes > 40_000_000, $"multi-stage {multiBytes} B, single-stage {singleBytes} B");
    }

    [Fact]
    public async Task DockerRun_MultiStageImage_RunsAsNonRootUserWithoutTheBuildStagesSources()
    {
        await lab.BuildAsync();
        using var docker = new DockerClient(lab.Laptop);

        var multi = await docker.CheckedAsync("run", "--rm", "--network", "none", LabImages.App);
        var single = await docker.CheckedAsync("run", "--rm", "--network", "none", LabImages.AppSingleStage);
        var multiFiles = await docker.CheckedAsync("run", "--rm", "--network", "none", LabImages.App, "python3", "-c",
            "import os; print(os.path.exists('/src'), os.path.exists('/app/api.pyz'))");
        var history = (await docker.CheckedAsync("history", "--no-trunc", LabImages.App)).StandardOutputText;

        Assert.StartsWith(LabImages.AppOutputAsApp, multi.StandardOutputText, StringComparison.Ordinal);
        Assert.StartsWith(LabImages.AppOutputAsRoot, single.StandardOutputText, StringComparison.Ordinal);
        Assert.Equal("False True", multiFiles.StandardOutputText.Trim());
        Assert.Equal("app", await docker.InspectAsync(LabImages.App, "{{.Config.User}}"));
        Assert.Equal(string.Empty, await docker.InspectAsync(LabImages.AppSingleStage, "{{.Config.User}}"));
        Assert.Contains("USER app", history, StringComparison.Ordinal);
        Assert.Contains("useradd --system --uid 10001", history, StringComparison.Ordinal);
        Assert.Matches(@"COPY file:[0-9a-f]+ in /app/api\.pyz", history);
        Assert.DoesNotContain("unittest", history, StringComparison.Ordinal); // the build stage's steps stay out of the image
    }

    /// <summary>
    /// <c>docker images</c>' table (REPOSITORY TAG IMAGE ID CREATED SIZE) into REPO:TAG and the size in bytes (docker
    /// prints 98.9MB, 161MB: powers of 1000).
    /// </summary>
    internal static Dictionary<string, double> Sizes(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length > 0 && lines[0].StartsWith("REPOSITORY", StringComparison.Ordinal), $"no docker images table:\n{output}");
        var sizes = new Dictionary<string, double>();
        foreach (var line in lines[1..])
        {
            var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var match = Size().Match(columns[^1]);
            Assert.True(columns.Length >= 5 && match.Success, $"unexpected docker images line '{line}' in:\n{output}");
            var factor = match.Groups["unit"].Value switch
            {
                "B" => 1d,
                "kB" => 1e3,
                "MB" => 1e6,
                "GB" => 1e9,
                var unit => throw new FormatException($"unknown size unit {unit} in '{line}'"),
            };
            sizes[$"{columns[0]}:{columns[1]}"] = double.Parse(match.Groups["number"].Value, CultureInfo.InvariantCulture) * factor;
        }

        return sizes;
    }

    [GeneratedRegex(@"^(?<number>[0-9.]+)(?<unit>[kMG]?B)$")]
    private static partial Regex Size();
}
