using System.Diagnostics;
using Berth.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Berth.EndToEnd.Tests.Images;

/// <summary>
/// Builds the Debian root-filesystem image once per test run, for every test in the <see cref="DebianImageCollection"/>
/// (debootstrap takes a minute or two). If it cannot be built, every test that needs it fails with the reason.
/// </summary>
public sealed class DebianImageFixture : IAsyncLifetime
{
    public const string Tag = "bookworm";

    private readonly IMessageSink _diagnostics;
    private readonly TempDirectory _directory = new("debian-image");
    private TestImage? _image;

    public DebianImageFixture(IMessageSink diagnostics) => _diagnostics = diagnostics;

    public TestImage Image => _image ?? throw new InvalidOperationException("the Debian image was not built");

    public TimeSpan BuildTime { get; private set; }

    public async Task InitializeAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        _image = await DebianImageBuilder.BuildAsync(_directory.Sub("layout"), Tag,
            line => _diagnostics.OnMessage(new DiagnosticMessage($"[debian image] {line}")));
        BuildTime = stopwatch.Elapsed;
        _diagnostics.OnMessage(new DiagnosticMessage($"[debian image] built {Image.Root.Digest} in {BuildTime.TotalSeconds:F0} s"));
    }

    public Task DisposeAsync()
    {
        _directory.Dispose();
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class DebianImageCollection : ICollectionFixture<DebianImageFixture>
{
    public const string Name = "Debian image";
}
