using System.Text.RegularExpressions;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests.Docker;

/// <summary>
/// A person at one machine: the docker CLI talking to <see cref="Engine"/>, with a <c>~/.docker</c> of its own
/// (<c>DOCKER_CONFIG</c>, empty until <c>docker login</c> writes <c>config.json</c>), so credentials never come from
/// the machine's user or another test. Builds use the classic builder (<c>DOCKER_BUILDKIT=0</c>), which Debian's
/// docker.io has. Commands return their result whatever the exit code, so refusals can be checked.
/// </summary>
public sealed partial class DockerClient : IDisposable
{
    private readonly TempDirectory _home = new("docker-config");

    public DockerClient(DockerEngine engine) => Engine = engine;

    public DockerEngine Engine { get; }

    /// <summary>This client's <c>DOCKER_CONFIG</c> (what <c>~/.docker</c> is to a user).</summary>
    public string ConfigDirectory => _home.Path;

    /// <summary><c>DOCKER_CONFIG/config.json</c>, as <c>docker login</c> writes it.</summary>
    public string ConfigFile => _home.Sub("config.json");

    public IReadOnlyDictionary<string, string?> Environment => new Dictionary<string, string?>
    {
        ["DOCKER_HOST"] = Engine.Host,
        ["DOCKER_CONFIG"] = ConfigDirectory,
        ["DOCKER_BUILDKIT"] = "0",
        ["DOCKER_CLI_HINTS"] = "false",
        ["DOCKER_CONTEXT"] = null,
        ["DOCKER_TLS_VERIFY"] = null,
        ["DOCKER_CERT_PATH"] = null,
    };

    /// <summary><c>docker ARGUMENTS</c>; the result whatever the exit code.</summary>
    public Task<ProcessResult> RunAsync(params string[] arguments) => RunAsync(arguments, null);

    /// <summary><c>docker ARGUMENTS</c> with <paramref name="standardInput"/>; the result whatever the exit code.</summary>
    public Task<ProcessResult> RunAsync(IEnumerable<string> arguments, string? standardInput, TimeSpan? timeout = null, string? workingDirectory = null) =>
        Engine.RunAsync(Environment, arguments, standardInput, timeout ?? TimeSpan.FromMinutes(5), workingDirectory);

    /// <summary><c>docker ARGUMENTS</c>, which must succeed; a failure carries the output and the daemon's log.</summary>
    public async Task<ProcessResult> CheckedAsync(params string[] arguments)
    {
        var result = await RunAsync(arguments);
        Assert.True(result.ExitCode == 0, $"docker on engine {Engine.Name} failed\n{result.Describe()}\ndockerd log (tail):\n{Engine.LogTail(15)}");
        return result;
    }

    /// <summary><c>echo SECRET | docker login HOST -u USER --password-stdin</c>, as the lab and the README do it.</summary>
    public Task<ProcessResult> LoginAsync(string host, string user, string secret) =>
        RunAsync(["login", host, "-u", user, "--password-stdin"], secret + "\n");

    /// <summary><c>docker push</c>, which must succeed; what it printed per layer and the digest it reported.</summary>
    public async Task<PushReport> PushAsync(string reference)
    {
        var result = await CheckedAsync("push", reference);
        return PushReport.Parse(result);
    }

    /// <summary>The config digest (<c>sha256:…</c>) of a local image, which docker calls its ID.</summary>
    public async Task<string> ImageIdAsync(string reference) =>
        (await CheckedAsync("image", "inspect", "--format", "{{.Id}}", reference)).StandardOutputText.Trim();

    /// <summary><c>docker image inspect --format FORMAT</c>, trimmed.</summary>
    public async Task<string> InspectAsync(string reference, string format) =>
        (await CheckedAsync("image", "inspect", "--format", format, reference)).StandardOutputText.Trim();

    public void Dispose() => _home.Dispose();
}

/// <summary>What <c>docker push</c> printed: each layer's outcome and the pushed manifest's digest and size.</summary>
public sealed partial record PushReport(IReadOnlyDictionary<string, string> Layers, string Tag, string Digest, long Size, string Output)
{
    /// <summary>Layers docker uploaded.</summary>
    public IReadOnlyList<string> Pushed => Layers.Where(l => l.Value == "Pushed").Select(l => l.Key).ToList();

    /// <summary>Layers the registry already had in the repository (a HEAD answered 200).</summary>
    public IReadOnlyList<string> AlreadyExisted => Layers.Where(l => l.Value == "Layer already exists").Select(l => l.Key).ToList();

    /// <summary>Layers mounted from another repository, with the repository docker named.</summary>
    public IReadOnlyDictionary<string, string> Mounted => Layers.Where(l => l.Value.StartsWith("Mounted from ", StringComparison.Ordinal))
        .ToDictionary(l => l.Key, l => l.Value["Mounted from ".Length..]);

    public static PushReport Parse(ProcessResult result)
    {
        var output = result.StandardOutputText;
        var layers = new Dictionary<string, string>();
        foreach (Match match in LayerLine().Matches(output))
        {
            layers[match.Groups["id"].Value] = match.Groups["status"].Value.Trim();
        }

        var digest = DigestLine().Match(output);
        Assert.True(digest.Success, $"docker push printed no digest line\n{result.Describe()}");
        return new PushReport(layers, digest.Groups["tag"].Value, digest.Groups["digest"].Value, long.Parse(digest.Groups["size"].Value, System.Globalization.CultureInfo.InvariantCulture), output);
    }

    // Progress lines are rewritten in place on a terminal; without one docker prints each final state on a line.
    [GeneratedRegex(@"^(?<id>[0-9a-f]{12}): (?<status>Pushed|Layer already exists|Mounted from \S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex LayerLine();

    [GeneratedRegex(@"^(?<tag>\S+): digest: (?<digest>sha256:[0-9a-f]{64}) size: (?<size>\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex DigestLine();
}

/// <summary>What docker prints when the registry refuses.</summary>
public static partial class DockerAssert
{
    /// <summary>
    /// The command failed and docker's <c>denied: …</c> line (the registry's <c>error_description</c>, or its DENIED
    /// error) is there; returns the text after <c>denied: </c>. docker prints it last, alone after a refused blob
    /// upload or pull, or in an <c>errors:</c> list after a refused manifest PUT.
    /// </summary>
    public static string Denied(ProcessResult result)
    {
        Assert.True(result.ExitCode != 0, $"expected docker to be refused, but it succeeded\n{result.Describe()}");
        var denied = result.StandardError.Split('\n').Select(l => DeniedLine().Match(l.Trim())).LastOrDefault(m => m.Success);
        Assert.True(denied is not null, $"expected a 'denied: ' line from docker\n{result.Describe()}");
        return denied.Groups["message"].Value;
    }

    // "denied: MESSAGE" alone (push), or after docker's own words ("pull access denied for …: denied: MESSAGE"); not
    // the "unauthorized: …" line of an errors: list, although the message in it may say "is denied: ".
    [GeneratedRegex(@"^(?:.*?: )?denied: (?<message>.*)$")]
    private static partial Regex DeniedLine();

    /// <summary>The last non-empty line docker wrote to standard error.</summary>
    public static string LastErrorLine(ProcessResult result) =>
        result.StandardError.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0) ?? string.Empty;
}
