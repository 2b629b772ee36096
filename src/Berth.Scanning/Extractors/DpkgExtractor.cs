using System.Text;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Extractors;

/// <summary>
/// Debian and Ubuntu packages from <c>var/lib/dpkg/status</c> and, as distroless images lay them out, one file per package
/// under <c>var/lib/dpkg/status.d/</c> (their <c>*.md5sums</c> files are ignored). Only installed packages count
/// (<c>Status: install ok installed</c>; a status.d file without a Status field is taken as installed). <c>Source: name
/// (version)</c> gives the source package and, when it differs (binNMUs, epochs), its version.
/// </summary>
public sealed class DpkgExtractor : PackageExtractor
{
    public const string StatusPath = "var/lib/dpkg/status";
    private const string StatusDirectory = "var/lib/dpkg/status.d/";

    public override IReadOnlyList<FileRequest> Requests { get; } =
    [
        new FileRequest("dpkg", IsWanted, 64L << 20, ExactPaths: [StatusPath]),
    ];

    private static bool IsWanted(string path) =>
        path == StatusPath ||
        (path.StartsWith(StatusDirectory, StringComparison.Ordinal) &&
         path.IndexOf('/', StatusDirectory.Length) < 0 &&
         !path.EndsWith(".md5sums", StringComparison.Ordinal));

    public override void Extract(ImageFile file, InventoryCollector collector)
    {
        var distroless = file.Path != StatusPath;
        var packages = new List<InstalledPackage>();
        foreach (var fields in ControlParagraphs.Parse(Encoding.UTF8.GetString(file.Content.Span)))
        {
            if (!fields.TryGetValue("Package", out var name) || !fields.TryGetValue("Version", out var version) || name.Length == 0 || version.Length == 0)
            {
                continue;
            }

            if (fields.TryGetValue("Status", out var status))
            {
                var words = status.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length != 3 || words[2] != "installed")
                {
                    continue;
                }
            }
            else if (!distroless)
            {
                continue;
            }

            string? sourceName = null;
            string? sourceVersion = null;
            if (fields.TryGetValue("Source", out var source) && source.Length > 0)
            {
                var open = source.IndexOf('(', StringComparison.Ordinal);
                if (open > 0)
                {
                    sourceName = source[..open].Trim();
                    var close = source.IndexOf(')', open);
                    sourceVersion = (close > open ? source[(open + 1)..close] : source[(open + 1)..]).Trim();
                }
                else
                {
                    sourceName = source.Trim();
                }
            }

            if (sourceName == name)
            {
                sourceName = null;
            }

            if (sourceVersion == version || sourceVersion?.Length == 0)
            {
                sourceVersion = null;
            }

            packages.Add(new InstalledPackage(Ecosystems.Debian, name, version, sourceName, sourceVersion, "debian", file.Path, file.LayerDigest));
        }

        collector.SetPackages("dpkg", file.Path, packages);
    }
}
