using Berth.Application.Scanning;
using Berth.Core.Scanning;
using Berth.Core.Storage;
using Berth.Oci;
using Berth.Scanning.Results;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Berth.Management.Tests.Scanning;

/// <summary>
/// The scanner runtime over blob stores that answer as object stores do (a stream; a redirect when allowed), several
/// scans at once, and a store that throws in the middle of one scan (that scan fails, the others go on).
/// </summary>
public sealed class ScanRuntimeStoreTests
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Berth:Scanning:PollInterval"] = "1.00:00:00",
        ["Berth:Scanning:RescanInterval"] = "1.00:00:00",
        ["Berth:Scanning:Concurrency"] = "3",
    };

    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task Scan_StreamedBlobsAndSeveralAtOnce_AllScannedWithFindings()
    {
        using var app = new ManagementApp(Settings, TestBlobStores.UseStreaming);
        await AssertScansAsync(app);
    }

    [Fact]
    public async Task Scan_RedirectingStore_ReadsTheBytesAndNeverFollowsARedirect()
    {
        using var app = new ManagementApp(Settings, TestBlobStores.UseRedirecting(new Uri("http://127.0.0.1:9/blobs/"), DateTimeOffset.MaxValue));
        await AssertScansAsync(app);
    }

    [Fact]
    public async Task Scan_StoreThrowsForOneImage_ThatScanFailsAndTheOthersAreDone()
    {
        var poisoned = ScanTestData.Image(ScanTestData.Gzip(ScanTestData.Tar(("etc/hostname", "poison\n"u8.ToArray()))), null);
        var poisonedConfig = Digest.Parse(TestImages.Sha256(poisoned.Blobs[0])); // read by the runner itself, outside the layer reader
        using var app = new ManagementApp(Settings, services => Throwing(services, poisonedConfig));
        await app.CreateProjectAsync("shop");
        await ScanTestData.ImportAsync(app);
        var results = app.Service<IScanResultStore>();
        var bad = Digest.Parse(await app.Admin.PushManifestAsync("shop/bad", poisoned, "v1"));
        var good = Digest.Parse(await app.Admin.PushManifestAsync("shop/good", ScanTestData.DebianImage(out _), "v1"));

        await app.Service<ScanQueueJob>().RunAsync(Ct);

        var failed = await results.GetAsync(bad, Ct);
        Assert.Equal(ScanStatus.Failed, failed!.Status);
        Assert.Contains("the scan stopped with an error: disk on fire", failed.Error, StringComparison.Ordinal);
        Assert.Null(failed.ClaimedBy);
        Assert.Equal(ScanStatus.Done, (await results.GetAsync(good, Ct))!.Status);
        Assert.Empty(await results.ListQueueAsync(app.App.Clock.GetUtcNow(), TimeSpan.FromMinutes(10), 10, Ct));
    }

    [Fact]
    public void Options_OutOfRange_AreRefusedByTheRegisteredValidatorNamingTheSetting()
    {
        using var app = new ManagementApp(Settings);
        var validators = app.Service<IEnumerable<IValidateOptions<ScanningOptions>>>().ToList();
        Assert.NotEmpty(validators);

        string? Refusal(ScanningOptions options) =>
            validators.Select(v => v.Validate(null, options)).FirstOrDefault(r => r.Failed)?.FailureMessage;

        Assert.Null(Refusal(new ScanningOptions()));
        Assert.Contains("Berth:Scanning:Concurrency", Refusal(new ScanningOptions { Concurrency = 0 }), StringComparison.Ordinal);
        Assert.Contains("Berth:Scanning:Concurrency", Refusal(new ScanningOptions { Concurrency = 65 }), StringComparison.Ordinal);
        Assert.Contains("Berth:Scanning:Lease", Refusal(new ScanningOptions { Lease = TimeSpan.FromSeconds(1) }), StringComparison.Ordinal);
        Assert.Contains("PollInterval", Refusal(new ScanningOptions { PollInterval = TimeSpan.Zero }), StringComparison.Ordinal);
        Assert.Equal(3, app.Service<IOptions<ScanningOptions>>().Value.Concurrency); // bound from Berth:Scanning
    }

    private static async Task AssertScansAsync(ManagementApp app)
    {
        await app.CreateProjectAsync("shop");
        var version = await ScanTestData.ImportAsync(app);
        var digests = new List<Digest>();
        for (var i = 0; i < 4; i++)
        {
            // The same layer under four configs: four manifests, each scanned.
            var layer = ScanTestData.DebianLayer();
            var image = ScanTestData.Image(layer.Compressed, layer.DiffId);
            var config = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(image.Blobs[0]).Replace("\"amd64\"", $"\"arch{i}\"", StringComparison.Ordinal));
            var body = TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, config), [TestDescriptor.Of(TestImages.OciLayer, layer.Compressed)]);
            digests.Add(Digest.Parse(await app.Admin.PushManifestAsync($"shop/app{i}", new TestManifest(TestImages.OciManifest, body, [config, layer.Compressed], []), "v1")));
        }

        await app.Service<ScanQueueJob>().RunAsync(Ct);

        var results = await app.Service<IScanResultStore>().GetManyAsync(digests, Ct);
        Assert.Equal(4, results.Count);
        Assert.All(results, r =>
        {
            Assert.Equal(ScanStatus.Done, r.Status);
            Assert.Equal(version, r.DatabaseVersion);
            Assert.Equal(ScanTestData.ExpectedIds, ScanDocuments.ReadFindings(r.Findings!).Select(f => f.VulnerabilityId).Distinct().Order(StringComparer.Ordinal));
        });
        Assert.Equal(["arch0", "arch1", "arch2", "arch3"], results.Select(r => ScanDocuments.ReadInventory(r.Inventory!).Image.Architecture).Order(StringComparer.Ordinal));
    }

    /// <summary>Wraps the server's blob store so that opening <paramref name="digest"/> throws an unexpected exception.</summary>
    private static void Throwing(IServiceCollection services, Digest digest)
    {
        var original = services.Last(d => d.ServiceType == typeof(IBlobStore));
        services.RemoveAll<IBlobStore>();
        services.AddSingleton<IBlobStore>(sp => new ThrowingBlobStore(original switch
        {
            { ImplementationInstance: IBlobStore instance } => instance,
            { ImplementationFactory: { } factory } => (IBlobStore)factory(sp),
            { ImplementationType: { } type } => (IBlobStore)ActivatorUtilities.GetServiceOrCreateInstance(sp, type),
            _ => throw new InvalidOperationException("The registered IBlobStore cannot be wrapped."),
        }, digest));
    }

    private sealed class ThrowingBlobStore(IBlobStore inner, Digest poisoned) : IBlobStore
    {
        public Task<BlobStat> StatAsync(Digest digest, CancellationToken cancellationToken) => inner.StatAsync(digest, cancellationToken);

        public Task<BlobRead> OpenAsync(Digest digest, ByteRange? range, BlobReadOptions options, CancellationToken cancellationToken) =>
            digest == poisoned && !options.AllowRedirect
                ? throw new InvalidOperationException("disk on fire")
                : inner.OpenAsync(digest, range, options, cancellationToken);

        public IAsyncEnumerable<StoredBlob> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public Task<BlobDeleteResult> DeleteAsync(Digest digest, CancellationToken cancellationToken) => inner.DeleteAsync(digest, cancellationToken);
    }
}
