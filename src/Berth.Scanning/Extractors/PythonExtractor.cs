using System.Text;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Extractors;

/// <summary>
/// Installed Python distributions: <c>*.dist-info/METADATA</c> (wheels), <c>*.egg-info/PKG-INFO</c> and
/// <c>*.egg-info</c> files (setuptools). The core-metadata header block gives Name, Version and the licence
/// (<c>License-Expression</c>, else a one-line <c>License</c>, else the <c>License ::</c> classifiers).
/// </summary>
public sealed class PythonExtractor : PackageExtractor
{
    public override IReadOnlyList<FileRequest> Requests { get; } = [new FileRequest("python", IsWanted, 8L << 20)];

    private static bool IsWanted(string path) =>
        path.EndsWith(".dist-info/METADATA", StringComparison.Ordinal) ||
        path.EndsWith(".egg-info/PKG-INFO", StringComparison.Ordinal) ||
        path.EndsWith(".egg-info", StringComparison.Ordinal);

    public override void Extract(ImageFile file, InventoryCollector collector)
    {
        string? name = null, version = null, expression = null, license = null;
        var classifiers = new List<string>();
        foreach (var raw in Encoding.UTF8.GetString(file.Content.Span).Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                break;
            }

            if (line[0] is ' ' or '\t')
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (key.Equals("Name", StringComparison.OrdinalIgnoreCase))
            {
                name ??= value;
            }
            else if (key.Equals("Version", StringComparison.OrdinalIgnoreCase))
            {
                version ??= value;
            }
            else if (key.Equals("License-Expression", StringComparison.OrdinalIgnoreCase))
            {
                expression ??= value;
            }
            else if (key.Equals("License", StringComparison.OrdinalIgnoreCase))
            {
                license ??= value;
            }
            else if (key.Equals("Classifier", StringComparison.OrdinalIgnoreCase) && value.StartsWith("License ::", StringComparison.Ordinal))
            {
                var last = value.LastIndexOf("::", StringComparison.Ordinal);
                classifiers.Add(value[(last + 2)..].Trim());
            }
        }

        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(version))
        {
            collector.Warn(file, "Python metadata without Name or Version");
            return;
        }

        IReadOnlyList<string>? licenses = expression is { Length: > 0 } ? [expression]
            : license is { Length: > 0 and <= 200 } && !license.Equals("UNKNOWN", StringComparison.OrdinalIgnoreCase) ? [license]
            : classifiers.Count > 0 ? classifiers
            : null;
        collector.SetPackages("python", file.Path, [new InstalledPackage(Ecosystems.PyPI, name, version, null, null, "python-pkg", file.Path, file.LayerDigest, licenses)]);
    }
}
