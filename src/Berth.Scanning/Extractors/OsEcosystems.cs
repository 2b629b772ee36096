using Berth.Scanning.Inventory;

namespace Berth.Scanning.Extractors;

/// <summary>
/// Which OSV ecosystem and Trivy result type an OS package belongs to, from the image's os-release. Extractors of OS
/// packages record a provisional ecosystem ("Debian" for dpkg, "Alpine" for apk, "Red Hat" for rpm) and the type
/// <see cref="RpmType"/>/"debian"/"alpine"; the final inventory replaces them from the OS ID.
/// </summary>
public static class OsEcosystems
{
    internal const string RpmType = "redhat";

    /// <summary>The OSV ecosystem for an rpm-based OS ID: rocky → "Rocky Linux", almalinux → "AlmaLinux", rhel/centos → "Red Hat", opensuse*/sles → "openSUSE".</summary>
    public static string RpmEcosystem(string? osId) => osId switch
    {
        "rocky" => Ecosystems.Rocky,
        "almalinux" => Ecosystems.Alma,
        "rhel" or "centos" => Ecosystems.RedHat,
        "sles" or "sled" or "suse" => Ecosystems.OpenSuse,
        _ when osId?.StartsWith("opensuse", StringComparison.Ordinal) == true => Ecosystems.OpenSuse,
        _ => Ecosystems.RedHat,
    };

    /// <summary>Trivy's result type (the OS family) for an rpm-based OS ID.</summary>
    public static string RpmResultType(string? osId) => osId switch
    {
        "rocky" => "rocky",
        "almalinux" => "alma",
        "centos" => "centos",
        "fedora" => "fedora",
        "amzn" => "amazon",
        "ol" => "oracle",
        _ when osId?.StartsWith("opensuse", StringComparison.Ordinal) == true => "opensuse",
        "sles" or "sled" or "suse" => "suse",
        _ => "redhat",
    };

    internal static InstalledPackage Apply(InstalledPackage package, OsInfo? os)
    {
        switch (package.Type)
        {
            case "debian" when os?.Id == "ubuntu":
                return package with { Ecosystem = Ecosystems.Ubuntu, Type = "ubuntu" };
            case RpmType:
                return package with { Ecosystem = RpmEcosystem(os?.Id), Type = RpmResultType(os?.Id) };
            default:
                return package;
        }
    }
}
