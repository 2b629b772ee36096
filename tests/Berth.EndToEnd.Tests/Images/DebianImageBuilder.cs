using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests.Images;

/// <summary>
/// A real Debian root-filesystem image: <c>debootstrap --variant=minbase --include=python3</c> into a folder (once per
/// test run, shared with the Docker lab's base image: <see cref="SharedRootFilesystemAsync"/>), then
/// <c>umoci init/new/config/insert</c> packs it into one gzip layer of an OCI layout. Needs root, debootstrap, umoci and
/// the Debian mirror from the apt sources. Downloaded .debs are kept in <see cref="CacheDirectory"/>, so only the first
/// run on a machine downloads (about 45 MB).
/// </summary>
public static partial class DebianImageBuilder
{
    public const string Suite = "bookworm";

    /// <summary>Packages debootstrap adds to minbase: the Docker lab's application runs on python3.</summary>
    public const string Include = "python3";

    private static readonly object SharedLock = new();
    private static readonly SemaphoreSlim ReadLock = new(1, 1);
    private static Task<string>? _shared;

    /// <summary>Environment variable that overrides the mirror read from the apt sources.</summary>
    public const string MirrorVariable = "BERTH_E2E_DEBIAN_MIRROR";

    /// <summary>Environment variable that overrides <see cref="CacheDirectory"/>.</summary>
    public const string CacheVariable = "BERTH_E2E_CACHE";

    /// <summary><c>$BERTH_E2E_CACHE/debs</c>, else <c>${XDG_CACHE_HOME:-~/.cache}/berth-e2e/debs</c>.</summary>
    public static string CacheDirectory
    {
        get
        {
            var root = Environment.GetEnvironmentVariable(CacheVariable);
            if (string.IsNullOrEmpty(root))
            {
                var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
                var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                root = Path.Combine(!string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(string.IsNullOrEmpty(home) ? Path.GetTempPath() : home, ".cache"), "berth-e2e");
            }

            return Path.Combine(root, "debs");
        }
    }

    /// <summary>
    /// The Debian root filesystem of this test run (debootstrap, then <see cref="Trim"/>), made on the first call; later
    /// calls, also concurrent ones, get the same folder, or the same failure. Callers only read it. It is removed with
    /// the run's temporary folders when the test process exits.
    /// </summary>
    public static Task<string> SharedRootFilesystemAsync(Action<string>? log = null)
    {
        lock (SharedLock)
        {
            return _shared ??= Task.Run(() => DebootstrapAsync(new TempDirectory("debian-rootfs").Sub("rootfs"), log));
        }
    }

    /// <summary>
    /// Runs <paramref name="read"/> on <see cref="SharedRootFilesystemAsync"/>, one reader at a time: <c>umoci insert</c>
    /// touches the directories it packs, and a <c>tar</c> of the same folder at that moment fails with "file changed as
    /// we read it".
    /// </summary>
    public static async Task<T> ReadRootFilesystemAsync<T>(Func<string, Task<T>> read, Action<string>? log = null)
    {
        var rootfs = await SharedRootFilesystemAsync(log);
        await ReadLock.WaitAsync();
        try
        {
            return await read(rootfs);
        }
        finally
        {
            ReadLock.Release();
        }
    }

    /// <summary>Builds the image into <paramref name="layout"/> (which must not exist yet) with tag <paramref name="tag"/> from <see cref="SharedRootFilesystemAsync"/>.</summary>
    public static Task<TestImage> BuildAsync(string layout, string tag, Action<string>? log = null) =>
        ReadRootFilesystemAsync(rootfs => PackAsync(rootfs, layout, tag, log), log);

    private static async Task<TestImage> PackAsync(string rootfs, string layout, string tag, Action<string>? log)
    {
        var umoci = ExternalTools.Umoci;
        var arch = DebianArchitecture();

        // umoci wants a fixed layout path and image reference; history entries mimic a Dockerfile-built base image.
        const string created = "2025-01-01T00:00:00Z";
        var image = $"{layout}:{tag}";
        var stopwatch = Stopwatch.StartNew();
        await ProcessRunner.RunCheckedAsync(umoci, ["init", "--layout", layout]);
        await ProcessRunner.RunCheckedAsync(umoci, ["new", "--image", image]);
        await ProcessRunner.RunCheckedAsync(umoci, ["config", "--image", image, "--no-history", "--architecture", arch, "--os", "linux",
            "--created", created, "--author", "berth e2e"]);
        await ProcessRunner.RunCheckedAsync(umoci, ["insert", "--image", image,
            "--history.created", created, "--history.author", "berth e2e",
            "--history.created_by", $"debootstrap --variant=minbase --include={Include} --arch={arch} {Suite} / MIRROR",
            "--history.comment", $"Debian {Suite} root filesystem",
            rootfs, "/"], timeout: TimeSpan.FromMinutes(10));
        await ProcessRunner.RunCheckedAsync(umoci, ["config", "--image", image,
            "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--config.env", "LANG=C.UTF-8",
            "--config.label", $"org.opencontainers.image.base.name=debian:{Suite}",
            "--config.workingdir", "/",
            "--config.cmd", "bash",
            "--history.created", created, "--history.author", "berth e2e", "--history.created_by", "CMD [\"bash\"]"]);
        await ProcessRunner.RunCheckedAsync(umoci, ["gc", "--layout", layout]);
        log?.Invoke($"umoci packed the root filesystem in {stopwatch.Elapsed.TotalSeconds:F0} s");
        return OciLayout.Open(layout, tag);
    }

    private static async Task<string> DebootstrapAsync(string rootfs, Action<string>? log)
    {
        var debootstrap = ExternalTools.Debootstrap;
        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException("The Debian image is built with debootstrap, which needs root; run the end-to-end tests as root (CI does).");
        }

        var mirror = Environment.GetEnvironmentVariable(MirrorVariable);
        if (string.IsNullOrEmpty(mirror))
        {
            mirror = DetectMirror(Suite) ?? throw new InvalidOperationException(
                $"No Debian mirror for '{Suite}' in /etc/apt/sources.list or /etc/apt/sources.list.d/*; set {MirrorVariable} to a mirror URL.");
        }

        var arch = DebianArchitecture();
        var cache = CacheDirectory;
        Directory.CreateDirectory(cache);
        var stopwatch = Stopwatch.StartNew();
        log?.Invoke($"debootstrap --variant=minbase --include={Include} --arch={arch} {Suite} from {mirror} (cache {cache})");
        await ProcessRunner.RunCheckedAsync(debootstrap,
            ["--variant=minbase", $"--include={Include}", $"--arch={arch}", $"--cache-dir={cache}", Suite, rootfs, mirror],
            timeout: TimeSpan.FromMinutes(20));
        log?.Invoke($"debootstrap done in {stopwatch.Elapsed.TotalSeconds:F0} s");

        Trim(rootfs);
        return rootfs;
    }

    /// <summary>
    /// The first non-security mirror that serves <paramref name="suite"/>: one-line <c>deb URI SUITE ...</c> entries of
    /// /etc/apt/sources.list and sources.list.d/*.list, then deb822 stanzas of sources.list.d/*.sources.
    /// </summary>
    public static string? DetectMirror(string suite, string aptDirectory = "/etc/apt")
    {
        var lists = new List<string>();
        if (File.Exists(Path.Combine(aptDirectory, "sources.list")))
        {
            lists.Add(Path.Combine(aptDirectory, "sources.list"));
        }

        var parts = Path.Combine(aptDirectory, "sources.list.d");
        if (Directory.Exists(parts))
        {
            lists.AddRange(Directory.GetFiles(parts, "*.list").Order(StringComparer.Ordinal));
        }

        foreach (var file in lists)
        {
            foreach (var line in File.ReadLines(file))
            {
                var match = OneLineSource().Match(line);
                if (match.Success && match.Groups["suite"].Value == suite && !match.Groups["uri"].Value.Contains("security", StringComparison.Ordinal))
                {
                    return match.Groups["uri"].Value;
                }
            }
        }

        if (!Directory.Exists(parts))
        {
            return null;
        }

        foreach (var file in Directory.GetFiles(parts, "*.sources").Order(StringComparer.Ordinal))
        {
            foreach (var stanza in File.ReadAllText(file).Split(["\n\n", "\r\n\r\n"], StringSplitOptions.RemoveEmptyEntries))
            {
                var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var raw in stanza.Split('\n'))
                {
                    var line = raw.Trim();
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    if (line.StartsWith('#') || colon <= 0)
                    {
                        continue;
                    }

                    fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }

                var types = fields.GetValueOrDefault("Types", "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var suites = fields.GetValueOrDefault("Suites", "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var uris = fields.GetValueOrDefault("URIs", "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var enabled = !fields.TryGetValue("Enabled", out var e) || !e.Equals("no", StringComparison.OrdinalIgnoreCase);
                if (enabled && types.Contains("deb") && suites.Contains(suite) && uris.Length > 0 && !uris[0].Contains("security", StringComparison.Ordinal))
                {
                    return uris[0];
                }
            }
        }

        return null;
    }

    private static string DebianArchitecture() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "armhf",
        Architecture.X86 => "i386",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64el",
        var other => throw new PlatformNotSupportedException($"no Debian architecture for {other}"),
    };

    /// <summary>Drops what does not belong in an image: downloaded packages, apt lists, logs, temp files, device nodes.</summary>
    private static void Trim(string rootfs)
    {
        foreach (var (folder, pattern) in new[]
                 {
                     ("var/cache/apt/archives", "*.deb"), ("var/cache/apt", "*.bin"), ("var/lib/apt/lists", "*"), ("var/log", "*.log"),
                     ("var/log/apt", "*"), ("tmp", "*"), ("var/tmp", "*"), ("run", "*"), ("dev", "*"), ("proc", "*"), ("sys", "*"),
                 })
        {
            var directory = Path.Combine(rootfs, folder);
            if (!Directory.Exists(directory))
            {
                continue;
            }

            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos(pattern))
            {
                if (entry is DirectoryInfo { LinkTarget: null } sub)
                {
                    sub.Delete(recursive: true);
                }
                else
                {
                    entry.Delete();
                }
            }
        }

        File.WriteAllText(Path.Combine(rootfs, "etc", "machine-id"), string.Empty);
    }

    [GeneratedRegex(@"^deb\s+(\[[^\]]*\]\s+)?(?<uri>\S+)\s+(?<suite>\S+)")]
    private static partial Regex OneLineSource();
}
