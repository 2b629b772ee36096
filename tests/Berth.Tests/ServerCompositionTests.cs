using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Berth.Tests;

/// <summary>How <see cref="BerthServer.Build"/> composes the host, beyond what the functional tests exercise.</summary>
public sealed class ServerCompositionTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "berth-compose-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Fact]
    public async Task Host_WatchesNoFiles_AndDoesNotRootItselfInTheWorkingDirectory()
    {
        // With the default --data ./data, a host watching its content root (the working directory) would put an inotify
        // watch on every blob folder and wake up for every write to a blob.
        await using var app = Berth.Testing.MigratedServer.Build(new Dictionary<string, string?> { ["Berth:Data"] = _data });

        var environment = app.Services.GetRequiredService<IHostEnvironment>();
        Assert.Equal(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory), Path.TrimEndingDirectorySeparator(environment.ContentRootPath));
        var fileSources = ((IConfigurationRoot)app.Configuration).Providers.OfType<FileConfigurationProvider>().Select(p => p.Source).ToList();
        Assert.All(fileSources, source => Assert.False(source.ReloadOnChange, $"{source.Path} is watched for changes"));
    }
}
