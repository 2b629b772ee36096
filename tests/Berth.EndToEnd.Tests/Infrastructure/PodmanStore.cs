using System.Text.Json;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// podman with its own throw-away storage (vfs driver, temporary root, runroot and tmpdir), so tests neither see nor
/// touch the machine's images and can run side by side. Only pull, push and inspect are used: no containers are run.
/// </summary>
public sealed class PodmanStore : IDisposable
{
    private readonly TempDirectory _directory = new("podman");

    // podman refuses a runroot longer than 50 characters, so it cannot live under the per-run temp folder.
    private readonly string _runRoot = Directory.CreateTempSubdirectory("bpod-").FullName;

    public Task<ProcessResult> RunAsync(params string[] arguments) =>
        ProcessRunner.RunCheckedAsync(ExternalTools.Podman, Arguments(arguments), environment: Environment());

    /// <summary>Like <see cref="RunAsync"/>, but returns the result whatever the exit code (to check refusals).</summary>
    public Task<ProcessResult> TryRunAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(ExternalTools.Podman, Arguments(arguments), environment: Environment());

    /// <summary>The containers auth file podman uses (login, push, pull); default: the administrator's of every test server.</summary>
    public string? AuthFile { get; set; }

    /// <summary>More environment variables for podman (e.g. to keep the user's own auth files out).</summary>
    public IReadOnlyDictionary<string, string?>? ExtraEnvironment { get; init; }

    private string[] Arguments(string[] arguments) =>
    [
        "--storage-driver=vfs", "--root", _directory.Sub("root"), "--runroot", _runRoot,
        "--tmpdir", _directory.Sub("tmp"), "--cgroup-manager=cgroupfs", "--events-backend=none", .. arguments,
    ];

    private Dictionary<string, string?> Environment()
    {
        var environment = new Dictionary<string, string?>(ExtraEnvironment ?? new Dictionary<string, string?>())
        {
            ["TMPDIR"] = _directory.Path,
            [RegistryAuth.Variable] = AuthFile ?? RegistryAuth.FilePath,
        };
        return environment;
    }

    /// <summary><c>podman pull</c> over plain HTTP; returns the image id podman prints (the config digest's hex).</summary>
    public async Task<string> PullAsync(string reference, params string[] options) =>
        (await RunAsync(["pull", "--quiet", "--tls-verify=false", .. options, reference])).StandardOutputText.Trim();

    /// <summary><c>podman push</c> of a local image to <paramref name="destination"/>; returns the manifest digest podman reports.</summary>
    public async Task<string> PushAsync(string source, string destination)
    {
        var digestFile = _directory.Sub($"digest-{Guid.NewGuid():N}");
        await RunAsync("push", "--quiet", "--tls-verify=false", "--digestfile", digestFile, source, destination);
        return (await File.ReadAllTextAsync(digestFile)).Trim();
    }

    /// <summary>The image id (config digest hex) of a local image.</summary>
    public async Task<string> ImageIdAsync(string reference) =>
        (await RunAsync("image", "inspect", "--format", "{{.Id}}", reference)).StandardOutputText.Trim();

    /// <summary>The diff_ids podman recorded when it unpacked (and verified) the layers of a local image.</summary>
    public async Task<IReadOnlyList<string>> DiffIdsAsync(string reference)
    {
        var json = (await RunAsync("image", "inspect", "--format", "{{json .RootFS.Layers}}", reference)).StandardOutputText;
        return JsonSerializer.Deserialize<List<string>>(json) ?? [];
    }

    public void Dispose()
    {
        _directory.Dispose();
        TempDirectory.DeleteQuietly(_runRoot);
    }
}
