using Berth.Oci;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;

namespace Berth.Scanning.Reports;

/// <summary>
/// Facts about the scanned image that reports and SBOMs print beside the packages. Every member is optional: a local
/// archive has no repo digest, an image built without a config date has no <see cref="Created"/>.
/// </summary>
/// <param name="ImageId">The config blob's digest (what <c>docker images</c> calls the image id).</param>
/// <param name="ManifestDigest">The manifest's digest (the image's identity in the registry).</param>
/// <param name="RepoTags">"registry/repo:tag" names of the image.</param>
/// <param name="RepoDigests">"registry/repo@sha256:…" names of the image.</param>
/// <param name="LayerDigests">The manifest's layer digests, in order.</param>
/// <param name="DiffIds">The config's <c>rootfs.diff_ids</c>, in order (same count as <paramref name="LayerDigests"/> when both are known).</param>
/// <param name="Os">The config's <c>os</c> ("linux").</param>
/// <param name="Architecture">The config's <c>architecture</c> ("amd64", "arm64").</param>
/// <param name="Created">The config's <c>created</c>.</param>
public sealed record ImageFacts(
    Digest? ImageId = null,
    Digest? ManifestDigest = null,
    IReadOnlyList<string>? RepoTags = null,
    IReadOnlyList<string>? RepoDigests = null,
    IReadOnlyList<Digest>? LayerDigests = null,
    IReadOnlyList<Digest>? DiffIds = null,
    string? Os = null,
    string? Architecture = null,
    DateTimeOffset? Created = null)
{
    /// <summary>No facts known.</summary>
    public static ImageFacts None { get; } = new();

    /// <summary>The diff id of the layer with digest <paramref name="layerDigest"/>, when both lists are known and line up; else null.</summary>
    public Digest? DiffIdOf(string? layerDigest)
    {
        if (layerDigest is null || LayerDigests is null || DiffIds is null || LayerDigests.Count != DiffIds.Count)
        {
            return null;
        }

        for (var i = 0; i < LayerDigests.Count; i++)
        {
            if (string.Equals(LayerDigests[i].ToString(), layerDigest, StringComparison.Ordinal))
            {
                return DiffIds[i];
            }
        }

        return null;
    }
}

/// <summary>
/// Everything a report or SBOM writer needs: the artifact's name, the image facts, the inventory and the findings to show.
/// The writers print <see cref="Findings"/> as given: filter first (<see cref="FindingFilter"/>), then write.
/// </summary>
/// <param name="ArtifactName">The name the user scanned ("localhost:5000/shop/api:v1.0", or an archive's path).</param>
/// <param name="Image">Facts about the image (<see cref="ImageFacts.None"/> when unknown).</param>
/// <param name="Inventory">The image's OS and packages.</param>
/// <param name="Findings">The findings to report (already filtered).</param>
/// <param name="CreatedAt">When the report is made (from the caller's clock, so output is reproducible in tests).</param>
public sealed record ScanReport(
    string ArtifactName,
    ImageFacts Image,
    ImageInventory Inventory,
    IReadOnlyList<Finding> Findings,
    DateTimeOffset CreatedAt);
