using System.Diagnostics;
using System.Text;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests.Docker;

/// <summary>
/// A throw-away Docker engine: Debian's <c>dockerd</c> as a child process on a private socket and data folder under
/// /tmp, with no bridge and no iptables (these machines have neither; containers run with <c>--network none</c>, and the
/// daemon itself reaches the registry on 127.0.0.1, which it trusts over plain HTTP). The storage driver is the
/// daemon's own choice: overlay2 where the kernel and the folder allow it, else vfs, which works everywhere but copies
/// the whole root filesystem for every build step (the lab's two builds: 17 s on overlay2, over a minute on vfs, on 2
/// cores); <see cref="StorageDriverVariable"/> forces one. Two engines are two machines: push from one, pull on the other.
/// Starting fails (never skips) with the daemon's log when it cannot run. <see cref="DisposeAsync"/> stops it (SIGTERM,
/// then SIGKILL), ends what it left running (its containerd and shims, found by the state folder in their command
/// line), unmounts what it left mounted and deletes the folder, also after a failed test.
/// </summary>
public sealed class DockerEngine : IAsyncDisposable
{
    /// <summary>Environment variable that forces a storage driver (e.g. vfs) instead of the daemon's choice.</summary>
    public const string StorageDriverVariable = "BERTH_E2E_DOCKER_STORAGE_DRIVER";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    private readonly StringBuilder _log = new();
    private readonly Process _process;
    private int _stopped;

    private DockerEngine(string name, string state, Process process)
    {
        Name = name;
        StateDirectory = state;
        _process = process;
    }

    /// <summary>What the tests call this engine ("a", "b").</summary>
    public string Name { get; }

    /// <summary>The private folder: docker.sock, data root, exec root, pid file, daemon.json.</summary>
    public string StateDirectory { get; }

    /// <summary>The storage driver the daemon runs with (overlay2, vfs, ...).</summary>
    public string StorageDriver { get; private set; } = string.Empty;

    /// <summary>The daemon's version (Debian's docker.io: 20.10).</summary>
    public string Version { get; private set; } = string.Empty;

    /// <summary>The <c>DOCKER_HOST</c> of this engine.</summary>
    public string Host => $"unix://{Path.Combine(StateDirectory, "docker.sock")}";

    /// <summary>The last lines the daemon logged, for failure messages.</summary>
    public string LogTail(int lines = 30)
    {
        string text;
        lock (_log)
        {
            text = _log.ToString();
        }

        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>
    /// Starts <c>dockerd</c> and waits until <c>docker info</c> answers on its socket. Needs root. The storage driver is
    /// <paramref name="storageDriver"/>, else <see cref="StorageDriverVariable"/>, else the daemon's choice. A daemon
    /// that exits or does not answer is an exception carrying its log, after everything it made is removed.
    /// </summary>
    public static async Task<DockerEngine> StartAsync(string name, string? storageDriver = null)
    {
        var dockerd = ExternalTools.Dockerd;
        _ = ExternalTools.Docker;
        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException("The Docker engine needs root; run the end-to-end tests as root (CI does).");
        }

        // /tmp, not $TMPDIR: the socket path must stay under the 108 bytes of a Unix socket address.
        var state = Path.Combine("/tmp", $"berth-dockerd-{name}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(state);
        // An empty daemon.json of its own, so no /etc/docker/daemon.json of the machine changes how it runs.
        await File.WriteAllTextAsync(Path.Combine(state, "daemon.json"), "{}\n");
        var start = new ProcessStartInfo(dockerd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = state,
        };
        foreach (var argument in new[]
                 {
                     "--config-file", Path.Combine(state, "daemon.json"),
                     "--iptables=false", "--ip6tables=false", "--bridge=none",
                     "--data-root", Path.Combine(state, "root"), "--exec-root", Path.Combine(state, "exec"),
                     "--pidfile", Path.Combine(state, "dockerd.pid"), "-H", $"unix://{Path.Combine(state, "docker.sock")}",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        if ((storageDriver ?? Environment.GetEnvironmentVariable(StorageDriverVariable)) is { Length: > 0 } driver)
        {
            start.ArgumentList.Add($"--storage-driver={driver}");
        }

        var process = new Process { StartInfo = start };
        var engine = new DockerEngine(name, state, process);
        // Should the fixture never get to dispose it (a crashed test host still runs this), do not leave it behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => engine.Stop();
        process.OutputDataReceived += (_, e) => engine.Append(e.Data);
        process.ErrorDataReceived += (_, e) => engine.Append(e.Data);
        try
        {
            process.Start();
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await engine.WaitUntilReadyAsync();
            return engine;
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs the docker CLI against this engine with the given environment (see <see cref="DockerClient"/>).</summary>
    internal Task<ProcessResult> RunAsync(IReadOnlyDictionary<string, string?> environment, IEnumerable<string> arguments, string? standardInput, TimeSpan? timeout, string? workingDirectory = null) =>
        ProcessRunner.RunAsync(ExternalTools.Docker, arguments, timeout, environment, workingDirectory, standardInput);

    private async Task WaitUntilReadyAsync()
    {
        var environment = new Dictionary<string, string?>
        {
            ["DOCKER_HOST"] = Host,
            ["DOCKER_CONFIG"] = StateDirectory,
            ["DOCKER_CONTEXT"] = null,
        };
        var stopwatch = Stopwatch.StartNew();
        ProcessResult? last = null;
        while (stopwatch.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"dockerd ({Name}) exited with code {_process.ExitCode} before it answered. Its log:\n{LogTail()}");
            }

            last = await ProcessRunner.RunAsync(ExternalTools.Docker, ["info", "--format", "{{.ServerVersion}} {{.Driver}}"],
                TimeSpan.FromSeconds(30), environment);
            var answer = last.StandardOutputText.Trim().Split(' ');
            if (last.ExitCode == 0 && answer.Length == 2 && answer[0].Length > 0)
            {
                (Version, StorageDriver) = (answer[0], answer[1]);
                return;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException(
            $"dockerd ({Name}) did not answer on {Host} within {StartTimeout.TotalSeconds:F0} s.\n{last?.Describe()}\nIts log:\n{LogTail()}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Append(line).Append('\n');
        }
    }

    public async ValueTask DisposeAsync() => await Task.Run(Stop);

    /// <summary>Stops the daemon and removes every trace of it; safe to call twice and on a daemon that never started.</summary>
    private void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        var stopwatch = Stopwatch.StartNew();
        var how = "was not running";
        try
        {
            if (IsRunning(_process))
            {
                // SIGTERM lets dockerd stop its containers and its containerd; SIGKILL only when it does not.
                using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                {
                    term.WaitForExit();
                }

                how = "stopped on SIGTERM";
                if (!_process.WaitForExit(StopTimeout))
                {
                    how = $"killed after {StopTimeout.TotalSeconds:F0} s";
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(StopTimeout);
                }
            }
        }
        finally
        {
            var stopped = stopwatch.Elapsed;
            _process.Dispose();
            var leftovers = KillLeftovers();
            var mounts = Unmount();
            TempDirectory.DeleteQuietly(StateDirectory);
            StopReport = $"dockerd {Name} {how} in {stopped.TotalSeconds:F1} s; {leftovers} leftover processes killed, {mounts} mounts removed; " +
                $"{(Directory.Exists(StateDirectory) ? "its folder could NOT be removed" : "folder removed")} after {stopwatch.Elapsed.TotalSeconds:F1} s";
        }
    }

    /// <summary>How the last stop went (for the test log).</summary>
    public string StopReport { get; private set; } = string.Empty;

    private static bool IsRunning(Process process)
    {
        try
        {
            return !process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return false; // never started
        }
    }

    /// <summary>containerd and shims this daemon started, which outlive a SIGKILLed dockerd: their command lines name our folder.</summary>
    private int KillLeftovers()
    {
        var killed = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(StateDirectory + "/", StringComparison.Ordinal))
                {
                    using var leftover = Process.GetProcessById(pid);
                    leftover.Kill();
                    leftover.WaitForExit(5000);
                    killed++;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // gone meanwhile
            }
        }

        return killed;
    }

    /// <summary>Everything mounted under the folder (the data root is bind-mounted on itself), deepest first, lazily.</summary>
    private int Unmount()
    {
        var mounts = File.ReadAllLines("/proc/mounts")
            .Select(line => line.Split(' ')[1].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(point => point == StateDirectory || point.StartsWith(StateDirectory + "/", StringComparison.Ordinal))
            .Distinct()
            .OrderByDescending(point => point.Length)
            .ToList();
        foreach (var point in mounts)
        {
            using var umount = Process.Start("umount", ["-l", point]);
            umount.WaitForExit();
        }

        return mounts.Count;
    }
}
