using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Berth.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests.Client;

/// <summary>
/// <c>berth login --ca-cert FILE</c> and <c>--insecure</c> against the real server over HTTPS with a self-signed
/// certificate (for the IP address 127.0.0.1 only): refused with the TLS reason without them, trusted with them, and
/// remembered for the commands that follow.
/// </summary>
public sealed class ClientTlsTests : IAsyncLifetime
{
    private const string Password = "client-tls-password";

    private readonly string _root = Directory.CreateTempSubdirectory("berth-cli-tls-").FullName;
    private WebApplication _app = null!;
    private int _port;

    private string Url => $"https://127.0.0.1:{_port}";

    private string CertificatePath => Path.Combine(_root, "server-cert.pem");

    private string ConfigDirectory => Path.Combine(_root, "config");

    public async Task InitializeAsync()
    {
        var keyPath = Path.Combine(_root, "server-key.pem");
        WriteSelfSigned(CertificatePath, keyPath, "berth-test", IPAddress.Loopback);
        _app = Berth.Testing.MigratedServer.Build(new Dictionary<string, string?>
        {
            ["Berth:Data"] = Path.Combine(_root, "data"),
            ["Berth:Listen"] = "https://127.0.0.1:0",
            ["Berth:TlsCertificate"] = CertificatePath,
            ["Berth:TlsKey"] = keyPath,
            ["Berth:AdminPassword"] = Password,
            ["Berth:Auth:Passwords:Iterations"] = "1000",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await _app.StartAsync();
        _port = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private async Task<RunResult> RunAsync(string stdin, params string[] args)
    {
        using var handler = new SocketsHttpHandler();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new ClientContext
        {
            Handler = handler,
            TrustingHandler = ClientTls.CreateHandler,
            In = new StringReader(stdin),
            Out = output,
            Error = error,
            ConfigDirectory = ConfigDirectory,
        };
        var exit = await ClientCli.RunAsync(args, context);
        return new RunResult(exit, output.ToString(), error.ToString());
    }

    private Task<RunResult> LoginAsync(string url, params string[] extra) =>
        RunAsync(Password + "\n", ["login", url, "-u", "admin", "--password-stdin", .. extra]);

    private JsonNode StoredLogin() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(ConfigDirectory, CredentialStore.FileName)))!["logins"]!.AsArray().Single()!;

    [Fact]
    public async Task Login_SelfSignedWithoutCaCert_FailsWithTheTlsReasonAndTheWayOut()
    {
        var result = await LoginAsync(Url);

        Assert.Equal(1, result.Exit);
        Assert.Contains($"cannot connect to {Url}: TLS failed: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("UntrustedRoot", result.Error, StringComparison.Ordinal);
        Assert.Contains($"berth login {Url} --ca-cert FILE", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("see inner exception", result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(Path.Combine(ConfigDirectory, CredentialStore.FileName)));
    }

    [Fact]
    public async Task Login_WithCaCert_SucceedsAndLaterCommandsTrustTheServerToo()
    {
        var login = await LoginAsync(Url, "--ca-cert", CertificatePath);

        Assert.True(login.Exit == 0, login.Error);
        Assert.Equal("Login Succeeded\n", login.Out);
        Assert.Equal(CertificatePath, (string?)StoredLogin()["caCert"]);
        Assert.Null(StoredLogin()["insecure"]);
        var whoami = await RunAsync(string.Empty, "whoami");
        Assert.True(whoami.Exit == 0, whoami.Error);
        Assert.Contains("admin", whoami.Out, StringComparison.Ordinal);
        var project = await RunAsync(string.Empty, "project", "create", "shop");
        Assert.True(project.Exit == 0, project.Error);
    }

    [Fact]
    public async Task Login_AgainWithoutFlags_KeepsTheStoredCaCert()
    {
        Assert.Equal(0, (await LoginAsync(Url, "--ca-cert", CertificatePath)).Exit);

        var again = await LoginAsync(Url);

        Assert.True(again.Exit == 0, again.Error);
        Assert.Equal(CertificatePath, (string?)StoredLogin()["caCert"]);
    }

    [Fact]
    public async Task Login_CaCertOfAnotherAuthority_FailsSayingTheChainDoesNotLeadToIt()
    {
        var other = Path.Combine(_root, "other-ca.pem");
        WriteSelfSigned(other, Path.Combine(_root, "other-key.pem"), "someone else", IPAddress.Loopback);

        var result = await LoginAsync(Url, "--ca-cert", other);

        Assert.Equal(1, result.Exit);
        Assert.Contains($"does not chain to a certificate in {other}", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_CaCertButAnotherHostName_FailsSayingTheNameDoesNotMatch()
    {
        var result = await LoginAsync($"https://localhost:{_port}", "--ca-cert", CertificatePath);

        Assert.Equal(1, result.Exit);
        Assert.Contains("not for this host name", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_Insecure_SucceedsWithAWarningAndIsRemembered()
    {
        var login = await LoginAsync(Url, "--insecure");

        Assert.True(login.Exit == 0, login.Error);
        Assert.Contains("WARNING! --insecure", login.Error, StringComparison.Ordinal);
        Assert.True((bool?)StoredLogin()["insecure"]);
        Assert.Null(StoredLogin()["caCert"]);
        var whoami = await RunAsync(string.Empty, "whoami");
        Assert.True(whoami.Exit == 0, whoami.Error);
    }

    [Theory]
    [InlineData("--insecure", "--ca-cert", "cannot be used together")]
    [InlineData("--ca-cert", null, "for https:// servers only")]
    public async Task Login_FlagMistakes_AreUsageErrors(string first, string? second, string expected)
    {
        string[] flags = second is null ? [first, CertificatePath] : [first, second, CertificatePath];
        var url = second is null ? $"http://127.0.0.1:{_port}" : Url;

        var result = await LoginAsync(url, flags);

        Assert.Equal(2, result.Exit);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_CaCertFileMissingOrNotACertificate_SaysSo()
    {
        var missing = Path.Combine(_root, "missing.pem");
        var garbage = Path.Combine(_root, "garbage.pem");
        await File.WriteAllTextAsync(garbage, "hello");

        var noFile = await LoginAsync(Url, "--ca-cert", missing);
        var noCertificate = await LoginAsync(Url, "--ca-cert", garbage);

        Assert.Equal(1, noFile.Exit);
        Assert.Contains($"--ca-cert {missing}: cannot be read", noFile.Error, StringComparison.Ordinal);
        Assert.Equal(1, noCertificate.Exit);
        Assert.Contains($"--ca-cert {garbage}: holds no certificate", noCertificate.Error, StringComparison.Ordinal);
    }

    private static void WriteSelfSigned(string certPath, string keyPath, string name, IPAddress address)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
    }
}
