using Berth.Scanning.Extractors;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Tests.Layers;

/// <summary>Shortcuts for tests: read files of an image, or build its inventory.</summary>
internal static class TestScan
{
    /// <summary>Every visible file whose path <paramref name="wanted"/> accepts, as path → (layer digest, text).</summary>
    public static async Task<Dictionary<string, (string Layer, string Text)>> FilesAsync(
        IReadOnlyList<ImageLayer> layers, Func<string, bool> wanted, ScanLimits? limits = null, IReadOnlyList<string>? exactPaths = null)
    {
        var files = new Dictionary<string, (string, string)>();
        var reader = new ImageFileSystemReader(limits);
        await reader.ReadAsync(layers, [new FileRequest("test", wanted, 1 << 20, ExactPaths: exactPaths)], (file, _) =>
        {
            files[file.Path] = (file.LayerDigest, System.Text.Encoding.UTF8.GetString(file.Content.Span));
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        return files;
    }

    public static async Task<ImageInventory> InventoryAsync(params ImageLayer[] layers) =>
        (await new InventoryScanner().ScanAsync(layers, CancellationToken.None)).Inventory;

    public static string TestData(string relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "testdata", relative);
            if (File.Exists(candidate) || Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"tests/testdata/{relative} not found above {AppContext.BaseDirectory}");
    }
}
