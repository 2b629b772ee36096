namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>A command-line tool the end-to-end tests need is not installed. Tests fail with this; they never skip.</summary>
public sealed class ToolMissingException(string message) : Exception(message);

/// <summary>
/// Finds the real clients the tests drive. A missing tool is a test failure with an install hint, never a silent skip:
/// CI installs them (<see cref="AptPackages"/>), and a green run without them would prove nothing.
/// </summary>
public static class ExternalTools
{
    /// <summary>The Debian packages that provide every tool below.</summary>
    public const string AptPackages = "skopeo podman umoci debootstrap docker.io";

    /// <summary>Every tool; <c>docker</c> and <c>dockerd</c> come from Debian's docker.io (any newer docker CLI on PATH also works).</summary>
    public static readonly IReadOnlyList<string> All = ["skopeo", "podman", "umoci", "debootstrap", "docker", "dockerd"];

    private static readonly string[] SystemDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    public static string Skopeo => Require("skopeo");

    public static string Podman => Require("podman");

    public static string Umoci => Require("umoci");

    public static string Debootstrap => Require("debootstrap");

    public static string Docker => Require("docker");

    public static string Dockerd => Require("dockerd");

    /// <summary>The full path of <paramref name="name"/>, or a <see cref="ToolMissingException"/> that says how to install it.</summary>
    public static string Require(string name) =>
        Find(name) ?? throw new ToolMissingException(
            $"The end-to-end tests need '{name}', which is not installed (not on PATH nor in {string.Join(", ", SystemDirectories)}). " +
            $"Install the tools with: apt-get install -y {AptPackages}");

    /// <summary>The full path of <paramref name="name"/> on PATH or in the usual system folders (debootstrap lives in /usr/sbin), or null.</summary>
    public static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Concat(SystemDirectories))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
