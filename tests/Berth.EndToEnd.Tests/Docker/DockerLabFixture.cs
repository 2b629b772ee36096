using System.Diagnostics;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Berth.EndToEnd.Tests.Docker;

/// <summary>
/// The lab's world, once for every test of the <see cref="DockerCollection"/>: a Berth server as the lab runs it
/// (projects are not created by pushes), two Docker engines (<see cref="Laptop"/> builds and pushes,
/// <see cref="Server"/> is the other machine that pulls and runs) and the base images imported into the laptop's engine.
/// The application images are built on first use (<see cref="BuildAsync"/>). Anything that cannot start fails every
/// test of the collection with the reason; nothing is skipped. Disposal stops both daemons and removes their folders
/// whatever happened.
/// </summary>
public sealed class DockerLabFixture : IAsyncLifetime
{
    private readonly IMessageSink _diagnostics;
    private readonly TempDirectory _work = new("docker-lab");
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Task<object>> _arranged = [];
    private Task<LabBuild>? _build;
    private BerthProcess? _registry;
    private DockerEngine? _laptop;
    private DockerEngine? _server;

    public DockerLabFixture(IMessageSink diagnostics) => _diagnostics = diagnostics;

    /// <summary>The Berth server (<c>--auto-create-projects false</c>, the default of <c>berth serve</c>).</summary>
    public BerthProcess Registry => _registry ?? throw new InvalidOperationException("the lab was not initialised");

    /// <summary>The machine that builds, tags and pushes; it has the base images and, after <see cref="BuildAsync"/>, the application.</summary>
    public DockerEngine Laptop => _laptop ?? throw new InvalidOperationException("the lab was not initialised");

    /// <summary>The other machine: it has nothing until it pulls.</summary>
    public DockerEngine Server => _server ?? throw new InvalidOperationException("the lab was not initialised");

    /// <summary><c>127.0.0.1:PORT</c>, the registry as docker names it (docker trusts plain HTTP there).</summary>
    public string Host => Registry.Host;

    public async Task InitializeAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        var rootfs = DebianImageBuilder.SharedRootFilesystemAsync(line => Log($"[debian rootfs] {line}"));
        var registry = BerthProcess.StartAsync("--auto-create-projects", "false", ServerSetup.CacheArgument);
        var laptop = DockerEngine.StartAsync("laptop");
        var server = DockerEngine.StartAsync("server");
        try
        {
            await Task.WhenAll(registry, laptop, server);
        }
        catch
        {
            // Keep whatever started, so that DisposeAsync stops it; the failure is rethrown below.
        }

        _registry = registry.IsCompletedSuccessfully ? registry.Result : null;
        _laptop = laptop.IsCompletedSuccessfully ? laptop.Result : null;
        _server = server.IsCompletedSuccessfully ? server.Result : null;
        await registry;
        await laptop;
        await server;

        Log($"[docker lab] engines up after {stopwatch.Elapsed.TotalSeconds:F0} s: dockerd {Laptop.Version}, storage driver {Laptop.StorageDriver}");
        await rootfs;
        Log($"[docker lab] root filesystem ready after {stopwatch.Elapsed.TotalSeconds:F0} s");
        var import = Stopwatch.StartNew();
        using var builder = new DockerClient(Laptop);
        await LabImages.ImportBasesAsync(builder, _work);
        Log($"[docker lab] base images imported in {import.Elapsed.TotalSeconds:F0} s; lab ready after {stopwatch.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>Both application images on the laptop, built once (the first caller waits); the same failure for every caller.</summary>
    public Task<LabBuild> BuildAsync()
    {
        lock (_gate)
        {
            return _build ??= Task.Run(async () =>
            {
                using var builder = new DockerClient(Laptop);
                var build = await LabImages.BuildAsync(builder);
                Log($"[docker lab] docker build: multi-stage {build.MultiStageTime.TotalSeconds:F0} s, single-stage {build.SingleStageTime.TotalSeconds:F0} s");
                return build;
            });
        }
    }

    /// <summary>
    /// Runs <paramref name="arrange"/> once per <paramref name="key"/> for the whole collection (xunit makes a test class
    /// instance per test), e.g. the accounts a test class shares; every caller gets its result or its failure.
    /// </summary>
    public Task<T> OnceAsync<T>(string key, Func<Task<T>> arrange)
    {
        lock (_gate)
        {
            if (!_arranged.TryGetValue(key, out var task))
            {
                task = Task.Run(async () => (object)(await arrange())!);
                _arranged[key] = task;
            }

            return ContinueAs<T>(task);
        }
    }

    private static async Task<T> ContinueAs<T>(Task<object> task) => (T)await task;

    public async Task DisposeAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        try
        {
            await Task.WhenAll(DisposeQuietly(_laptop), DisposeQuietly(_server));
            Log($"[docker lab] engines stopped and removed in {stopwatch.Elapsed.TotalSeconds:F0} s: {_laptop?.StopReport}; {_server?.StopReport}");
        }
        finally
        {
            _work.Dispose();
            if (_registry is not null)
            {
                await _registry.DisposeAsync();
            }
        }

        if (_registry?.UnexpectedExit is not null)
        {
            throw new InvalidOperationException($"{_registry.UnexpectedExit}. Its log:\n{_registry.LogTail(60)}");
        }

        var left = new[] { _laptop, _server }.Where(e => e is not null && Directory.Exists(e.StateDirectory)).Select(e => e!.StopReport).ToList();
        if (left.Count > 0)
        {
            throw new InvalidOperationException("a Docker engine left its folder behind: " + string.Join("; ", left));
        }
    }

    private static Task DisposeQuietly(DockerEngine? engine) => engine is null ? Task.CompletedTask : engine.DisposeAsync().AsTask();

    private void Log(string message) => _diagnostics.OnMessage(new DiagnosticMessage(message));
}

[CollectionDefinition(Name)]
public sealed class DockerCollection : ICollectionFixture<DockerLabFixture>
{
    public const string Name = "Docker lab";
}
