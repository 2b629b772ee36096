using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The real server, <c>dotnet berth.dll serve</c>, as a child process on a free loopback port with its own data folder.
/// Its output is captured (<see cref="Log"/>). <see cref="Kill"/> is a SIGKILL (no graceful shutdown);
/// <see cref="RestartAsync"/> starts it again on the same port and data folder.
/// </summary>
public sealed class BerthProcess : IAsyncDisposable
{
    /// <summary>Environment variable that overrides where berth.dll is looked for.</summary>
    public const string ServerAssemblyVariable = "BERTH_E2E_SERVER";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Ports handed out in this run: never given twice, so a killed server's port stays its own for the restart.</summary>
    private static readonly HashSet<int> ReservedPorts = [];

    /// <summary>server-logs/RUN/ next to the test assembly; the logs of the last few runs are kept.</summary>
    private static readonly Lazy<string> LogDirectory = new(() =>
    {
        var root = Path.Combine(AppContext.BaseDirectory, "server-logs");
        Directory.CreateDirectory(root);
        foreach (var old in new DirectoryInfo(root).GetDirectories().OrderByDescending(d => d.Name, StringComparer.Ordinal).Skip(4))
        {
            TempDirectory.DeleteQuietly(old.FullName);
        }

        var directory = Path.Combine(root, $"{DateTime.UtcNow:yyyyMMddTHHmmss}-{Environment.ProcessId}");
        Directory.CreateDirectory(directory);
        return directory;
    });

    /// <summary>User name of the administrator each test server creates on first start.</summary>
    public const string AdminUser = "admin";

    /// <summary>Its password, given to the server as <c>BERTH_ADMIN_PASSWORD</c>.</summary>
    public const string AdminPassword = "e2e-admin-password";

    private readonly StringBuilder _log = new();
    private readonly TempDirectory? _ownedData;
    private Process? _process;
    private int _starts;
    private StrongBox<bool> _stopping = new();

    private BerthProcess(string dataPath, TempDirectory? ownedData, int port)
    {
        DataPath = dataPath;
        _ownedData = ownedData;
        Port = port;
        LogFile = Path.Combine(LogDirectory.Value, $"berth-{port}.log");
    }

    /// <summary>A copy of <see cref="Log"/> that outlives the test run (next to the test assembly, in server-logs/).</summary>
    public string LogFile { get; }

    public int Port { get; }

    /// <summary>Where the server keeps berth.db, blobs/ and uploads/: <c>data</c> in a temporary folder, created by the server itself.</summary>
    public string DataPath { get; }

    /// <summary>The folder the server runs in (the parent of <see cref="DataPath"/>).</summary>
    public string WorkingDirectory => System.IO.Path.GetDirectoryName(DataPath)!;

    /// <summary>The umask the server process starts with (octal, e.g. <c>000</c>); null: the test process's.</summary>
    public string? Umask { get; private init; }

    /// <summary><c>127.0.0.1:PORT</c>, as skopeo and podman want it.</summary>
    public string Host => $"127.0.0.1:{Port}";

    public Uri BaseAddress => new($"http://{Host}/");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// The server's resident memory now and at its peak since it started (VmRSS and VmHWM of /proc/PID/status, in
    /// bytes). Linux only.
    /// </summary>
    public (long Resident, long Peak) Memory()
    {
        var process = _process ?? throw new InvalidOperationException("the server was never started");
        long resident = -1, peak = -1;
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                resident = Kilobytes(line) * 1024;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line) * 1024;
            }
        }

        return resident >= 0 && peak >= 0 ? (resident, peak) : throw new InvalidOperationException($"no VmRSS/VmHWM in /proc/{process.Id}/status");

        static long Kilobytes(string line) =>
            long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Set when the server exited without <see cref="Kill"/> or dispose asking it to: crashed, or killed from outside.</summary>
    public string? UnexpectedExit { get; private set; }

    /// <summary>Everything the server wrote to stdout and stderr, across restarts.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The last lines of <see cref="Log"/>, for failure messages.</summary>
    public string LogTail(int lines = 40)
    {
        var all = Log.Split('\n');
        return (UnexpectedExit is null ? string.Empty : UnexpectedExit + "\n") + $"(whole log: {LogFile})\n" + string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>Extra <c>berth serve</c> arguments (after the listen address and data folder); <see cref="PortPlaceholder"/> in one becomes <see cref="Port"/>.</summary>
    public IReadOnlyList<string> ExtraArguments { get; private init; } = [];

    /// <summary>Stands for the server's port in <see cref="ExtraArguments"/> (e.g. <c>--listen http://*:{PORT}</c>).</summary>
    public const string PortPlaceholder = "{PORT}";

    /// <summary>
    /// Starts a server on a free port with a fresh temporary data folder and waits until it answers GET /v2/ as the
    /// administrator. Unless <paramref name="arguments"/> say otherwise, administrators' pushes create projects
    /// (<c>--auto-create-projects true</c>), and skopeo and podman sign in as the administrator through
    /// <see cref="RegistryAuth.FilePath"/>.
    /// </summary>
    public static Task<BerthProcess> StartAsync(params string[] arguments) => StartWithUmaskAsync(null, arguments);

    /// <summary>As <see cref="StartAsync"/>, with the server process's umask set to <paramref name="umask"/> (octal) first.</summary>
    public static async Task<BerthProcess> StartWithUmaskAsync(string? umask, params string[] arguments)
    {
        var data = new TempDirectory("berth-data");
        var server = new BerthProcess(data.Sub("data"), data, FreePort())
        {
            ExtraArguments = DefaultArguments(arguments),
            Umask = umask,
        };
        try
        {
            await server.StartProcessAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>As <see cref="StartAsync"/>, with <paramref name="environment"/> added to the server's environment (credentials of an object store).</summary>
    public static async Task<BerthProcess> StartWithEnvironmentAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var data = new TempDirectory("berth-data");
        var server = new BerthProcess(data.Sub("data"), data, FreePort())
        {
            ExtraArguments = DefaultArguments(arguments),
            ExtraEnvironment = environment,
        };
        try
        {
            await server.StartProcessAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>
    /// As <see cref="StartAsync"/>, on the data folder <paramref name="dataPath"/> (created by the server when missing; a
    /// test's own small file system, say), which the test owns: it is left where it is on dispose.
    /// </summary>
    public static async Task<BerthProcess> StartInFolderAsync(string dataPath, params string[] arguments)
    {
        var server = new BerthProcess(dataPath, null, FreePort()) { ExtraArguments = DefaultArguments(arguments) };
        try
        {
            await server.StartProcessAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>
    /// Administrators' pushes create projects, and there is no storage reserve (the default, at least 1 GiB, would
    /// refuse uploads on a nearly full CI disk), unless <paramref name="arguments"/> set them.
    /// </summary>
    private static string[] DefaultArguments(string[] arguments)
    {
        var result = arguments.Contains("--auto-create-projects") ? arguments : ["--auto-create-projects", "true", .. arguments];
        return result.Contains("--storage-reserve") ? result : [.. result, "--storage-reserve", "0"];
    }

    /// <summary>
    /// SIGTERM, as a service manager stops it: waits for the process to end and answers its exit code (0 for a clean
    /// stop; 134 is SIGABRT, an unhandled exception while stopping).
    /// </summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException("the server was never started");
        Volatile.Write(ref _stopping.Value, true);
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(wait.Token);
        AppendLog($"---- berth stopped by SIGTERM, exit code {process.ExitCode} ----");
        return process.ExitCode;
    }

    /// <summary>Variables added to the server's environment (after the <c>BERTH_*</c> ones are removed).</summary>
    public IReadOnlyDictionary<string, string> ExtraEnvironment { get; private init; } = new Dictionary<string, string>();

    /// <summary>
    /// The built berth.dll: <c>$BERTH_E2E_SERVER</c>, else the path recorded at build time by the project reference, else
    /// src/Berth/bin/CONFIGURATION/TFM/berth.dll under the repository root above the test assembly.
    /// </summary>
    public static string ServerAssemblyPath()
    {
        var overridden = Environment.GetEnvironmentVariable(ServerAssemblyVariable);
        if (!string.IsNullOrEmpty(overridden))
        {
            return File.Exists(overridden) ? overridden : throw new FileNotFoundException($"{ServerAssemblyVariable}={overridden} does not exist");
        }

        var recorded = typeof(BerthProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BerthServerAssembly")?.Value;
        if (!string.IsNullOrEmpty(recorded) && File.Exists(recorded))
        {
            return recorded;
        }

        // tests/Berth.EndToEnd.Tests/bin/<Configuration>/<TFM>/ -> the same configuration and TFM of src/Berth.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        for (var root = output.Parent; root is not null; root = root.Parent)
        {
            if (File.Exists(Path.Combine(root.FullName, "Berth.slnx")))
            {
                var candidate = Path.Combine(root.FullName, "src", "Berth", "bin", output.Parent!.Name, output.Name, "berth.dll");
                if (File.Exists(candidate))
                {
                    return candidate;
                }

                break;
            }
        }

        throw new FileNotFoundException(
            $"berth.dll was not found (recorded at build time: '{recorded}'). Build the solution (dotnet build) or set {ServerAssemblyVariable} to the path of berth.dll.");
    }

    /// <summary>SIGKILL: the process dies at once, with no shutdown code running, like a crash or an OOM kill.</summary>
    public void Kill()
    {
        var process = _process ?? throw new InvalidOperationException("the server was never started");
        Volatile.Write(ref _stopping.Value, true);
        if (!process.HasExited)
        {
            process.Kill(); // SIGKILL on Unix
        }

        process.WaitForExit();
        AppendLog($"---- berth killed (SIGKILL), exit code {process.ExitCode} ----");
    }

    /// <summary>Kills the server if it runs, then starts it again on the same port and data folder and waits until it is ready.</summary>
    public async Task RestartAsync()
    {
        if (IsRunning)
        {
            Kill();
        }

        await StartProcessAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _stopping.Value, true);
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill();
                    await process.WaitForExitAsync();
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
            _process = null;
        }

        _ownedData?.Dispose();
    }

    private async Task StartProcessAsync()
    {
        _process?.Dispose();
        var dll = ServerAssemblyPath();
        // With a umask, through sh: the umask is set there and exec keeps it (and the process id) for dotnet.
        var start = new ProcessStartInfo(Umask is null ? DotnetHost() : "/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = WorkingDirectory,
        };
        string[] prefix = Umask is null ? [] : ["-c", $"umask {Umask} && exec \"$0\" \"$@\"", DotnetHost()];
        foreach (var argument in prefix.Concat([dll, "serve", "--listen", $"http://{Host}", "--data", DataPath]).Concat(ExtraArguments.Select(a => a.Replace(PortPlaceholder, Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))))
        {
            start.ArgumentList.Add(argument);
        }

        // Only the flags above configure it: no BERTH_* (or a BERTH_CONFIG file) leaking in from the environment.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("BERTH_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in ExtraEnvironment)
        {
            start.Environment[key] = value;
        }

        start.Environment["BERTH_ADMIN_PASSWORD"] = AdminPassword;
        RegistryAuth.Add(Host, AdminUser, AdminPassword);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        _starts++;
        var stopping = _stopping = new StrongBox<bool>();
        AppendLog($"---- starting berth (#{_starts}): {dll} on {Host}, data {DataPath} ----");
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.Exited += (_, _) =>
        {
            try
            {
                if (Volatile.Read(ref stopping.Value))
                {
                    AppendLog($"---- berth exited, code {process.ExitCode} ----");
                }
                else
                {
                    UnexpectedExit = $"berth on {Host} exited unexpectedly with code {process.ExitCode}{(process.ExitCode == 137 ? " (SIGKILL from outside the tests?)" : string.Empty)}";
                    AppendLog($"---- {UnexpectedExit} ----");
                }
            }
            catch (InvalidOperationException)
            {
                // already disposed
            }
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                AppendLog(e.Data);
                if (e.Data.Contains("listening on", StringComparison.OrdinalIgnoreCase))
                {
                    listening.TrySetResult();
                }
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { AppendLog(e.Data); } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        client.DefaultRequestHeaders.Authorization = RegistryAuth.Basic(AdminUser, AdminPassword);
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"berth exited with code {process.ExitCode} before it was ready. Its log:\n{LogTail(60)}");
            }

            // Only once this process said it listens: a 200 from anything else on the port must not count.
            try
            {
                if (!listening.Task.IsCompleted)
                {
                    await Task.Delay(100);
                    continue;
                }

                using var response = await client.GetAsync(new Uri(BaseAddress, "/v2/"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"berth did not answer GET /v2/ with 200 within {StartTimeout.TotalSeconds:F0} s. Its log:\n{LogTail(60)}");
    }

    private void AppendLog(string line)
    {
        lock (_log)
        {
            _log.Append(line).Append('\n');
            File.AppendAllText(LogFile, line + "\n");
        }
    }

    /// <summary>The dotnet host that runs these tests (the CLI exports its path), else dotnet on PATH.</summary>
    public static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }

    private static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (ReservedPorts)
            {
                if (ReservedPorts.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
