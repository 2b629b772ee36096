namespace Berth.Scanning.Inventory;

/// <summary>
/// One package found in an image's final file system. <see cref="Ecosystem"/> is the OSV ecosystem name without a
/// release suffix ("Debian", "Alpine", "Rocky Linux", "Red Hat", "openSUSE", "PyPI", "npm", "Go", "NuGet", "Maven");
/// OS packages are matched within the release taken from <see cref="ImageInventory.Os"/> ("Debian:12", "Alpine:v3.19").
/// Advisories for OS packages name source packages, so the source name and version are kept beside the binary ones
/// (null when the package is its own source).
/// </summary>
/// <param name="Ecosystem">OSV ecosystem (see <see cref="Ecosystems"/>).</param>
/// <param name="Name">Package name as the ecosystem spells it (dpkg binary package, PyPI project, npm name, Go module path, Maven "group:artifact").</param>
/// <param name="Version">Installed version, exactly as recorded (dpkg version with epoch, apk "1.2.3-r4", rpm "[epoch:]version-release").</param>
/// <param name="SourceName">Source package (dpkg <c>Source:</c>, apk origin, rpm source rpm name), or null.</param>
/// <param name="SourceVersion">Source version when it differs (binNMU, dpkg <c>Source: name (version)</c>), or null.</param>
/// <param name="Type">Trivy's result type: "debian", "alpine", "redhat", "python-pkg", "node-pkg", "gobinary", "dotnet-core", "jar".</param>
/// <param name="FilePath">Path in the image (no leading slash) of the file the package was read from.</param>
/// <param name="LayerDigest">Digest of the layer that file came from (after whiteouts: the layer that wins).</param>
/// <param name="Licenses">Declared licences, if the metadata says (SPDX ids or free text).</param>
public sealed record InstalledPackage(
    string Ecosystem,
    string Name,
    string Version,
    string? SourceName,
    string? SourceVersion,
    string Type,
    string FilePath,
    string? LayerDigest,
    IReadOnlyList<string>? Licenses = null)
{
    /// <summary>The name an advisory of this ecosystem names (the source package for OS packages when known).</summary>
    public string MatchName => SourceName ?? Name;

    /// <summary>The version an advisory's ranges are compared with.</summary>
    public string MatchVersion => SourceVersion ?? Version;
}

/// <summary>The OSV ecosystem names Berth knows (OSV spells them this way).</summary>
public static class Ecosystems
{
    public const string Debian = "Debian";
    public const string Ubuntu = "Ubuntu";
    public const string Alpine = "Alpine";
    public const string RedHat = "Red Hat";
    public const string Rocky = "Rocky Linux";
    public const string Alma = "AlmaLinux";
    public const string OpenSuse = "openSUSE";
    public const string PyPI = "PyPI";
    public const string Npm = "npm";
    public const string Go = "Go";
    public const string NuGet = "NuGet";
    public const string Maven = "Maven";
}

/// <summary>The image's operating system from <c>etc/os-release</c> (or <c>usr/lib/os-release</c>).</summary>
/// <param name="Id"><c>ID</c> ("debian", "alpine", "rocky").</param>
/// <param name="VersionId"><c>VERSION_ID</c> ("12", "3.19.1").</param>
/// <param name="PrettyName"><c>PRETTY_NAME</c>, for reports.</param>
/// <param name="VersionCodename"><c>VERSION_CODENAME</c> ("bookworm"), if any.</param>
public sealed record OsInfo(string Id, string VersionId, string? PrettyName, string? VersionCodename);

/// <summary>What an image contains: its OS (if it has one) and every package found, each with the layer it came from.</summary>
public sealed record ImageInventory(OsInfo? Os, IReadOnlyList<InstalledPackage> Packages);
