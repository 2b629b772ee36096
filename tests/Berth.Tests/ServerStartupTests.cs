using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Berth.Core.Access;
using Berth.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Tests;

/// <summary>
/// <c>berth serve</c> start-up in the process (<see cref="ServerStartup.RunAsync"/>): every failure is one line naming
/// the setting and the cause with exit code 1; the data folder is created owner-only and a folder open to others is
/// warned about; <c>BERTH_ADMIN_PASSWORD</c> is checked on a first start and reported as ignored on later ones.
/// </summary>
public sealed class ServerStartupTests : IDisposable
{
    private const string Password = "startup-test-password";

    private readonly string _root = Directory.CreateTempSubdirectory("berth-startup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Data => Path.Combine(_root, "data");

    private string PathOf(string name) => Path.Combine(_root, name);

    private Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Berth:Data"] = Data,
            ["Berth:Listen"] = "http://127.0.0.1:0",
            ["Berth:AdminPassword"] = Password,
            ["Berth:Auth:Passwords:Iterations"] = "1000",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Runs the server as <c>berth serve</c> does; a server that starts is stopped at once. The exit code, stderr and the log.</summary>
    private static async Task<(int Exit, string Error, IReadOnlyList<string> Log)> RunAsync(Dictionary<string, string?> settings)
    {
        var log = new CapturingLoggerProvider();
        var error = new StringWriter();
        var exit = await ServerStartup.ServeAsync(settings, error, app =>
        {
            app.Services.GetRequiredService<ILoggerFactory>().AddProvider(log);
            app.Lifetime.ApplicationStarted.Register(() => app.Lifetime.StopApplication());
        }).WaitAsync(TimeSpan.FromMinutes(1));
        return (exit, error.ToString(), log.Lines);
    }

    private static void AssertOneLine(string error, string expected, int exit)
    {
        Assert.Equal(1, exit);
        Assert.StartsWith("berth: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_GoodSettings_StartsAndStopsWithExitZero()
    {
        var (exit, error, _) = await RunAsync(Settings());

        Assert.Equal((0, string.Empty), (exit, error));
    }

    [Fact]
    public async Task RunAsync_PortInUse_OneLineNamingListenAndTheCause()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (exit, error, log) = await RunAsync(Settings(("Berth:Listen", $"http://127.0.0.1:{port}")));

        AssertOneLine(error, $"--listen http://127.0.0.1:{port}: cannot listen: the address is already in use", exit);
        // The host's own "Hosting failed to start" (a stack trace) is not logged beside it.
        Assert.DoesNotContain(log, l => l.Contains("Hosting failed to start", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_AddressNotOfThisMachine_OneLineNamingListen()
    {
        // 192.0.2.0/24 is reserved for documentation (RFC 5737): no machine has it.
        var (exit, error, _) = await RunAsync(Settings(("Berth:Listen", "http://192.0.2.1:5000")));

        AssertOneLine(error, "--listen http://192.0.2.1:5000: cannot listen: that address is not one of this machine's", exit);
    }

    [Fact]
    public async Task RunAsync_TrustedProxiesNotAnAddress_OneLineInsteadOfFailingEveryRequest()
    {
        var (exit, error, _) = await RunAsync(Settings(("Berth:TrustedProxies", "10.0.0.0/8,garbage")));

        AssertOneLine(error, "--trusted-proxies: 'garbage' is not an IP address or CIDR network", exit);
    }

    [Fact]
    public async Task RunAsync_DataIsAFile_OneLineAndTheFileIsLeftAlone()
    {
        await File.WriteAllTextAsync(Data, "a file");

        var (exit, error, _) = await RunAsync(Settings());

        AssertOneLine(error, $"--data {Data}: is a file, not a folder", exit);
        Assert.Equal("a file", await File.ReadAllTextAsync(Data));
    }

    [Fact]
    public async Task RunAsync_DataBelowAFile_OneLineNamingData()
    {
        await File.WriteAllTextAsync(PathOf("file"), "a file");

        var (exit, error, _) = await RunAsync(Settings(("Berth:Data", Path.Combine(PathOf("file"), "data"))));

        AssertOneLine(error, $"--data {Path.Combine(PathOf("file"), "data")}: ", exit);
    }

    [Fact]
    public async Task RunAsync_BerthDbIsAFolder_OneLine()
    {
        Directory.CreateDirectory(Path.Combine(Data, "berth.db"));

        var (exit, error, _) = await RunAsync(Settings());

        AssertOneLine(error, "berth.db is a folder", exit);
    }

    [Fact]
    public async Task RunAsync_BerthDbNotADatabase_OneLineNamingData()
    {
        Directory.CreateDirectory(Data);
        await File.WriteAllTextAsync(Path.Combine(Data, "berth.db"), new string('x', 4096));

        var (exit, error, _) = await RunAsync(Settings());

        AssertOneLine(error, $"--data {Data}: cannot open berth.db: ", exit);
    }

    [Fact]
    public async Task RunAsync_DatabaseOfANewerBerth_OneLineSayingSo()
    {
        Assert.Equal(0, (await RunAsync(Settings())).Exit);
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(Data, "berth.db")};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version (version) VALUES (9999)";
            command.ExecuteNonQuery();
        }

        var (exit, error, _) = await RunAsync(Settings());

        AssertOneLine(error, $"--data {Data}: berth.db has schema version 9999, newer than this Berth knows", exit);
    }

    [Fact]
    public async Task RunAsync_SigningKeyFileThatIsNoKey_OneLineNamingTokenKeyDir()
    {
        var keys = PathOf("keys");
        Directory.CreateDirectory(keys);
        await File.WriteAllTextAsync(Path.Combine(keys, "token-signing-000001.pem"), "not a key");

        var (exit, error, _) = await RunAsync(Settings(("Berth:Auth:RegistryTokens:KeyFolder", keys)));

        AssertOneLine(error, $"--token-key-dir {keys}: ", exit);
        Assert.Contains("token-signing-000001.pem", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ValueTooLargeForItsSetting_OneLineNamingTheFlag()
    {
        var (exit, error, _) = await RunAsync(Settings(("Berth:MaxManifestBytes", "10737418240")));

        AssertOneLine(error, "--max-manifest-size: not a value this setting can take", exit);
    }

    [Fact]
    public async Task ServeAsync_RawValueThatDoesNotBind_OneLineNamingTheFlag()
    {
        var (exit, error, _) = await RunAsync(Settings(("Berth:SendFile", "maybe")));

        AssertOneLine(error, "--sendfile: not a value this setting can take", exit);
    }

    [Fact]
    public async Task RunAsync_TlsWithoutAnHttpsListener_IsRefused()
    {
        var (cert, key) = WriteCertificate("localhost");

        var (exit, error, _) = await RunAsync(Settings(("Berth:TlsCertificate", cert), ("Berth:TlsKey", key)));

        AssertOneLine(error, "--tls-cert is given but no --listen address is https://", exit);
    }

    [Fact]
    public async Task RunAsync_HttpsWithoutTheKey_SaysWhichFlagIsMissing()
    {
        var (cert, _) = WriteCertificate("localhost");

        var (exit, error, _) = await RunAsync(Settings(("Berth:Listen", "https://127.0.0.1:0"), ("Berth:TlsCertificate", cert)));

        AssertOneLine(error, "--listen https://127.0.0.1:0 is https: it needs --tls-key", exit);
    }

    [Fact]
    public async Task RunAsync_MissingTlsKeyFile_OneLineNamingTlsKey()
    {
        var (cert, _) = WriteCertificate("localhost");
        var missing = PathOf("missing-key.pem");

        var (exit, error, _) = await RunAsync(Settings(("Berth:Listen", "https://127.0.0.1:0"), ("Berth:TlsCertificate", cert), ("Berth:TlsKey", missing)));

        AssertOneLine(error, $"--tls-key {missing}: no such file", exit);
    }

    [Fact]
    public async Task RunAsync_MalformedCertificate_OneLineNamingTlsCert()
    {
        var (_, key) = WriteCertificate("localhost");
        var garbage = PathOf("garbage.pem");
        await File.WriteAllTextAsync(garbage, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");

        var (exit, error, _) = await RunAsync(Settings(("Berth:Listen", "https://127.0.0.1:0"), ("Berth:TlsCertificate", garbage), ("Berth:TlsKey", key)));

        AssertOneLine(error, $"--tls-cert {garbage}: not a certificate in PEM form", exit);
    }

    [Fact]
    public async Task RunAsync_KeyOfAnotherCertificate_OneLineNamingTlsKey()
    {
        var (cert, _) = WriteCertificate("localhost", "one");
        var (_, otherKey) = WriteCertificate("localhost", "two");

        var (exit, error, _) = await RunAsync(Settings(("Berth:Listen", "https://127.0.0.1:0"), ("Berth:TlsCertificate", cert), ("Berth:TlsKey", otherKey)));

        AssertOneLine(error, $"--tls-key {otherKey}: not the private key of the certificate in {cert}", exit);
    }

    [Fact]
    public async Task RunAsync_GoodTlsFiles_StartsOnHttps()
    {
        var (cert, key) = WriteCertificate("localhost");

        var (exit, error, _) = await RunAsync(Settings(("Berth:Listen", "https://127.0.0.1:0"), ("Berth:TlsCertificate", cert), ("Berth:TlsKey", key)));

        Assert.Equal((0, string.Empty), (exit, error));
    }

    [Fact]
    public async Task RunAsync_ShortAdminPasswordOnAFirstStart_OneLineAndNoAdministrator()
    {
        var (exit, error, _) = await RunAsync(Settings(("Berth:AdminPassword", "short")));

        AssertOneLine(error, "BERTH_ADMIN_PASSWORD must be at least 8 characters", exit);
        Assert.DoesNotContain("short", error.Replace("BERTH_ADMIN_PASSWORD", "", StringComparison.Ordinal), StringComparison.Ordinal);
        await using var app = Berth.Testing.MigratedServer.Build(Settings());
        Assert.Equal(0, await app.Services.GetRequiredService<IUserStore>().CountAdministratorsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task RunAsync_AdminPasswordOnAFolderWithAnAdministrator_IsIgnoredWithAWarningSayingWhy()
    {
        Assert.Equal(0, (await RunAsync(Settings())).Exit);

        var (exit, _, log) = await RunAsync(Settings(("Berth:AdminPassword", "x"), ("Logging:LogLevel:Default", "Information")));

        Assert.Equal(0, exit);
        var line = Assert.Single(log, l => l.Contains("BERTH_ADMIN_PASSWORD", StringComparison.Ordinal));
        Assert.Contains("ignored: this data folder already has an administrator", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_NoAdminPasswordOnALaterStart_LogsNothingAboutIt()
    {
        Assert.Equal(0, (await RunAsync(Settings())).Exit);

        var (exit, _, log) = await RunAsync(Settings(("Berth:AdminPassword", null)));

        Assert.Equal(0, exit);
        Assert.DoesNotContain(log, l => l.Contains("BERTH_ADMIN_PASSWORD", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_NewDataFolder_EverythingInItIsOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // This process's umask (usually 022) would leave 0755 folders and 0644 files: the modes are Berth's own.
        var (exit, _, log) = await RunAsync(Settings());

        Assert.Equal(0, exit);
        Assert.Equal(PrivateFiles.FolderMode, File.GetUnixFileMode(Data));
        foreach (var folder in Directory.EnumerateDirectories(Data, "*", SearchOption.AllDirectories))
        {
            Assert.True(File.GetUnixFileMode(folder) == PrivateFiles.FolderMode, $"{folder}: {PrivateFiles.Octal(File.GetUnixFileMode(folder))}");
        }

        var files = Directory.EnumerateFiles(Data, "*", SearchOption.AllDirectories).ToList();
        Assert.Contains(Path.Combine(Data, "berth.db"), files);
        Assert.Contains(files, f => f.Contains("token-signing-", StringComparison.Ordinal));
        foreach (var file in files)
        {
            Assert.True(File.GetUnixFileMode(file) == PrivateFiles.FileMode, $"{file}: {PrivateFiles.Octal(File.GetUnixFileMode(file))}");
        }

        Assert.DoesNotContain(log, l => l.Contains("open to other users", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("folder")]
    [InlineData("database")]
    public async Task RunAsync_DataFolderOpenToOthers_WarnsOnceWithTheFix(string what)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Assert.Equal(0, (await RunAsync(Settings())).Exit);
        var open = UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        if (what == "folder")
        {
            File.SetUnixFileMode(Data, PrivateFiles.FolderMode | open | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        else
        {
            File.SetUnixFileMode(Path.Combine(Data, "berth.db"), PrivateFiles.FileMode | open);
        }

        var (exit, _, log) = await RunAsync(Settings());

        Assert.Equal(0, exit);
        var warning = Assert.Single(log, l => l.Contains("open to other users", StringComparison.Ordinal));
        Assert.Contains($"chmod -R go-rwx {Data}", warning, StringComparison.Ordinal);
        Assert.Contains(what == "folder" ? "the folder has mode 0755" : "berth.db has mode 0644", warning, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', warning);
    }

    [Fact]
    public void WhyNotBerthData_FolderWithADatabase_IsNull()
    {
        Directory.CreateDirectory(Data);
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(Data, "berth.db")};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE t (x)";
            command.ExecuteNonQuery();
        }

        Assert.Null(DataFolder.WhyNotBerthData(Data));
        Assert.Contains("holds no Berth data", DataFolder.WhyNotBerthData(_root), StringComparison.Ordinal);
    }

    /// <summary>A self-signed certificate for <paramref name="host"/> and its key, as PEM files.</summary>
    private (string Cert, string Key) WriteCertificate(string host, string name = "server")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certPath = PathOf(name + "-cert.pem");
        var keyPath = PathOf(name + "-key.pem");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    /// <summary>Every log line, as <c>Category[EventId] message</c>.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{category}[{eventId.Id}] {formatter(state, exception)}");
        }
    }
}
