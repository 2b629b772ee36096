using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;

namespace Berth.Scanning.Reports;

/// <summary>
/// One block of a report, as Trivy groups them: the OS packages in one result ("os-pkgs", typed by the OS family), and
/// language packages per file ("lang-pkgs": a Go binary, a deps.json, a lock file) or, for the types Trivy gathers
/// from the whole file system, one per language ("Node.js", "Python", "Java").
/// </summary>
/// <param name="Target">"shop/api:v1 (debian 12.15)" for the OS; a file path or language name otherwise.</param>
/// <param name="Class">"os-pkgs" or "lang-pkgs".</param>
/// <param name="Type">Trivy's type ("debian", "alpine", "node-pkg", "python-pkg", "gobinary", "jar", "dotnet-core").</param>
/// <param name="Packages">The packages of this result, in inventory order.</param>
/// <param name="Findings">Its findings, sorted: package name, then severity (worst first), then vulnerability id.</param>
public sealed record ReportResult(
    string Target,
    string Class,
    string Type,
    IReadOnlyList<InstalledPackage> Packages,
    IReadOnlyList<Finding> Findings)
{
    /// <summary>The class of OS package results.</summary>
    public const string OsClass = "os-pkgs";

    /// <summary>The class of language package results.</summary>
    public const string LangClass = "lang-pkgs";
}

/// <summary>Groups a report's packages and findings into <see cref="ReportResult"/>s, deterministically.</summary>
public static class ReportResults
{
    private static readonly HashSet<string> OsEcosystems = new(StringComparer.Ordinal)
    {
        Ecosystems.Debian, Ecosystems.Ubuntu, Ecosystems.Alpine, Ecosystems.RedHat, Ecosystems.Rocky, Ecosystems.Alma,
        Ecosystems.OpenSuse,
    };

    private static readonly Dictionary<string, string> AggregatedTypes = new(StringComparer.Ordinal)
    {
        ["node-pkg"] = "Node.js",
        ["python-pkg"] = "Python",
        ["jar"] = "Java",
        ["gemspec"] = "Ruby",
    };

    /// <summary>True for packages of an OS package manager (dpkg, apk, rpm).</summary>
    public static bool IsOsPackage(InstalledPackage package)
    {
        ArgumentNullException.ThrowIfNull(package);
        return OsEcosystems.Contains(package.Ecosystem);
    }

    /// <summary>The findings' sort order in every report: package name, severity (worst first), vulnerability id, then version and path.</summary>
    public static IEnumerable<Finding> Sort(IEnumerable<Finding> findings) =>
        findings
            .OrderBy(f => f.Package.Name, StringComparer.Ordinal)
            .ThenByDescending(f => f.Severity)
            .ThenBy(f => f.VulnerabilityId, StringComparer.Ordinal)
            .ThenBy(f => f.Package.Version, StringComparer.Ordinal)
            .ThenBy(f => f.Package.FilePath, StringComparer.Ordinal);

    /// <summary>
    /// The results: the OS result first (present whenever the inventory has an OS or OS packages, even with no findings,
    /// as Trivy keeps it), then language results ordered by target and type. Results with packages but no findings are kept.
    /// Findings whose package is not in the inventory land in the result their package would belong to.
    /// </summary>
    public static IReadOnlyList<ReportResult> Build(ScanReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var os = report.Inventory.Os;
        var osTarget = OsTarget(report.ArtifactName, os);
        var osType = report.Inventory.Packages.FirstOrDefault(IsOsPackage)?.Type is { Length: > 0 } t ? t : os?.Id ?? "unknown";
        var groups = new Dictionary<(string Target, string Class, string Type), (List<InstalledPackage> Packages, List<Finding> Findings)>();

        (string, string, string) KeyOf(InstalledPackage p) => IsOsPackage(p)
            ? (osTarget, ReportResult.OsClass, osType)
            : (AggregatedTypes.TryGetValue(p.Type, out var lang) ? lang : p.FilePath, ReportResult.LangClass, p.Type);

        (List<InstalledPackage>, List<Finding>) Group((string, string, string) key)
        {
            if (!groups.TryGetValue(key, out var g))
            {
                g = ([], []);
                groups[key] = g;
            }

            return g;
        }

        if (os is not null)
        {
            Group((osTarget, ReportResult.OsClass, osType));
        }

        foreach (var package in report.Inventory.Packages)
        {
            Group(KeyOf(package)).Item1.Add(package);
        }

        foreach (var finding in report.Findings)
        {
            Group(KeyOf(finding.Package)).Item2.Add(finding);
        }

        return groups
            .OrderBy(g => g.Key.Class == ReportResult.OsClass ? 0 : 1)
            .ThenBy(g => g.Key.Target, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Type, StringComparer.Ordinal)
            .Select(g => new ReportResult(g.Key.Target, g.Key.Class, g.Key.Type, g.Value.Packages, Sort(g.Value.Findings).ToList()))
            .ToList();
    }

    /// <summary>"name (debian 12.15)", as Trivy names the OS result; "name" alone when the OS is unknown.</summary>
    public static string OsTarget(string artifactName, OsInfo? os) =>
        os is null ? artifactName : $"{artifactName} ({os.Id} {os.VersionId})";
}
