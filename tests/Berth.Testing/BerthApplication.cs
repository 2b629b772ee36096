using Berth.Core.Registry;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Testing;

/// <summary>
/// The whole server in memory (TestServer) on a fresh temporary data folder, with a controllable clock.
/// Dispose to delete the folder.
/// </summary>
public sealed class BerthApplication : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private bool _started;

    public BerthApplication(IDictionary<string, string?>? settings = null, string? dataPath = null)
    {
        DataPath = dataPath ?? Path.Combine(Path.GetTempPath(), "berth-test-" + Guid.NewGuid().ToString("N"));
        _settings = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["Berth:Data"] = DataPath,
        };
    }

    /// <summary>The temporary data folder (blobs, uploads, berth.db).</summary>
    public string DataPath { get; }

    /// <summary>The clock every service sees; starts at 2026-01-01T00:00:00Z and moves only when told.</summary>
    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Replaces services after the server registered its own (e.g. an <c>IRegistryAuthorizer</c>); set before first use.</summary>
    public Action<IServiceCollection>? ConfigureTestServices { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services =>
        {
            services.RemoveAll<TimeProvider>();
            services.AddSingleton<TimeProvider>(Clock);
        });
        if (ConfigureTestServices is { } configure)
        {
            builder.ConfigureTestServices(configure);
        }
    }

    protected override IHost CreateHost(IHostBuilder builder)
    {
        var host = base.CreateHost(builder);
        _started = true;
        return host;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _started)
        {
            _started = false; // the base class calls back into Dispose(true) from DisposeAsync
            // With minimal hosting the host is stopped twice at once (by this factory and by the program's own RunAsync,
            // which then disposes the services). Write pending pull times now, so shutdown has nothing left to write.
            Services.GetRequiredService<PullRecorder>().FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
        if (disposing)
        {
            try
            {
                Directory.Delete(DataPath, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
            catch (IOException)
            {
            }
        }
    }
}
