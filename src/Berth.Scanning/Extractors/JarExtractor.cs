using System.IO.Compression;
using System.Text;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Extractors;

/// <summary>
/// Maven artifacts in Java archives (<c>*.jar</c>, <c>*.war</c>, <c>*.ear</c>, up to 64 MiB each): every
/// <c>META-INF/maven/GROUP/ARTIFACT/pom.properties</c> gives "groupId:artifactId" and its version; archives nested inside
/// (Spring Boot's BOOT-INF/lib, a war's WEB-INF/lib) are opened too, down to <see cref="ScanLimits.MaxNestedArchiveDepth"/>
/// levels, with all expanded bytes of one outer archive capped by <see cref="ScanLimits.MaxArchiveExpandedBytes"/> (zip
/// bombs). Archives without pom.properties (built without Maven) give nothing. Packages keep the outer archive's path.
/// </summary>
public sealed class JarExtractor(ScanLimits? limits = null) : PackageExtractor
{
    private const long MaxArchiveBytes = 64L << 20;
    private readonly ScanLimits _limits = limits ?? ScanLimits.Default;

    public override IReadOnlyList<FileRequest> Requests { get; } = [new FileRequest("java archive", IsArchive, MaxArchiveBytes)];

    private static bool IsArchive(string path) =>
        path.EndsWith(".jar", StringComparison.OrdinalIgnoreCase) ||
        path.EndsWith(".war", StringComparison.OrdinalIgnoreCase) ||
        path.EndsWith(".ear", StringComparison.OrdinalIgnoreCase);

    public override void Extract(ImageFile file, InventoryCollector collector)
    {
        var found = new List<(string Name, string Version)>();
        var budget = _limits.MaxArchiveExpandedBytes;
        try
        {
            ReadArchive(file.Content, 0, found, ref budget);
        }
        catch (InvalidDataException ex)
        {
            collector.Warn(file, $"not a readable Java archive: {ex.Message}");
        }
        catch (ArchiveLimitException ex)
        {
            collector.Warn(file, ex.Message);
        }

        collector.SetPackages("jar", file.Path, found
            .Distinct()
            .Select(f => new InstalledPackage(Ecosystems.Maven, f.Name, f.Version, null, null, "jar", file.Path, file.LayerDigest))
            .ToList());
    }

    private void ReadArchive(ReadOnlyMemory<byte> bytes, int depth, List<(string, string)> found, ref long budget)
    {
        using var zip = new ZipArchive(new MemoryStream(bytes.ToArray(), writable: false), ZipArchiveMode.Read);
        foreach (var entry in zip.Entries)
        {
            var name = entry.FullName;
            if (name.StartsWith("META-INF/maven/", StringComparison.Ordinal) && name.EndsWith("/pom.properties", StringComparison.Ordinal))
            {
                var text = Encoding.UTF8.GetString(ReadEntry(entry, 1 << 20, ref budget));
                if (ParseProperties(text) is { } artifact)
                {
                    found.Add(artifact);
                }
            }
            else if (depth + 1 <= _limits.MaxNestedArchiveDepth && IsArchive(name))
            {
                var nested = ReadEntry(entry, MaxArchiveBytes, ref budget);
                try
                {
                    ReadArchive(nested, depth + 1, found, ref budget);
                }
                catch (InvalidDataException)
                {
                    // A corrupt nested archive hides only its own artifacts.
                }
            }
        }
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, long cap, ref long budget)
    {
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        while (true)
        {
            var n = stream.Read(chunk);
            if (n == 0)
            {
                break;
            }

            budget -= n;
            if (budget < 0)
            {
                throw new ArchiveLimitException("Java archive expands past the limit of expanded bytes (zip bomb?); its remaining entries are not read");
            }

            if (buffer.Length + n > cap)
            {
                throw new ArchiveLimitException($"entry '{entry.FullName}' is larger than {cap} bytes; not read");
            }

            buffer.Write(chunk, 0, n);
        }

        return buffer.ToArray();
    }

    internal static (string Name, string Version)? ParseProperties(string text)
    {
        string? group = null, artifact = null, version = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or '!')
            {
                continue;
            }

            var separator = line.IndexOfAny(['=', ':']);
            if (separator <= 0)
            {
                continue;
            }

            var key = line[..separator].Trim();
            var value = line[(separator + 1)..].Trim();
            switch (key)
            {
                case "groupId":
                    group = value;
                    break;
                case "artifactId":
                    artifact = value;
                    break;
                case "version":
                    version = value;
                    break;
            }
        }

        return string.IsNullOrEmpty(group) || string.IsNullOrEmpty(artifact) || string.IsNullOrEmpty(version)
            ? null
            : (group + ":" + artifact, version);
    }

    private sealed class ArchiveLimitException(string message) : Exception(message);
}
