using System.Diagnostics.CodeAnalysis;

namespace Berth.Scanning.Versions;

/// <summary>Maps an OSV ecosystem name (with or without its release suffix) to its version ordering.</summary>
public static class VersionComparers
{
    /// <summary>
    /// The comparer for <paramref name="ecosystem"/>: "Debian:12", "Ubuntu:22.04:LTS" → dpkg; "Alpine:v3.19" → apk;
    /// "Rocky Linux:9", "AlmaLinux:9", "Red Hat…", "openSUSE…", "SUSE…" → rpm; "npm", "Go", "crates.io" → semver;
    /// "NuGet" → semver with case-insensitive prereleases; "PyPI" → PEP 440; "Maven" → Maven. False for an ecosystem
    /// without a known ordering (its advisories are then matched by their explicit version lists only).
    /// </summary>
    public static bool TryGet(string ecosystem, [NotNullWhen(true)] out IVersionComparer? comparer)
    {
        comparer = BaseEcosystem(ecosystem) switch
        {
            "Debian" or "Ubuntu" => DebianVersionComparer.Instance,
            "Alpine" => ApkVersionComparer.Instance,
            "Rocky Linux" or "AlmaLinux" or "Red Hat" or "openSUSE" or "SUSE" or "Mageia" or "openEuler" => RpmVersionComparer.Instance,
            "npm" or "Go" or "crates.io" or "Hex" or "Pub" => SemVerComparer.Instance,
            "NuGet" => SemVerComparer.NuGet,
            "PyPI" => Pep440VersionComparer.Instance,
            "Maven" => MavenVersionComparer.Instance,
            _ => null,
        };
        return comparer is not null;
    }

    /// <summary>The ecosystem without its release suffix ("Debian:12" → "Debian", "Ubuntu:22.04:LTS" → "Ubuntu").</summary>
    public static string BaseEcosystem(string ecosystem)
    {
        var colon = ecosystem.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? ecosystem : ecosystem[..colon];
    }
}
