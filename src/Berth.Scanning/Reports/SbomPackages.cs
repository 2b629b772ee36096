using Berth.Oci;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;

namespace Berth.Scanning.Reports;

/// <summary>One package as both SBOM writers list it: the package, its purl, and a reference unique within the document.</summary>
internal sealed record SbomPackage(InstalledPackage Package, string Purl, string Ref, bool IsOs);

/// <summary>The package list both SBOM writers share: OS packages first, then the rest, each by name, version and path; a package listed twice appears once.</summary>
internal static class SbomPackages
{
    public static IReadOnlyList<SbomPackage> Of(ScanReport report)
    {
        var os = report.Inventory.Os;
        var used = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<SbomPackage>();
        // Packages named only by a finding (not in the inventory) are listed too, so every reference resolves.
        foreach (var p in report.Inventory.Packages.Concat(report.Findings.Select(f => f.Package)).Distinct()
                     .OrderBy(p => ReportResults.IsOsPackage(p) ? 0 : 1)
                     .ThenBy(p => p.Name, StringComparer.Ordinal)
                     .ThenBy(p => p.Version, StringComparer.Ordinal)
                     .ThenBy(p => p.FilePath, StringComparer.Ordinal))
        {
            var purl = PackageUrl.For(p, os);
            var reference = purl;
            for (var n = 2; !used.Add(reference); n++)
            {
                reference = $"{purl}#{n}";
            }

            list.Add(new SbomPackage(p, purl, reference, ReportResults.IsOsPackage(p)));
        }

        return list;
    }

    /// <summary>
    /// The image's purl (<c>pkg:oci/NAME@DIGEST?repository_url=REGISTRY/REPO</c>) when its manifest digest is known; else null.
    /// The name is the repository's last path segment; tag and digest are cut from <paramref name="artifactName"/>.
    /// </summary>
    public static string? ImagePurl(string artifactName, Digest? manifestDigest)
    {
        if (manifestDigest is not { } digest)
        {
            return null;
        }

        var repository = artifactName;
        var at = repository.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            repository = repository[..at];
        }

        var lastSlash = repository.LastIndexOf('/');
        var colon = repository.LastIndexOf(':');
        if (colon > lastSlash)
        {
            repository = repository[..colon];
        }

        var name = repository[(repository.LastIndexOf('/') + 1)..].ToLowerInvariant();
        if (name.Length == 0)
        {
            return null;
        }

        return PackageUrl.Build("oci", null, name, digest.ToString(), [new("repository_url", repository.ToLowerInvariant())]);
    }
}
