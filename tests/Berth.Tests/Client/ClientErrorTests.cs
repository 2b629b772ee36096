using System.Net;
using System.Net.Sockets;

namespace Berth.Tests.Client;

/// <summary>What the user sees when the server or the network says no: stderr, exit 1, no secrets.</summary>
public sealed class ClientErrorTests : IDisposable
{
    private readonly ClientHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task ProblemDetails_PrintsDetailAndStatus_ExitsOne()
    {
        _harness.Api.Respond = _ => FakeManagementApi.Problem(HttpStatusCode.NotFound, "Not Found", "project 'web' does not exist");

        var result = await _harness.RunAsync("project", "show", "web");

        Assert.Equal(1, result.Exit);
        Assert.Equal("", result.Out);
        Assert.Equal("berth: project 'web' does not exist (HTTP 404)\n", result.Error);
    }

    [Fact]
    public async Task ProblemDetails_WithoutDetail_PrintsTitle()
    {
        _harness.Api.Respond = _ => FakeManagementApi.Problem(HttpStatusCode.Conflict, "The project has repositories");

        var result = await _harness.RunAsync("project", "delete", "web");

        Assert.Equal(1, result.Exit);
        Assert.Equal("berth: The project has repositories (HTTP 409)\n", result.Error);
    }

    [Fact]
    public async Task ValidationProblem_ListsTheFieldErrors()
    {
        _harness.Api.Respond = _ => FakeManagementApi.Json(HttpStatusCode.BadRequest,
            """{"type":"about:blank","title":"One or more validation errors occurred.","status":400,"errors":{"name":["must be lower case","is too long"],"expires":["more than 365 days"]}}""",
            "application/problem+json");

        var result = await _harness.RunAsync("token", "create", "--name", "CI", "--scope", "pull", "--expires", "400d");

        Assert.Equal(1, result.Exit);
        Assert.Equal(
            "berth: One or more validation errors occurred. (HTTP 400)\n  name: must be lower case\n  name: is too long\n  expires: more than 365 days\n",
            result.Error);
    }

    [Fact]
    public async Task Forbidden_PrintsTheProblem()
    {
        _harness.Api.Respond = _ => FakeManagementApi.Problem(HttpStatusCode.Forbidden, "Forbidden", "only server administrators may create projects");

        var result = await _harness.RunAsync("project", "create", "web");

        Assert.Equal((1, "berth: only server administrators may create projects (HTTP 403)\n"), (result.Exit, result.Error));
    }

    [Fact]
    public async Task Unauthorized_WithAStoredLogin_SaysToLogInAgain_WithoutTheSecret()
    {
        _harness.Api.Respond = _ => FakeManagementApi.Problem(HttpStatusCode.Unauthorized, "Unauthorized");

        var result = await _harness.RunAsync("user", "list");

        Assert.Equal(1, result.Exit);
        Assert.Equal("berth: not logged in to https://berth.test or the credentials were refused; run berth login https://berth.test\n", result.Error);
        Assert.DoesNotContain(ClientHarness.AdminPassword, result.Out + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ErrorThatIsNotJson_PrintsTheStatus()
    {
        _harness.Api.Respond = _ => FakeManagementApi.Json(HttpStatusCode.BadGateway, "<html>bad gateway</html>", "text/html");

        var result = await _harness.RunAsync("project", "list");

        Assert.Equal((1, "berth: Bad Gateway (HTTP 502)\n"), (result.Exit, result.Error));
    }

    [Fact]
    public async Task SuccessThatIsNotJson_SaysItIsNoBerthServer()
    {
        _harness.Api.Respond = _ => FakeManagementApi.Json(HttpStatusCode.OK, "<html>welcome to nginx</html>", "text/html");

        var result = await _harness.RunAsync("whoami");

        Assert.Equal(1, result.Exit);
        Assert.Contains("is it a Berth server?", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectionRefused_NamesTheUrl()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var handler = new SocketsHttpHandler();
        _harness.Handler = handler;

        var result = await _harness.RunAsync("project", "list", "--server", $"http://127.0.0.1:{port}");

        Assert.Equal(1, result.Exit);
        Assert.Equal($"berth: cannot connect to http://127.0.0.1:{port}: connection refused (is the server running, and is the URL right?)\n", result.Error);
    }

    [Fact]
    public async Task LoginConnectionRefused_NamesTheUrl_AndStoresNothing()
    {
        using var empty = new ClientHarness(loggedIn: false);
        empty.Api.Respond = _ => throw new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused));

        var result = await empty.RunWithInputAsync("pw\n", "login", "http://127.0.0.1:9", "-u", "alice", "--password-stdin");

        Assert.Equal(1, result.Exit);
        Assert.StartsWith("berth: cannot connect to http://127.0.0.1:9: connection refused", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(empty.CredentialsPath));
    }
}
