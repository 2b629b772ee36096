using System.Text.Json;
using Berth.Core.Scanning;

namespace Berth.Api.Management;

/// <summary>How many findings of each severity a scan reported, and their sum.</summary>
public sealed record ScanCountsResponse(int Unknown, int Low, int Medium, int High, int Critical, int Total)
{
    public static ScanCountsResponse From(SeverityCounts c) => new(c.Unknown, c.Low, c.Medium, c.High, c.Critical, c.Total);

    public static ScanCountsResponse None { get; } = From(default);
}

/// <summary>
/// One image's scan as readers see it. <see cref="Status"/> is <c>queued</c>, <c>scanning</c>, <c>done</c>, <c>failed</c>,
/// <c>unsupported</c> or <c>not_scanned</c> (no result, or one made before any advisories were imported).
/// <see cref="DatabaseVersion"/> is the advisory database version the findings came from. <see cref="Inventory"/> and
/// <see cref="Findings"/> are the stored documents (<c>{"v":1,"image":…,"os":…,"packages":[…]}</c> and
/// <c>{"v":1,"findings":[…]}</c>), present only with <c>?findings=true</c> and a finished scan.
/// </summary>
public sealed record ImageScanResponse(string Status, long? DatabaseVersion, string? ScannedAt, string? Error, ScanCountsResponse Counts,
    IReadOnlyList<string> WorstIds, JsonElement? Inventory = null, JsonElement? Findings = null);

/// <summary>One platform of an index: its manifest, the platform the index names and that manifest's scan.</summary>
public sealed record PlatformScanResponse(string Digest, string MediaType, string? Os, string? Architecture, string? Variant, ImageScanResponse Scan);

/// <summary>
/// <c>GET</c>/<c>POST /api/v1/repositories/scan</c>: the manifest the reference names and its scan (an image:
/// <see cref="Scan"/>; an index: <see cref="Platforms"/>, one per platform manifest). <see cref="DatabaseVersion"/> is the
/// server's advisory database version now (0: nothing imported yet, so nothing can be found).
/// </summary>
public sealed record RepositoryScanResponse(string Repository, string Reference, string Digest, string MediaType, long DatabaseVersion,
    ImageScanResponse? Scan, IReadOnlyList<PlatformScanResponse>? Platforms);
