using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Client;

namespace Berth.Tests.Client;

/// <summary><c>berth login</c> and <c>logout</c>: the check against /api/v1/me and the credentials file.</summary>
public sealed class ClientLoginTests : IDisposable
{
    private const string Password = "Alice-Pa55word!";

    private readonly ClientHarness _harness = new(loggedIn: false);

    public void Dispose() => _harness.Dispose();

    private Task<RunResult> LoginAsync(string url = "https://berth.test") =>
        _harness.RunWithInputAsync(Password + "\n", "login", url, "-u", "alice", "--password-stdin");

    [Fact]
    public async Task Login_Ok_ChecksMeWithBasicAuthAndPrintsLoginSucceeded()
    {
        var result = await LoginAsync();

        Assert.Equal(0, result.Exit);
        Assert.Equal("Login Succeeded\n", result.Out);
        Assert.Equal("", result.Error);
        var request = _harness.Api.Single();
        Assert.Equal("GET", request.Method);
        Assert.Equal("https://berth.test/api/v1/me", request.Uri.AbsoluteUri);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"alice:{Password}")), request.Authorization);
    }

    [Fact]
    public async Task Login_Ok_StoresUrlUserAndSecretAsTheContractSays()
    {
        await LoginAsync("berth.test/");

        var file = JsonNode.Parse(File.ReadAllText(_harness.CredentialsPath))!;
        Assert.Equal("https://berth.test", (string?)file["current"]);
        var login = Assert.Single(file["logins"]!.AsArray())!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($$"""{"url":"https://berth.test","user":"alice","secret":"{{Password}}"}"""), login));
    }

    [Fact]
    public async Task Login_Ok_FileIs0600AndFolder0700WithNoTemporaryFileLeft()
    {
        Assert.False(Directory.Exists(_harness.ConfigDirectory));

        await LoginAsync();

        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_harness.CredentialsPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_harness.ConfigDirectory));
        Assert.Equal([CredentialStore.FileName], Directory.GetFiles(_harness.ConfigDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Login_Again_RewritesTheFileKeepingMode0600()
    {
        await LoginAsync();
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_harness.CredentialsPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        }

        await LoginAsync("http://second.test:5000");

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_harness.CredentialsPath));
        }

        var store = new CredentialStore(_harness.ConfigDirectory);
        Assert.Equal("http://second.test:5000", store.Read().Current);
        Assert.Equal(["https://berth.test", "http://second.test:5000"], store.Read().Logins.Select(l => l.Url));
    }

    [Fact]
    public async Task Login_PasswordNeverPrinted()
    {
        var result = await LoginAsync();
        var failed = await _harness.RunWithInputAsync(Password + "\n", "login", "https://berth.test", "-u", "alice", "--password-stdin", "--bogus");

        Assert.DoesNotContain(Password, result.Out + result.Error + failed.Out + failed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_WrongPassword_SaysSoExitsOneAndStoresNothing()
    {
        _harness.Api.Answer("/api/v1/me", HttpStatusCode.Unauthorized, """{"type":"about:blank","title":"Unauthorized","status":401}""", "application/problem+json");

        var result = await LoginAsync();

        Assert.Equal(1, result.Exit);
        Assert.Equal("", result.Out);
        Assert.Equal("berth: login failed: wrong user name or password\n", result.Error);
        Assert.False(File.Exists(_harness.CredentialsPath));
    }

    [Fact]
    public async Task Login_Throttled_ShowsTheProblemAndRetryAfter()
    {
        _harness.Api.Respond = _ =>
        {
            var response = FakeManagementApi.Problem((HttpStatusCode)429, "Too Many Requests", "too many failed logins for alice");
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(30));
            return response;
        };

        var result = await LoginAsync();

        Assert.Equal(1, result.Exit);
        Assert.Equal("berth: too many failed logins for alice (HTTP 429; retry in 30 s)\n", result.Error);
    }

    [Fact]
    public async Task Login_PasswordOnCommandLine_WarnsWithoutRepeatingIt()
    {
        var result = await _harness.RunAsync("login", "https://berth.test", "-u", "alice", "-p", Password);

        Assert.Equal(0, result.Exit);
        Assert.Contains("WARNING! A password on the command line is visible to other users", result.Error, StringComparison.Ordinal);
        Assert.Contains("--password-stdin", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, result.Error + result.Out, StringComparison.Ordinal);
        Assert.Equal(Password, new CredentialStore(_harness.ConfigDirectory).Find("https://berth.test")!.Secret);
    }

    [Fact]
    public async Task Login_OnATerminal_AsksForUserWithEchoAndPasswordWithout()
    {
        _harness.Prompts = new Queue<string>(["alice", Password]);

        var result = await _harness.RunAsync("login", "https://berth.test");

        Assert.Equal(0, result.Exit);
        Assert.Equal([("Username: ", true), ("Password: ", false)], _harness.Asked);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"alice:{Password}")), _harness.Api.Single().Authorization);
    }

    [Fact]
    public async Task Login_PasswordStdin_ReadsOnlyTheFirstLine()
    {
        var result = await _harness.RunWithInputAsync(Password + "\r\nsecond line\n", "login", "https://berth.test", "-u", "alice", "--password-stdin");

        Assert.Equal(0, result.Exit);
        Assert.Equal(Password, new CredentialStore(_harness.ConfigDirectory).Find("https://berth.test")!.Secret);
    }

    [Fact]
    public async Task Logout_RemovesTheEntryAndFallsBackToThePreviousLogin()
    {
        await LoginAsync("https://first.test");
        await LoginAsync("https://second.test");

        var result = await _harness.RunAsync("logout");

        Assert.Equal(0, result.Exit);
        Assert.Equal("Removed the login for https://second.test\n", result.Out);
        var file = new CredentialStore(_harness.ConfigDirectory).Read();
        Assert.Equal("https://first.test", file.Current);
        Assert.Equal(["https://first.test"], file.Logins.Select(l => l.Url));
        Assert.DoesNotContain("second.test", File.ReadAllText(_harness.CredentialsPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logout_Url_RemovesThatEntryOnly()
    {
        await LoginAsync("https://first.test");
        await LoginAsync("https://second.test");

        var result = await _harness.RunAsync("logout", "first.test");

        Assert.Equal(0, result.Exit);
        var file = new CredentialStore(_harness.ConfigDirectory).Read();
        Assert.Equal("https://second.test", file.Current);
        Assert.Equal(["https://second.test"], file.Logins.Select(l => l.Url));
    }

    [Fact]
    public async Task Logout_Last_LeavesNoDefaultServer()
    {
        await LoginAsync();
        await _harness.RunAsync("logout", "https://berth.test");

        var result = await _harness.RunAsync("project", "list");

        Assert.Equal(1, result.Exit);
        Assert.Equal("berth: not logged in to any server; run berth login URL (or pass --server URL)\n", result.Error);
    }

    [Fact]
    public async Task Logout_NotLoggedIn_SaysSo()
    {
        var result = await _harness.RunAsync("logout", "https://nowhere.test");

        Assert.Equal(0, result.Exit);
        Assert.Equal("Not logged in to https://nowhere.test\n", result.Out);
    }

    [Fact]
    public async Task CredentialsFile_Invalid_SaysHowToRecover()
    {
        Directory.CreateDirectory(_harness.ConfigDirectory);
        await File.WriteAllTextAsync(_harness.CredentialsPath, "{not json");

        var result = await _harness.RunAsync("whoami");

        Assert.Equal(1, result.Exit);
        Assert.Contains("is not valid; remove it and log in again", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_ConfigFolderIsAFile_ReportsItWithoutAStackTrace()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_harness.ConfigDirectory)!);
        await File.WriteAllTextAsync(_harness.ConfigDirectory, "not a folder");

        var result = await LoginAsync();

        Assert.Equal(1, result.Exit);
        Assert.StartsWith("berth: ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", result.Error, StringComparison.Ordinal);
    }
}
