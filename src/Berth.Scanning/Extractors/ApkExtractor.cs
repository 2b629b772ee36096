using System.Text;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Extractors;

/// <summary>
/// Alpine packages from <c>lib/apk/db/installed</c>: blank-line separated records of "X:value" lines, of which
/// <c>P</c> (name), <c>V</c> (version), <c>o</c> (origin, the source package) and <c>L</c> (licence) are used.
/// </summary>
public sealed class ApkExtractor : PackageExtractor
{
    public const string InstalledPath = "lib/apk/db/installed";

    public override IReadOnlyList<FileRequest> Requests { get; } =
        [new FileRequest("apk", p => p == InstalledPath, 64L << 20, ExactPaths: [InstalledPath])];

    public override void Extract(ImageFile file, InventoryCollector collector)
    {
        var packages = new List<InstalledPackage>();
        string? name = null, version = null, origin = null, license = null;

        void Flush()
        {
            if (!string.IsNullOrEmpty(name) && !string.IsNullOrEmpty(version))
            {
                packages.Add(new InstalledPackage(
                    Ecosystems.Alpine,
                    name,
                    version,
                    string.IsNullOrEmpty(origin) || origin == name ? null : origin,
                    null,
                    "alpine",
                    file.Path,
                    file.LayerDigest,
                    string.IsNullOrWhiteSpace(license) ? null : [license]));
            }

            name = version = origin = license = null;
        }

        foreach (var raw in Encoding.UTF8.GetString(file.Content.Span).Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                Flush();
                continue;
            }

            if (line.Length < 2 || line[1] != ':')
            {
                continue;
            }

            var value = line[2..];
            switch (line[0])
            {
                case 'P':
                    name = value;
                    break;
                case 'V':
                    version = value;
                    break;
                case 'o':
                    origin = value;
                    break;
                case 'L':
                    license = value;
                    break;
            }
        }

        Flush();
        collector.SetPackages("apk", file.Path, packages);
    }
}
