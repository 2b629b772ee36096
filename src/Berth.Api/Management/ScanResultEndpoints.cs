using System.Reflection;
using System.Text.Json;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Scanning;
using Berth.Oci;
using Berth.Scanning.Findings;
using Berth.Scanning.Layers;
using Berth.Scanning.Reports;
using Berth.Scanning.Results;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary>
/// Scan results and SBOMs of images in the registry: <c>GET /repositories/scan?repository=&amp;reference=</c> (pull: the
/// manifest's scan, or one per platform of an index; <c>&amp;findings=true</c> adds the stored inventory and findings),
/// <c>POST</c> of the same (push: queues the image, or every platform of an index; audited <c>scan.request</c>) and
/// <c>GET /repositories/sbom?repository=&amp;reference=&amp;format=&amp;platform=</c> (pull: a CycloneDX 1.6 or SPDX 2.3
/// document made from the stored inventory). A scan made before any advisories were imported reads as
/// <c>not_scanned</c>; manifests that are not images (artifacts) are <c>unsupported</c>, and an index lists only its
/// image manifests (attestations and other artifacts in it are left out). Reading a manifest here is not a pull.
/// </summary>
internal static class ScanResultEndpoints
{
    /// <summary>The status word of an image with no usable scan.</summary>
    public const string NotScanned = "not_scanned";

    private const string DockerConfig = "application/vnd.docker.container.image.v1+json";

    public static void Map(RouteGroupBuilder api)
    {
        var repositories = api.MapGroup("/repositories").WithTags("scanning");
        repositories.MapGet("/scan", GetAsync).WithName("GetScan")
            .WithSummary("The scan of ?reference= in ?repository= (per platform for an index); &findings=true adds inventory and findings")
            .RequireProject(ProjectPermissions.Pull).WithMetadata(new RepositoryQueryRoute()).AllowAccessTokens()
            .ProducesProblems(StatusCodes.Status404NotFound);
        repositories.MapPost("/scan", RequestAsync).WithName("RequestScan")
            .WithSummary("Queue a scan of ?reference= in ?repository= (each platform of an index); 202 with the scan as GET shows it")
            .RequireProject(ProjectPermissions.Push).WithMetadata(new RepositoryQueryRoute()).AllowAccessTokens()
            .ProducesProblems(StatusCodes.Status404NotFound);
        repositories.MapGet("/sbom", GetSbomAsync).WithName("GetSbom")
            .WithSummary("The SBOM of ?reference= (an index: &platform=os/arch) as CycloneDX 1.6 or SPDX 2.3 JSON (&format=cyclonedx|spdx-json)")
            .RequireProject(ProjectPermissions.Pull).WithMetadata(new RepositoryQueryRoute()).AllowAccessTokens()
            .Produces(StatusCodes.Status200OK, contentType: CycloneDxWriter.MediaType, additionalContentTypes: [SpdxJsonWriter.MediaType])
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
    }

    private static async Task<Results<Ok<RepositoryScanResponse>, ValidationProblem, ProblemHttpResult>> GetAsync(
        [FromQuery(Name = "reference")] string? referenceText, [FromQuery(Name = "findings")] string? findingsText,
        [FromServices] ManifestService manifests, [FromServices] IScanResultStore results, [FromServices] AdvisoryVersionCache advisories,
        HttpContext context, CancellationToken cancellationToken)
    {
        if (!TryReadFindings(findingsText, out var withFindings, out var invalid))
        {
            return invalid!;
        }

        var target = await ResolveAsync(referenceText, manifests, context, cancellationToken);
        if (target.Problem is { } problem)
        {
            return problem;
        }

        if (target.Invalid is { } invalidReference)
        {
            return invalidReference;
        }

        var version = await advisories.GetAsync(cancellationToken);
        return TypedResults.Ok(await DescribeAsync(target.Value!, results, version, withFindings, cancellationToken));
    }

    private static async Task<Results<Accepted<RepositoryScanResponse>, ValidationProblem, ProblemHttpResult>> RequestAsync(
        [FromQuery(Name = "reference")] string? referenceText, [FromServices] ManifestService manifests, [FromServices] IScanResultStore results, [FromServices] AdvisoryVersionCache advisories,
        [FromServices] Microsoft.Extensions.Options.IOptions<Berth.Application.Scanning.ScanningOptions> scanning, ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var target = await ResolveAsync(referenceText, manifests, context, cancellationToken);
        if (target.Problem is { } problem)
        {
            return problem;
        }

        if (target.Invalid is { } invalidReference)
        {
            return invalidReference;
        }

        var resolved = target.Value!;
        var now = services.Clock.GetUtcNow();
        var queued = new List<string>();
        foreach (var image in resolved.Images.Where(i => i.IsImage))
        {
            if (await results.EnqueueAsync(image.Digest, now, scanning.Value.Lease, cancellationToken) == ScanEnqueueResult.Queued)
            {
                queued.Add(image.Digest.ToString());
            }
        }

        var version = await advisories.GetAsync(cancellationToken);
        await services.Audit.RecordAsync(context.Caller(), ScanAuditActions.ScanRequest, ProjectName.Of(resolved.Repository), resolved.Repository,
            new { reference = resolved.Reference.ToString(), digest = resolved.Digest.ToString(), queued, databaseVersion = version });
        var body = await DescribeAsync(resolved, results, version, withFindings: false, cancellationToken);
        return TypedResults.Accepted(default(string), body);
    }

    private static async Task<Results<FileContentHttpResult, ValidationProblem, ProblemHttpResult>> GetSbomAsync(
        [FromQuery(Name = "reference")] string? referenceText, [FromQuery(Name = "format")] string? formatText,
        [FromQuery(Name = "platform")] string? platformText, [FromServices] ManifestService manifests, [FromServices] IScanResultStore results,
        ManagementServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var format = ReportFormat.CycloneDx;
        if (formatText is not null && (!ReportFormats.TryParse(formatText, out format) || format is not (ReportFormat.CycloneDx or ReportFormat.SpdxJson)))
        {
            return Problems.Invalid("format", "must be cyclonedx or spdx-json");
        }

        ImagePlatform? platform = null;
        if (platformText is not null)
        {
            try
            {
                platform = ImagePlatform.Parse(platformText);
            }
            catch (ScanException ex)
            {
                return Problems.Invalid("platform", ex.Message);
            }
        }

        var target = await ResolveAsync(referenceText, manifests, context, cancellationToken);
        if (target.Problem is { } problem)
        {
            return problem;
        }

        if (target.Invalid is { } invalidReference)
        {
            return invalidReference;
        }

        var resolved = target.Value!;
        var image = resolved.Images[0];
        if (resolved.IsIndex)
        {
            var platforms = resolved.Images.Where(i => i.IsImage).ToList();
            var names = platforms.Count == 0 ? "none" : string.Join(", ", platforms.Select(p => p.PlatformText));
            if (platform is null)
            {
                return Problems.Invalid("platform", $"'{resolved.Reference}' is an index: choose a platform (os/arch[/variant]) of: {names}");
            }

            var chosen = platforms.FirstOrDefault(p => p.Platform is { } known && platform.Matches(known));
            if (chosen is null)
            {
                return Problems.Invalid("platform", $"'{platform}' is not a platform of '{resolved.Reference}': {names}");
            }

            image = chosen;
        }

        if (!image.IsImage)
        {
            return Problems.Conflict($"{image.Digest} is not an image ({image.NotImageReason}): it has no packages to list");
        }

        var result = await results.GetAsync(image.Digest, cancellationToken);
        if (result is not { Inventory: { } inventoryText, DatabaseVersion: not null })
        {
            return Problems.Conflict($"{image.Digest} is not scanned yet: its SBOM is made from the scan's inventory "
                + $"(berth scan {resolved.Repository}@{image.Digest}, or POST /api/v1/repositories/scan)");
        }

        InventoryDocument document;
        try
        {
            document = ScanDocuments.ReadInventory(inventoryText);
        }
        catch (FormatException)
        {
            return Problems.Conflict($"the stored inventory of {image.Digest} cannot be read; scan it again");
        }

        var name = resolved.Reference.IsDigest ? $"{resolved.Repository}@{resolved.Digest}" : $"{resolved.Repository}:{resolved.Reference}";
        var facts = document.Image with
        {
            ManifestDigest = document.Image.ManifestDigest ?? image.Digest,
            RepoTags = resolved.Reference.IsDigest ? null : [name],
            RepoDigests = [$"{resolved.Repository}@{image.Digest}"],
        };
        var report = new ScanReport(name, facts, document.Inventory, Array.Empty<Finding>(), services.Clock.GetUtcNow());
        using var buffer = new MemoryStream();
        ReportFormats.Write(format, report, buffer, new ReportWriteOptions(ToolVersion(), Guid.NewGuid()));
        return TypedResults.File(buffer.ToArray(), ReportFormats.MediaTypeOf(format));
    }

    // ------------------------------------------------------------------ reading

    private static bool TryReadFindings(string? text, out bool value, out ValidationProblem? invalid)
    {
        invalid = null;
        value = false;
        if (text is null || bool.TryParse(text, out value))
        {
            return true;
        }

        invalid = Problems.Invalid("findings", "must be true or false");
        return false;
    }

    /// <summary>The manifest the query names, with its images (itself, or an index's platform manifests).</summary>
    private static async Task<Resolution> ResolveAsync(string? referenceText, ManifestService manifests, HttpContext context, CancellationToken cancellationToken)
    {
        RepositoryQueryRoute.TryRead(context, out var repository); // authorization refused a missing or malformed one
        if (!Reference.TryParse(referenceText, out var reference))
        {
            return new Resolution(null, Problems.Invalid("reference", "is required and must be a tag or a digest (sha256:…)"), null);
        }

        var found = await manifests.GetAsync(repository, reference, countAsPull: false, cancellationToken);
        if (!found.IsSuccess)
        {
            return new Resolution(null, null, Problems.NotFound($"manifest '{reference}' is not in repository '{repository}'"));
        }

        var record = found.Value!;
        var manifest = Manifest.TryParse(record.Body, record.MediaType, out _);
        if (manifest is not { Kind: ManifestKind.Index })
        {
            return new Resolution(new ResolvedManifest(repository, reference, record.Digest, record.MediaType, false, [Describe(record.Digest, record.MediaType, manifest, null)]), null, null);
        }

        var platforms = IndexPlatforms(record.Body);
        var images = new List<ImageEntry>();
        foreach (var child in manifest.References)
        {
            platforms.TryGetValue(child.Digest, out var platform);
            var childRecord = await manifests.GetAsync(repository, Reference.Of(child.Digest), countAsPull: false, cancellationToken);
            var childManifest = childRecord.IsSuccess ? Manifest.TryParse(childRecord.Value!.Body, childRecord.Value.MediaType, out _) : null;
            var entry = Describe(child.Digest, child.MediaType, childManifest, platform);
            if (entry.IsImage && images.All(i => i.Digest != entry.Digest))
            {
                images.Add(entry);
            }
        }

        return new Resolution(new ResolvedManifest(repository, reference, record.Digest, record.MediaType, true, images), null, null);
    }

    /// <summary>An image is a manifest whose config is an image config and which has layers; anything else is an artifact to the scanner.</summary>
    private static ImageEntry Describe(Digest digest, string mediaType, Manifest? manifest, ImagePlatform? platform)
    {
        string? reason = manifest switch
        {
            null => "a manifest the scanner cannot read",
            { Kind: ManifestKind.Index } => "an index inside an index",
            { Config.MediaType: not (MediaTypes.OciConfig or DockerConfig) } => $"an artifact of type {manifest.EffectiveArtifactType ?? "unknown"}",
            { References.Count: 0 } => "an image without layers",
            _ => null,
        };
        return new ImageEntry(digest, mediaType, platform, reason);
    }

    /// <summary>The <c>platform</c> of each of an index's manifests, by digest (the first when a digest is listed twice).</summary>
    private static Dictionary<Digest, ImagePlatform> IndexPlatforms(byte[] body)
    {
        var platforms = new Dictionary<Digest, ImagePlatform>();
        try
        {
            using var document = JsonDocument.Parse(body);
            if (!document.RootElement.TryGetProperty("manifests", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return platforms;
            }

            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object
                    && item.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String && Digest.TryParse(d.GetString(), out var digest)
                    && item.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object
                    && Text(p, "os") is { Length: > 0 } os && Text(p, "architecture") is { Length: > 0 } architecture)
                {
                    platforms.TryAdd(digest, new ImagePlatform(os, architecture, Text(p, "variant") is { Length: > 0 } variant ? variant : null));
                }
            }
        }
        catch (JsonException)
        {
            // Stored indexes were parsed at push; a body that is not JSON has no platforms to name.
        }

        return platforms;

        static string? Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    private static async Task<RepositoryScanResponse> DescribeAsync(ResolvedManifest resolved, IScanResultStore results, long databaseVersion, bool withFindings,
        CancellationToken cancellationToken)
    {
        var digests = resolved.Images.Where(i => i.IsImage).Select(i => i.Digest).Distinct().Take(Core.Scanning.ScanLimits.MaxDigestsPerQuery).ToList();
        var stored = digests.Count == 0 ? [] : (await results.GetManyAsync(digests, cancellationToken)).ToDictionary(r => r.Digest);
        ImageScanResponse ScanOf(ImageEntry image) => image.IsImage
            ? ToResponse(stored.GetValueOrDefault(image.Digest), withFindings)
            : new ImageScanResponse(ScanWords.Of(ScanStatus.Unsupported), null, null, $"not an image: {image.NotImageReason}", ScanCountsResponse.None, []);

        return resolved.IsIndex
            ? new RepositoryScanResponse(resolved.Repository.Value, resolved.Reference.ToString(), resolved.Digest.ToString(), resolved.MediaType, databaseVersion, null,
                resolved.Images.Select(i => new PlatformScanResponse(i.Digest.ToString(), i.MediaType, i.Platform?.Os, i.Platform?.Architecture, i.Platform?.Variant, ScanOf(i))).ToList())
            : new RepositoryScanResponse(resolved.Repository.Value, resolved.Reference.ToString(), resolved.Digest.ToString(), resolved.MediaType, databaseVersion,
                ScanOf(resolved.Images[0]), null);
    }

    /// <summary>A stored scan as readers see it: none, or one made before any advisories existed, is <c>not_scanned</c>.</summary>
    private static ImageScanResponse ToResponse(ScanResult? result, bool withFindings)
    {
        if (result is null || (result.Status == ScanStatus.Done && result.DatabaseVersion is null))
        {
            return new ImageScanResponse(NotScanned, null, null, null, ScanCountsResponse.None, []);
        }

        var worst = result.WorstIds?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
        var documents = withFindings && result.Status == ScanStatus.Done && result.DatabaseVersion is not null;
        return new ImageScanResponse(ScanWords.Of(result.Status), result.DatabaseVersion, Wire.Time(result.ScannedAt), result.Error,
            ScanCountsResponse.From(result.Counts), worst,
            documents ? Parse(result.Inventory) : null, documents ? Parse(result.Findings) : null);
    }

    private static JsonElement? Parse(string? text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 32 });
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string ToolVersion() =>
        typeof(ScanResultEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>One manifest to show: an image (<see cref="NotImageReason"/> null) or an artifact.</summary>
    private sealed record ImageEntry(Digest Digest, string MediaType, ImagePlatform? Platform, string? NotImageReason)
    {
        public bool IsImage => NotImageReason is null;

        public string PlatformText => Platform?.ToString() ?? "unknown";
    }

    private sealed record ResolvedManifest(RepositoryName Repository, Reference Reference, Digest Digest, string MediaType, bool IsIndex, IReadOnlyList<ImageEntry> Images);

    private sealed record Resolution(ResolvedManifest? Value, ValidationProblem? Invalid, ProblemHttpResult? Problem);
}
