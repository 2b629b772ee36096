using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Extractors;

/// <summary>
/// Reads one kind of package metadata. <see cref="Requests"/> says which files it wants; <see cref="Extract"/> is called
/// once per wanted file of the final file system (in no particular order) and records what it found in the collector;
/// <see cref="Finish"/> runs after the last file. Malformed metadata is a warning, not a failure: one bad file must not
/// hide the rest of the image.
/// </summary>
public abstract class PackageExtractor
{
    public abstract IReadOnlyList<FileRequest> Requests { get; }

    public abstract void Extract(ImageFile file, InventoryCollector collector);

    public virtual void Finish(InventoryCollector collector)
    {
    }
}

/// <summary>
/// What the extractors found so far, keyed by the file each package came from: when a layer's tar holds the same path twice
/// the later file replaces what the earlier one gave.
/// </summary>
public sealed class InventoryCollector
{
    private readonly Dictionary<(string Extractor, string Path), IReadOnlyList<InstalledPackage>> _byFile = [];
    private readonly Dictionary<string, OsInfo> _osByPath = new(StringComparer.Ordinal);

    public List<ScanWarning> Warnings { get; } = [];

    /// <summary>The OS, from <c>etc/os-release</c> if present, else <c>usr/lib/os-release</c>.</summary>
    public OsInfo? Os => _osByPath.GetValueOrDefault("etc/os-release") ?? _osByPath.GetValueOrDefault("usr/lib/os-release");

    public void SetOs(string path, OsInfo os) => _osByPath[path] = os;

    /// <summary>Records the packages read from <paramref name="path"/> by <paramref name="extractor"/>, replacing earlier ones.</summary>
    public void SetPackages(string extractor, string path, IReadOnlyList<InstalledPackage> packages) => _byFile[(extractor, path)] = packages;

    public void RemovePackages(string extractor, string path) => _byFile.Remove((extractor, path));

    public bool HasFile(string extractor, string path) => _byFile.ContainsKey((extractor, path));

    public void Warn(ImageFile file, string message) => Warnings.Add(new ScanWarning(file.Path, file.LayerDigest, message));

    /// <summary>Every package, OS packages given the ecosystem and result type the OS implies, in a stable order.</summary>
    public ImageInventory Build()
    {
        var os = Os;
        var packages = _byFile.Values
            .SelectMany(p => p)
            .Select(p => OsEcosystems.Apply(p, os))
            .OrderBy(p => p.Type, StringComparer.Ordinal)
            .ThenBy(p => p.FilePath, StringComparer.Ordinal)
            .ThenBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Version, StringComparer.Ordinal)
            .ToList();
        return new ImageInventory(os, packages);
    }
}
