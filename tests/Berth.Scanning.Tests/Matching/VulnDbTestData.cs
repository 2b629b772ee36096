using System.Diagnostics;

namespace Berth.Scanning.Tests.Matching;

/// <summary>Locates tests/testdata/vulndb (real advisory data, see its SOURCES.md) and runs shell commands for the
/// independent cross-checks.</summary>
internal static class VulnDbTestData
{
    public static string Root { get; } = Find();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "testdata", "vulndb");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/testdata/vulndb not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The installed packages of the real bookworm root file system: (package, version, source, source version).</summary>
    public static IReadOnlyList<(string Package, string Version, string Source, string SourceVersion)> BookwormPackages() =>
        File.ReadLines(PathOf("bookworm-packages.txt"))
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l.Split('\t'))
            .Select(f => (f[0], f[1], f[3], f[4]))
            .ToList();

    /// <summary>Whether <paramref name="program"/> is on PATH.</summary>
    public static bool HasProgram(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Any(d => d.Length > 0 && File.Exists(Path.Combine(d, program)));

    /// <summary>Runs a bash script and returns its standard output; fails the test on a non-zero exit.</summary>
    public static string Bash(string script)
    {
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"bash failed ({p.ExitCode}): {stderr.Result}");
        return stdout;
    }
}
