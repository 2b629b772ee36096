using System.Text.Json;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests.Docker;

/// <summary>
/// The <c>berth</c> command as one person runs it (<c>dotnet berth.dll ARGS</c>): its stored login lives in a config
/// folder of its own (<c>BERTH_CONFIG_DIR</c>), so the administrator and alice can be signed in side by side, and no
/// <c>BERTH_*</c> setting of the machine leaks in.
/// </summary>
public sealed class BerthCli : IDisposable
{
    private readonly TempDirectory _config = new("berth-cli");

    /// <summary><c>berth ARGUMENTS</c> with <paramref name="standardInput"/>; must exit 0; returns standard output.</summary>
    public async Task<string> RunAsync(string? standardInput, params string[] arguments)
    {
        var result = await TryRunAsync(standardInput, arguments);
        Assert.True(result.ExitCode == 0, $"berth {string.Join(' ', arguments)} failed\n{result.Describe()}");
        return result.StandardOutputText;
    }

    /// <summary><c>berth ARGUMENTS</c> with <paramref name="standardInput"/>, whatever its exit code.</summary>
    public async Task<ProcessResult> TryRunAsync(string? standardInput, params string[] arguments)
    {
        var environment = new Dictionary<string, string?>
        {
            ["BERTH_CONFIG_DIR"] = _config.Path,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        foreach (var key in System.Environment.GetEnvironmentVariables().Keys.OfType<string>().Where(k => k.StartsWith("BERTH_", StringComparison.Ordinal) && k != "BERTH_CONFIG_DIR"))
        {
            environment[key] = null;
        }

        return await ProcessRunner.RunAsync(BerthProcess.DotnetHost(), [BerthProcess.ServerAssemblyPath(), .. arguments],
            TimeSpan.FromMinutes(2), environment, _config.Path, standardInput);
    }

    /// <summary><c>echo PASSWORD | berth login URL -u USER --password-stdin</c>.</summary>
    public Task<string> LoginAsync(BerthProcess server, string user, string password) =>
        RunAsync(password + "\n", "login", server.BaseAddress.ToString().TrimEnd('/'), "-u", user, "--password-stdin");

    /// <summary>
    /// <c>berth token create --name NAME --scope SCOPE --project PROJECT --expires 30d --output json</c>; the secret
    /// (<c>berth_pat_…</c>) from its JSON.
    /// </summary>
    public async Task<string> CreateTokenAsync(string name, string scope, string project)
    {
        var json = await RunAsync(null, "token", "create", "--name", name, "--scope", scope, "--project", project, "--expires", "30d", "--output", "json");
        using var document = JsonDocument.Parse(json);
        var token = document.RootElement.GetProperty("token").GetString();
        Assert.True(token is not null && token.StartsWith("berth_pat_", StringComparison.Ordinal), $"no token in: {json}");
        Assert.Equal(scope, document.RootElement.GetProperty("scope").GetString());
        return token;
    }

    public void Dispose() => _config.Dispose();
}
