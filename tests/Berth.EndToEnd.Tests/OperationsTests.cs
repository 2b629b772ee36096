using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// Running the real <c>berth</c> process as an operator does: the data folder owner-only whatever the umask, a
/// warning for one that is open to others, start-up failures as one line with exit code 1, offline
/// <c>berth admin</c> on the wrong folder refused and its changes audited, the default listen on IPv6 and IPv4, and
/// <c>install.sh</c>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OperationsTests
{
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary><c>dotnet berth.dll ARGS</c> in <paramref name="workingDirectory"/>, with no BERTH_* from this environment.</summary>
    internal static Task<ProcessResult> BerthAsync(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var clean = Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("BERTH_", StringComparison.Ordinal))
            .ToDictionary(k => k, _ => (string?)null);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            clean[key] = value;
        }

        return ProcessRunner.RunAsync(BerthProcess.DotnetHost(), [BerthProcess.ServerAssemblyPath(), .. args], TimeSpan.FromMinutes(2), clean, workingDirectory);
    }

    private static readonly Dictionary<string, string?> AdminPassword = new() { ["BERTH_ADMIN_PASSWORD"] = "operations-admin-password" };

    /// <summary>The process failed with exit code 1 and one line on stderr naming <paramref name="expected"/>; no stack trace anywhere.</summary>
    internal static void OneLineFailure(ProcessResult result, string expected, int exitCode = 1)
    {
        Assert.True(result.ExitCode == exitCode, $"expected exit code {exitCode}\n{result.Describe()}");
        var lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr\n{result.Describe()}");
        Assert.StartsWith("berth: ", lines[0], StringComparison.Ordinal);
        Assert.True(lines[0].Contains(expected, StringComparison.Ordinal), $"expected '{expected}'\n{result.Describe()}");
        Assert.DoesNotContain("   at ", result.StandardError + result.StandardOutputText, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.StandardError + result.StandardOutputText, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Serve_PermissiveUmask_EverythingInTheDataFolderIsOwnerOnly()
    {
        await using var server = await BerthProcess.StartWithUmaskAsync("000");
        using var work = new TempDirectory("ops-umask");
        var image = OciLayoutBuilder.RandomImage(work.Sub("image"), "v1", layers: 2, bytesPerLayer: 64 * 1024, seed: 1101);
        using var http = new RegistryHttp(server.BaseAddress);
        await http.PushImageAsync(image, "modes/app", "v1", chunked: true);
        var upload = await http.StartUploadAsync("modes/app");
        await http.PatchAsync(upload, new byte[4096], 0); // an upload in progress: a file in uploads/

        // Written by the same process (umask 000) with berth's modes, not the umask's.
        Assert.Equal(FolderMode, File.GetUnixFileMode(server.DataPath));
        var folders = Directory.EnumerateDirectories(server.DataPath, "*", SearchOption.AllDirectories).ToList();
        var files = Directory.EnumerateFiles(server.DataPath, "*", SearchOption.AllDirectories).ToList();
        foreach (var expected in new[] { "blobs", "uploads", "keys" })
        {
            Assert.Contains(Path.Combine(server.DataPath, expected), folders);
        }

        foreach (var expected in new[] { "berth.db", "berth.db-wal", "berth.db-shm" })
        {
            Assert.Contains(Path.Combine(server.DataPath, expected), files);
        }

        Assert.Contains(files, f => f.StartsWith(Path.Combine(server.DataPath, "blobs", "sha256"), StringComparison.Ordinal));
        Assert.Contains(files, f => f.StartsWith(Path.Combine(server.DataPath, "uploads") + "/", StringComparison.Ordinal));
        Assert.Contains(files, f => f.StartsWith(Path.Combine(server.DataPath, "keys", "token-signing-"), StringComparison.Ordinal));
        var wrong = folders.Where(f => File.GetUnixFileMode(f) != FolderMode)
            .Concat(files.Where(f => File.GetUnixFileMode(f) != FileMode))
            .Select(p => $"{p}: {Convert.ToString((int)File.GetUnixFileMode(p), 8)}").ToList();
        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
        Assert.DoesNotContain("open to other users", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_DataFolderOpenToOthersAndAdminPasswordSet_WarnsOnceEachAndSaysWhy()
    {
        await using var server = await BerthProcess.StartAsync();
        server.Kill();
        File.SetUnixFileMode(server.DataPath, FolderMode | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        await server.RestartAsync();

        var second = server.Log[server.Log.LastIndexOf("---- starting berth (#2)", StringComparison.Ordinal)..];
        var open = second.Split('\n').Where(l => l.Contains("open to other users", StringComparison.Ordinal)).ToList();
        Assert.True(open.Count == 1, server.LogTail());
        Assert.Contains($"Fix: chmod -R go-rwx {server.DataPath}", open[0], StringComparison.Ordinal);
        Assert.Contains("mode 0755", open[0], StringComparison.Ordinal);
        var ignored = second.Split('\n').Where(l => l.Contains("BERTH_ADMIN_PASSWORD", StringComparison.Ordinal)).ToList();
        Assert.True(ignored.Count == 1, server.LogTail());
        Assert.Contains("ignored: this data folder already has an administrator", ignored[0], StringComparison.Ordinal);
        Assert.True(server.IsRunning, server.LogTail());
    }

    [Fact]
    public async Task Serve_PortInUse_OneLineNamingListenExitCode1()
    {
        using var work = new TempDirectory("ops-port");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var result = await BerthAsync(work.Path, AdminPassword, "serve", "--listen", $"http://127.0.0.1:{port}", "--data", work.Sub("data"));

        OneLineFailure(result, $"--listen http://127.0.0.1:{port}: cannot listen: the address is already in use");
    }

    [Fact]
    public async Task Serve_DataIsAFile_OneLineExitCode1()
    {
        using var work = new TempDirectory("ops-datafile");
        await File.WriteAllTextAsync(work.Sub("data"), "not a folder");

        var result = await BerthAsync(work.Path, AdminPassword, "serve", "--listen", $"http://127.0.0.1:{FreePort()}", "--data", work.Sub("data"));

        OneLineFailure(result, $"--data {work.Sub("data")}: is a file, not a folder");
    }

    [Fact]
    public async Task Serve_DataFolderTheServerMayNotRead_OneLinePermissionDenied()
    {
        using var work = new TempDirectory("ops-unreadable");
        var data = work.Sub("data");
        Directory.CreateDirectory(data);
        IReadOnlyList<string> command;
        if (Environment.UserName == "root")
        {
            // root reads everything: run the server as nobody on a folder of root's (0700).
            File.SetUnixFileMode(work.Path, FolderMode | UnixFileMode.OtherExecute | UnixFileMode.OtherRead);
            File.SetUnixFileMode(data, FolderMode);
            command = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BerthProcess.DotnetHost(), BerthProcess.ServerAssemblyPath()];
        }
        else
        {
            File.SetUnixFileMode(data, 0);
            command = [BerthProcess.DotnetHost(), BerthProcess.ServerAssemblyPath()];
        }

        try
        {
            var result = await ProcessRunner.RunAsync(command[0], [.. command.Skip(1), "serve", "--listen", $"http://127.0.0.1:{FreePort()}", "--data", data],
                TimeSpan.FromMinutes(2), new Dictionary<string, string?>(AdminPassword) { ["HOME"] = "/tmp", ["DOTNET_CLI_HOME"] = "/tmp" }, "/tmp");

            OneLineFailure(result, $"--data {data}: permission denied");
        }
        finally
        {
            File.SetUnixFileMode(data, FolderMode);
        }
    }

    [Fact]
    public async Task Serve_DatabaseOfANewerBerth_OneLineExitCode1()
    {
        using var work = new TempDirectory("ops-newer");
        var data = work.Sub("data");
        Directory.CreateDirectory(data);
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(data, "berth.db")};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (9999);";
            command.ExecuteNonQuery();
        }

        var result = await BerthAsync(work.Path, AdminPassword, "serve", "--listen", $"http://127.0.0.1:{FreePort()}", "--data", data);

        OneLineFailure(result, $"--data {data}: berth.db has schema version 9999, newer than this Berth knows");
    }

    [Fact]
    public async Task Serve_TlsProblems_OneLineNamingTheFlagExitCode1()
    {
        using var work = new TempDirectory("ops-tls");
        var data = work.Sub("data");
        var cert = work.Sub("cert.pem");
        var key = work.Sub("key.pem");
        using (var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            using var certificate = new CertificateRequest("CN=localhost", ecdsa, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(cert, certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(key, ecdsa.ExportPkcs8PrivateKeyPem());
        }

        var garbage = work.Sub("garbage.pem");
        await File.WriteAllTextAsync(garbage, "this is not PEM");
        var https = $"https://127.0.0.1:{FreePort()}";

        OneLineFailure(await BerthAsync(work.Path, AdminPassword, "serve", "--listen", https, "--data", data, "--tls-cert", cert, "--tls-key", work.Sub("missing.pem")),
            $"--tls-key {work.Sub("missing.pem")}: no such file");
        OneLineFailure(await BerthAsync(work.Path, AdminPassword, "serve", "--listen", https, "--data", data, "--tls-cert", garbage, "--tls-key", key),
            $"--tls-cert {garbage}: not a certificate in PEM form");
        OneLineFailure(await BerthAsync(work.Path, AdminPassword, "serve", "--listen", $"http://127.0.0.1:{FreePort()}", "--data", data, "--tls-cert", cert, "--tls-key", key),
            "--tls-cert is given but no --listen address is https://");
        OneLineFailure(await BerthAsync(work.Path, AdminPassword, "serve", "--listen", https, "--data", data),
            $"--listen {https} is https: it needs --tls-cert and --tls-key");
        Assert.False(Directory.Exists(data)); // refused before anything was created
    }

    [Fact]
    public async Task Serve_ShortAdminPasswordOnAFirstStart_OneLineExitCode1()
    {
        using var work = new TempDirectory("ops-short");

        var result = await BerthAsync(work.Path, new Dictionary<string, string?> { ["BERTH_ADMIN_PASSWORD"] = "short" },
            "serve", "--listen", $"http://127.0.0.1:{FreePort()}", "--data", work.Sub("data"));

        OneLineFailure(result, "BERTH_ADMIN_PASSWORD must be at least 8 characters");
    }

    [Theory]
    [InlineData("--bogus", "unknown option '--bogus'")]
    [InlineData("--data", "option --data needs a value")]
    public async Task Serve_CommandLineMistakes_OneLineExitCode2(string flag, string expected)
    {
        using var work = new TempDirectory("ops-usage");

        var result = await BerthAsync(work.Path, AdminPassword, "serve", flag);

        OneLineFailure(result, expected, exitCode: 2);
        Assert.Empty(Directory.EnumerateFileSystemEntries(work.Path));
    }

    [Fact]
    public async Task Serve_BadConfigFile_OneLine()
    {
        using var work = new TempDirectory("ops-config");
        await File.WriteAllTextAsync(work.Sub("berth.json"), "[1, 2]");

        var result = await BerthAsync(work.Path, AdminPassword, "serve", "--config", work.Sub("berth.json"));

        OneLineFailure(result, "must hold one JSON object", exitCode: 2);
    }

    [Theory]
    [InlineData("clear-ip-allow")]
    [InlineData("reset-password")]
    public async Task Admin_WithoutDataInAnotherDirectory_RefusedAndNothingCreated(string command)
    {
        using var work = new TempDirectory("ops-admin-elsewhere");

        var result = await BerthAsync(work.Path, null, "admin", command);

        OneLineFailure(result, $"there is no data folder {work.Sub("data")}; give the server's data folder with --data DIR");
        Assert.Empty(result.StandardOutputText);
        Assert.Empty(Directory.EnumerateFileSystemEntries(work.Path));
    }

    [Fact]
    public async Task Admin_OnTheServersData_ChangesAreAuditedAsTheSystem()
    {
        await using var server = await BerthProcess.StartAsync();
        using var api = new HttpClient { BaseAddress = server.BaseAddress };
        api.DefaultRequestHeaders.Authorization = RegistryAuth.Basic(BerthProcess.AdminUser, BerthProcess.AdminPassword);
        using (var project = await api.PostAsync("/api/v1/projects", JsonContent("""{"name":"shop"}""")))
        {
            Assert.Equal(HttpStatusCode.Created, project.StatusCode);
        }

        using (var rule = await api.PostAsync("/api/v1/projects/shop/ip-allow", JsonContent("""{"network":"127.0.0.0/8"}""")))
        {
            Assert.Equal(HttpStatusCode.Created, rule.StatusCode);
        }

        var clear = await BerthAsync(server.WorkingDirectory, null, "admin", "clear-ip-allow", "--project", "shop", "--data", server.DataPath);
        Assert.True(clear.ExitCode == 0, clear.Describe());
        Assert.Contains("Removed 1 IP allow rule(s) of project 'shop'", clear.StandardOutputText, StringComparison.Ordinal);
        var rotate = await BerthAsync(server.WorkingDirectory, null, "admin", "rotate-token-key", "--data", server.DataPath);
        Assert.True(rotate.ExitCode == 0, rotate.Describe());

        using var audit = await api.GetAsync("/api/v1/audit?user=berth%20admin");
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        var entries = JsonDocument.Parse(await audit.Content.ReadAsStringAsync()).RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["token_key.rotate", "ip_rule.remove"], entries.Select(e => e.GetProperty("action").GetString()));
        Assert.All(entries, e => Assert.Equal("system", e.GetProperty("actorKind").GetString()));
        Assert.Equal("shop", entries[1].GetProperty("project").GetString());
        Assert.Equal("127.0.0.0/8", entries[1].GetProperty("detail").GetProperty("network").GetString());
    }

    [Fact]
    public async Task Serve_ListenOnEveryAddress_AnswersOnIpv4AndIpv6Loopback()
    {
        await using var server = await BerthProcess.StartAsync("--listen", $"http://*:{BerthProcess.PortPlaceholder}");
        var port = server.Port;
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using var ipv4 = await client.GetAsync($"http://127.0.0.1:{port}/v2/");
        Assert.Equal(HttpStatusCode.Unauthorized, ipv4.StatusCode);
        if (Socket.OSSupportsIPv6)
        {
            using var ipv6 = await client.GetAsync($"http://[::1]:{port}/v2/");
            Assert.Equal(HttpStatusCode.Unauthorized, ipv6.StatusCode);
            Assert.Contains($"listening on http://[::]:{port} (every IPv6 and IPv4 address)", server.Log, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains($"listening on http://0.0.0.0:{port}", server.Log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task InstallScript_ToAPrefix_PutsARunnableBerthInItsBin()
    {
        using var prefix = new TempDirectory("ops-install");
        var root = RepositoryRoot();

        var install = await ProcessRunner.RunAsync(Path.Combine(root, "install.sh"), [prefix.Path], TimeSpan.FromMinutes(10));
        Assert.True(install.ExitCode == 0, install.Describe());

        var berth = Path.Combine(prefix.Path, "bin", "berth");
        var version = await ProcessRunner.RunAsync(berth, ["version"], TimeSpan.FromMinutes(1));
        Assert.True(version.ExitCode == 0, version.Describe());
        Assert.StartsWith("berth ", version.StandardOutputText, StringComparison.Ordinal);
        var help = await ProcessRunner.RunAsync(berth, ["serve", "--help"], TimeSpan.FromMinutes(1));
        Assert.Contains("--listen", help.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains("installed", install.StandardOutputText, StringComparison.Ordinal);
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Berth.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"no Berth.slnx above {AppContext.BaseDirectory}");
    }
}
