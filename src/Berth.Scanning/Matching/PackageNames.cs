using System.Text;
using Berth.Scanning.Inventory;
using Berth.Scanning.Versions;

namespace Berth.Scanning.Matching;

/// <summary>Package-name normalisation and OS release ecosystems, as the advisories spell them.</summary>
public static class PackageNames
{
    /// <summary>
    /// The name as the ecosystem compares names: PyPI lowercases and folds runs of <c>-</c>, <c>_</c>, <c>.</c> into one
    /// <c>-</c> (PEP 503); NuGet ids are case-insensitive (lowercased); npm, Go module paths, Maven "group:artifact" and
    /// OS package names are compared exactly.
    /// </summary>
    public static string Normalize(string ecosystem, string name)
    {
        switch (VersionComparers.BaseEcosystem(ecosystem))
        {
            case Ecosystems.PyPI:
                var sb = new StringBuilder(name.Length);
                var lastSeparator = false;
                foreach (var c in name.Trim())
                {
                    if (c is '-' or '_' or '.')
                    {
                        if (!lastSeparator)
                        {
                            sb.Append('-');
                        }

                        lastSeparator = true;
                    }
                    else
                    {
                        sb.Append(char.ToLowerInvariant(c));
                        lastSeparator = false;
                    }
                }

                return sb.ToString();
            case Ecosystems.NuGet:
                return name.Trim().ToLowerInvariant();
            default:
                return name.Trim();
        }
    }

    /// <summary>Whether packages of <paramref name="ecosystem"/> are matched within the image's OS release.</summary>
    public static bool IsOsEcosystem(string ecosystem) => VersionComparers.BaseEcosystem(ecosystem) is
        Ecosystems.Debian or Ecosystems.Ubuntu or Ecosystems.Alpine or Ecosystems.RedHat or Ecosystems.Rocky
        or Ecosystems.Alma or Ecosystems.OpenSuse;

    /// <summary>
    /// The OSV release ecosystems advisories for this OS use, most specific first: debian VERSION_ID "12" →
    /// "Debian:12"; ubuntu "22.04" → "Ubuntu:22.04", "Ubuntu:22.04:LTS"; alpine "3.19.1" → "Alpine:v3.19"; rocky "9.3" →
    /// "Rocky Linux:9"; almalinux "9.4" → "AlmaLinux:9". Empty for an OS without a known release ecosystem (its OS packages
    /// are then not matched).
    /// </summary>
    public static IReadOnlyList<string> ReleaseEcosystems(OsInfo? os)
    {
        if (os is null || string.IsNullOrWhiteSpace(os.VersionId))
        {
            return [];
        }

        var version = os.VersionId.Trim().Trim('"');
        var parts = version.Split('.', '_', '-');
        var major = parts[0];
        switch (os.Id.Trim().ToLowerInvariant())
        {
            case "debian":
                return ["Debian:" + major];
            case "ubuntu":
                return ["Ubuntu:" + version, "Ubuntu:" + version + ":LTS", "Ubuntu:Pro:" + version + ":LTS"];
            case "alpine":
                return parts.Length >= 2 ? ["Alpine:v" + major + "." + parts[1]] : [];
            case "rocky":
                return ["Rocky Linux:" + major];
            case "almalinux":
                return ["AlmaLinux:" + major];
            default:
                return [];
        }
    }
}
