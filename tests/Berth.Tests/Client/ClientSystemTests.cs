using System.Net.Http.Json;
using System.Text.Json;
using Berth.Client;
using Berth.Testing;

namespace Berth.Tests.Client;

/// <summary><c>berth system storage</c> against the real server in memory (its data folder's file system).</summary>
public sealed class ClientSystemTests : IDisposable
{
    private const string Url = "http://localhost";
    private readonly BerthApplication _app = new(new Dictionary<string, string?> { ["Berth:Storage:Type"] = "filesystem", ["Berth:Storage:FileSystem:ReserveBytes"] = "1024" })
    {
        DefaultCredentials = null,
    };

    private readonly string _config = Directory.CreateTempSubdirectory("berth-cli-system-").FullName;

    public void Dispose()
    {
        _app.Dispose();
        Directory.Delete(_config, recursive: true);
    }

    private async Task<(int Exit, string Out, string Error)> Run(string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new ClientContext
        {
            Handler = _app.Server.CreateHandler(),
            In = new StringReader(stdin),
            Out = output,
            Error = error,
            ConfigDirectory = _config,
        };
        var exit = await ClientCli.RunAsync(args, context);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task SystemStorage_Administrator_ShowsFreeSpaceAndReserve()
    {
        var login = await Run(BerthApplication.AdminPassword + "\n", "login", Url, "-u", BerthApplication.AdminUser, "--password-stdin");
        Assert.True(login.Exit == 0, login.Error);

        var table = await Run(string.Empty, "system", "storage");
        var json = await Run(string.Empty, "system", "storage", "--output", "json");

        Assert.True(table.Exit == 0, table.Error);
        Assert.Contains("RESERVE", table.Out, StringComparison.Ordinal);
        Assert.Contains("1.0 KiB", table.Out, StringComparison.Ordinal);
        Assert.Contains("accepted", table.Out, StringComparison.Ordinal);
        Assert.True(json.Exit == 0, json.Error);
        using var document = JsonDocument.Parse(json.Out);
        var root = document.RootElement;
        Assert.Equal("filesystem", root.GetProperty("storage").GetString());
        Assert.True(root.GetProperty("measured").GetBoolean());
        Assert.Equal(1024, root.GetProperty("reserveBytes").GetInt64());
        Assert.False(root.GetProperty("reserveReached").GetBoolean());
        Assert.True(root.GetProperty("freeBytes").GetInt64() > 0);
        Assert.True(root.GetProperty("totalBytes").GetInt64() >= root.GetProperty("freeBytes").GetInt64());
    }

    [Fact]
    public async Task SystemStorage_NotAnAdministrator_Refused()
    {
        var admin = _app.CreateClient(BerthApplication.AdminUser, BerthApplication.AdminPassword);
        using (var created = await admin.PostAsync("/api/v1/users", JsonContent.Create(new { name = "bob", password = "bobs-password-1" })))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        var login = await Run("bobs-password-1\n", "login", Url, "-u", "bob", "--password-stdin");
        Assert.True(login.Exit == 0, login.Error);

        var result = await Run(string.Empty, "system", "storage");

        Assert.NotEqual(0, result.Exit);
        Assert.Contains("403", result.Error + result.Out, StringComparison.Ordinal);
    }
}
