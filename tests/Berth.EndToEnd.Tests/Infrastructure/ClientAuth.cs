using System.Text;
using System.Text.Json.Nodes;
using Berth.EndToEnd.Tests.Images;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A client identity for skopeo and podman: a containers auth file of its own (<c>REGISTRY_AUTH_FILE</c>), empty
/// until <c>skopeo login</c> / <c>podman login</c> or <see cref="Write"/> fills it, instead of the administrator's
/// file (<see cref="RegistryAuth"/>). <c>DOCKER_CONFIG</c> and <c>XDG_CONFIG_HOME</c> point into its folder too, so no
/// credentials of the machine's user (<c>~/.docker/config.json</c>, <c>~/.config/containers/auth.json</c>) are used.
/// skopeo commands here return their result instead of throwing, so refusals can be checked.
/// </summary>
public sealed class ClientAuth : IDisposable
{
    private readonly TempDirectory _directory = new("client-auth");

    public ClientAuth()
    {
        File.WriteAllText(FilePath, """{"auths":{}}""");
        Directory.CreateDirectory(_directory.Sub("docker"));
        Directory.CreateDirectory(_directory.Sub("config"));
    }

    public string FilePath => _directory.Sub("auth.json");

    public IReadOnlyDictionary<string, string?> Environment => new Dictionary<string, string?>
    {
        [RegistryAuth.Variable] = FilePath,
        ["DOCKER_CONFIG"] = _directory.Sub("docker"),
        ["XDG_CONFIG_HOME"] = _directory.Sub("config"),
    };

    /// <summary>The host entries the auth file holds now.</summary>
    public IReadOnlyList<string> Hosts =>
        (JsonNode.Parse(File.ReadAllText(FilePath))?["auths"] as JsonObject)?.Select(p => p.Key).ToList() ?? [];

    /// <summary>Writes credentials for <paramref name="host"/> straight into the file (what a login would store, unchecked).</summary>
    public void Write(string host, string user, string secret)
    {
        var document = JsonNode.Parse(File.ReadAllText(FilePath))!.AsObject();
        var auths = document["auths"] as JsonObject ?? [];
        document["auths"] = auths;
        auths[host] = new JsonObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + secret)) };
        File.WriteAllText(FilePath, document.ToJsonString());
    }

    /// <summary>skopeo with this auth file; the result whatever the exit code.</summary>
    public Task<ProcessResult> SkopeoAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(ExternalTools.Skopeo, ["--insecure-policy", .. arguments], environment: Environment);

    /// <summary><c>skopeo login</c> over plain HTTP (the password as an argument: standard input is closed).</summary>
    public Task<ProcessResult> SkopeoLoginAsync(string host, string user, string secret) =>
        SkopeoAsync("login", "--tls-verify=false", "--username", user, "--password", secret, host);

    public Task<ProcessResult> SkopeoLogoutAsync(string host) => SkopeoAsync("logout", host);

    /// <summary>Copies a single-image <paramref name="image"/> to <c>docker://DESTINATION</c>, digests preserved.</summary>
    public Task<ProcessResult> PushAsync(TestImage image, string destination) =>
        SkopeoAsync("copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false", image.OciReference, $"docker://{destination}");

    /// <summary>Copies <c>docker://SOURCE</c> into the OCI layout <paramref name="layout"/> under <paramref name="tag"/>.</summary>
    public Task<ProcessResult> PullAsync(string source, string layout, string tag) =>
        SkopeoAsync("copy", "--quiet", "--preserve-digests", "--src-tls-verify=false", $"docker://{source}", $"oci:{layout}:{tag}");

    /// <summary>A podman with throw-away storage that signs in with this auth file.</summary>
    public PodmanStore Podman() => new() { AuthFile = FilePath, ExtraEnvironment = Environment };

    public void Dispose() => _directory.Dispose();
}

/// <summary>Assertions on what a client command did.</summary>
public static class ClientAssert
{
    public static void Succeeded(ProcessResult result) =>
        Assert.True(result.ExitCode == 0, $"expected success\n{result.Describe()}");

    /// <summary>
    /// The command failed (non-zero exit) and its error names the refusal with one of <paramref name="words"/>
    /// (case-insensitive), e.g. unauthorized, denied, authentication required.
    /// </summary>
    public static void Refused(ProcessResult result, params string[] words)
    {
        Assert.True(result.ExitCode != 0, $"expected a refusal, but it succeeded\n{result.Describe()}");
        Assert.True(words.Any(w => result.StandardError.Contains(w, StringComparison.OrdinalIgnoreCase)),
            $"expected the error to mention one of: {string.Join(", ", words)}\n{result.Describe()}");
    }
}
