using System.Text;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Extractors;

/// <summary>
/// Go modules compiled into ELF executables, from the build information the Go linker embeds (Go 1.18 and later: the
/// <c>\xff Go buildinf:</c> block with inline strings — the Go version, then the module list between two 16-byte
/// sentinels, with <c>path</c>, <c>mod</c>, <c>dep</c> and <c>=&gt;</c> (replacement) lines). Reports the main module (unless
/// its version is "(devel)"), every dependency (the replacement where it has a version) and <c>stdlib</c> at the Go
/// version, with Go's "v" prefix ("v1.22.1"). Binaries from Go before 1.18 keep their build info behind pointers and are
/// not read.
/// </summary>
public sealed class GoBinaryExtractor : PackageExtractor
{
    public override IReadOnlyList<FileRequest> Requests { get; } =
        [new FileRequest("go binary", _ => true, 1L << 20, FileReadMode.GoBuildInfo)];

    public override void Extract(ImageFile file, InventoryCollector collector)
    {
        var info = Parse(file.Content.Span);
        if (info is null)
        {
            return;
        }

        var (goVersion, modules) = info.Value;
        var packages = new List<InstalledPackage>();
        foreach (var (path, version) in modules)
        {
            packages.Add(new InstalledPackage(Ecosystems.Go, path, version, null, null, "gobinary", file.Path, file.LayerDigest));
        }

        if (goVersion is not null)
        {
            packages.Add(new InstalledPackage(Ecosystems.Go, "stdlib", goVersion, null, null, "gobinary", file.Path, file.LayerDigest));
        }

        collector.SetPackages("go", file.Path, packages);
    }

    /// <summary>
    /// Parses a build information block starting at its magic. Returns the Go version ("v1.22.1", or null) and the modules
    /// (path, version), or null when the block is not in the Go 1.18+ inline form.
    /// </summary>
    public static (string? GoVersion, IReadOnlyList<(string Path, string Version)> Modules)? Parse(ReadOnlySpan<byte> block)
    {
        if (block.Length < 33 || (block[15] & 0x2) == 0)
        {
            return null;
        }

        var position = 32;
        if (!TryReadBytes(block, ref position, out var versionBytes) || !TryReadBytes(block, ref position, out var modBytes))
        {
            return null;
        }

        string? goVersion = null;
        var token = Encoding.UTF8.GetString(versionBytes).Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (token is not null && token.StartsWith("go", StringComparison.Ordinal) && token.Length > 2)
        {
            goVersion = "v" + token[2..];
        }

        // The module text is wrapped in two 16-byte binary sentinels; strip them before decoding.
        if (modBytes.Length >= 33 && modBytes[^17] == (byte)'\n')
        {
            modBytes = modBytes[16..^16];
        }

        var modInfo = Encoding.UTF8.GetString(modBytes);
        var modules = new List<(string Path, string Version)>();
        foreach (var line in modInfo.Split('\n'))
        {
            var fields = line.Split('\t');
            switch (fields[0])
            {
                case "mod" when fields.Length >= 3:
                    if (fields[2] != "(devel)" && fields[2].Length > 0)
                    {
                        modules.Add((fields[1], fields[2]));
                    }

                    break;
                case "dep" when fields.Length >= 3:
                    modules.Add((fields[1], fields[2]));
                    break;
                case "=>" when fields.Length >= 3 && modules.Count > 0 && fields[2].Length > 0:
                    modules[^1] = (fields[1], fields[2]);
                    break;
            }
        }

        return (goVersion, modules);
    }

    private static bool TryReadBytes(ReadOnlySpan<byte> block, ref int position, out byte[] value)
    {
        value = [];
        ulong length = 0;
        var shift = 0;
        while (true)
        {
            if (position >= block.Length || shift > 63)
            {
                return false;
            }

            var b = block[position++];
            length |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }

            shift += 7;
        }

        if (length > (ulong)(block.Length - position))
        {
            return false;
        }

        value = block.Slice(position, (int)length).ToArray();
        position += (int)length;
        return true;
    }
}
