using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Extractors;

/// <summary>What one scan of an image's layers found, and what it could not read.</summary>
public sealed record InventoryResult(ImageInventory Inventory, IReadOnlyList<ScanWarning> Warnings);

/// <summary>
/// Builds an image's package inventory: one streaming read of its layers (see <see cref="ImageFileSystemReader"/>) with
/// every extractor's requests, then the OS-dependent ecosystems applied. Throws <see cref="ScanException"/> when the
/// layers cannot be read; problems with single metadata files are warnings.
/// </summary>
public sealed class InventoryScanner(ScanLimits? limits = null)
{
    private readonly ScanLimits _limits = limits ?? ScanLimits.Default;

    /// <summary>A fresh set of every extractor (they keep state during one scan).</summary>
    public IReadOnlyList<PackageExtractor> CreateExtractors() =>
    [
        new OsReleaseExtractor(),
        new DpkgExtractor(),
        new ApkExtractor(),
        new RpmExtractor(),
        new PythonExtractor(),
        new NpmExtractor(),
        new GoBinaryExtractor(),
        new DotnetDepsExtractor(),
        new JarExtractor(_limits),
    ];

    public async Task<InventoryResult> ScanAsync(IReadOnlyList<ImageLayer> layers, CancellationToken cancellationToken)
    {
        var extractors = CreateExtractors();
        var owner = new Dictionary<FileRequest, PackageExtractor>();
        foreach (var extractor in extractors)
        {
            foreach (var request in extractor.Requests)
            {
                owner[request] = extractor;
            }
        }

        var collector = new InventoryCollector();
        var reader = new ImageFileSystemReader(_limits);
        var warnings = await reader.ReadAsync(layers, [.. owner.Keys], (file, _) =>
        {
            Extract(owner[file.Request], file, collector);
            return ValueTask.CompletedTask;
        }, cancellationToken).ConfigureAwait(false);

        foreach (var extractor in extractors)
        {
            extractor.Finish(collector);
        }

        return new InventoryResult(collector.Build(), [.. warnings, .. collector.Warnings]);
    }

    private static void Extract(PackageExtractor extractor, ImageFile file, InventoryCollector collector)
    {
        try
        {
            extractor.Extract(file, collector);
        }
#pragma warning disable CA1031 // One file's metadata that trips a parser (a zip with an unknown method, say) must not end the scan.
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException and not ScanException)
#pragma warning restore CA1031
        {
            collector.Warn(file, $"{file.Request.Name}: could not be read ({ex.GetType().Name}: {ex.Message})");
        }
    }
}
