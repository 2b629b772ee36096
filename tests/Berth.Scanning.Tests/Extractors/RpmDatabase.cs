using System.Diagnostics;

namespace Berth.Scanning.Tests.Extractors;

/// <summary>Makes a real rpmdb.sqlite with Debian's rpm and rpmbuild: two packages (one a subpackage, so its source differs).</summary>
internal static class RpmDatabase
{
    private const string Spec = """
        Name: berth-test
        Version: 1.2.3
        Release: 4.el9
        Epoch: 2
        Summary: test package
        License: MIT and BSD
        BuildArch: noarch
        %description
        A package for Berth's tests.
        %package -n libberth
        Summary: a subpackage
        License: Apache-2.0
        %description -n libberth
        A subpackage for Berth's tests.
        %files
        %files -n libberth
        """;

    /// <summary>The database's bytes, or null when rpm or rpmbuild is not installed.</summary>
    public static byte[]? Build()
    {
        if (!OnPath("rpm") || !OnPath("rpmbuild"))
        {
            return null;
        }

        var root = Directory.CreateTempSubdirectory("berth-rpm-test-").FullName;
        try
        {
            var top = Path.Combine(root, "top");
            var database = Path.Combine(root, "db");
            Directory.CreateDirectory(Path.Combine(top, "SPECS"));
            Directory.CreateDirectory(database);
            var spec = Path.Combine(top, "SPECS", "t.spec");
            File.WriteAllText(spec, Spec);
            Run("rpmbuild", "-bb", "--define", $"_topdir {top}", spec);
            Run("rpm", "--initdb", "--dbpath", database);
            var rpms = Directory.GetFiles(Path.Combine(top, "RPMS"), "*.rpm", SearchOption.AllDirectories);
            Assert.Equal(2, rpms.Length);
            Run(["rpm", "-i", "--justdb", "--nodeps", "--noscripts", "--ignorearch", "--dbpath", database, .. rpms]);
            return File.ReadAllBytes(Path.Combine(database, "rpmdb.sqlite"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    private static void Run(params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in command[1..])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', command)} failed ({process.ExitCode}): {error} {output.Result}");
    }
}
