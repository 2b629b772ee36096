using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Oci;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;

namespace Berth.Scanning.Results;

/// <summary>A stored scan's inventory document read back: the image facts and the inventory.</summary>
public sealed record InventoryDocument(ImageFacts Image, ImageInventory Inventory);

/// <summary>
/// The JSON texts a registry scan stores per manifest (the metadata store keeps them as opaque text): the inventory
/// document (<c>{"v":1,"image":{…},"os":{…},"packages":[…]}</c>) and the findings document
/// (<c>{"v":1,"findings":[…]}</c>). Reading is strict about shape and bounded by the text's length (the store caps it);
/// a text that is not one of these documents throws <see cref="FormatException"/>. Unknown members are ignored, so a later
/// version can add fields; a different <c>v</c> is refused.
/// </summary>
public static class ScanDocuments
{
    public const int Version = 1;

    public static string WriteInventory(ImageFacts image, ImageInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(inventory);
        var dto = new InventoryDto
        {
            V = Version,
            Image = new ImageDto
            {
                ImageId = image.ImageId?.ToString(),
                ManifestDigest = image.ManifestDigest?.ToString(),
                LayerDigests = image.LayerDigests?.Select(d => d.ToString()).ToList(),
                DiffIds = image.DiffIds?.Select(d => d.ToString()).ToList(),
                Os = image.Os,
                Architecture = image.Architecture,
                Created = image.Created,
            },
            Os = inventory.Os is { } os ? new OsDto { Id = os.Id, VersionId = os.VersionId, PrettyName = os.PrettyName, VersionCodename = os.VersionCodename } : null,
            Packages = inventory.Packages.Select(ToDto).ToList(),
        };
        return JsonSerializer.Serialize(dto, ScanDocumentsJsonContext.Default.InventoryDto);
    }

    public static InventoryDocument ReadInventory(string json)
    {
        var dto = Deserialize(json, ScanDocumentsJsonContext.Default.InventoryDto);
        var image = dto.Image ?? new ImageDto();
        var facts = new ImageFacts(
            ImageId: ParseDigest(image.ImageId),
            ManifestDigest: ParseDigest(image.ManifestDigest),
            LayerDigests: image.LayerDigests?.Select(d => ParseDigest(d) ?? throw new FormatException("A layer digest is missing.")).ToList(),
            DiffIds: image.DiffIds?.Select(d => ParseDigest(d) ?? throw new FormatException("A diff id is missing.")).ToList(),
            Os: image.Os,
            Architecture: image.Architecture,
            Created: image.Created);
        var os = dto.Os is { } o
            ? new OsInfo(o.Id ?? throw new FormatException("The OS has no id."), o.VersionId ?? string.Empty, o.PrettyName, o.VersionCodename)
            : null;
        var packages = (dto.Packages ?? []).Select(FromDto).ToList();
        return new InventoryDocument(facts, new ImageInventory(os, packages));
    }

    public static string WriteFindings(IReadOnlyList<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var dto = new FindingsDto
        {
            V = Version,
            Findings = findings.Select(f => new FindingDto
            {
                VulnerabilityId = f.VulnerabilityId,
                AdvisoryId = f.AdvisoryId,
                Aliases = f.Aliases.Count == 0 ? null : [.. f.Aliases],
                Package = ToDto(f.Package),
                FixedVersion = f.FixedVersion,
                Severity = f.Severity,
                SeveritySource = f.SeveritySource,
                CvssVector = f.CvssVector,
                CvssScore = f.CvssScore,
                Title = f.Title,
                Published = f.Published,
                References = f.References.Count == 0 ? null : [.. f.References],
            }).ToList(),
        };
        return JsonSerializer.Serialize(dto, ScanDocumentsJsonContext.Default.FindingsDto);
    }

    public static IReadOnlyList<Finding> ReadFindings(string json)
    {
        var dto = Deserialize(json, ScanDocumentsJsonContext.Default.FindingsDto);
        return (dto.Findings ?? []).Select(f => new Finding(
            f.VulnerabilityId ?? throw new FormatException("A finding has no vulnerability id."),
            f.AdvisoryId ?? f.VulnerabilityId,
            f.Aliases ?? [],
            FromDto(f.Package ?? throw new FormatException("A finding has no package.")),
            f.FixedVersion,
            Enum.IsDefined(f.Severity) ? f.Severity : throw new FormatException("A finding has an unknown severity."),
            f.SeveritySource,
            f.CvssVector,
            f.CvssScore,
            f.Title,
            f.Published,
            f.References ?? [])).ToList();
    }

    private static T Deserialize<T>(string json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
        where T : class, IVersioned
    {
        ArgumentNullException.ThrowIfNull(json);
        T? dto;
        try
        {
            dto = JsonSerializer.Deserialize(json, info);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Not a stored scan document: {ex.Message}", ex);
        }

        if (dto is null)
        {
            throw new FormatException("Not a stored scan document: null.");
        }

        if (dto.V != Version)
        {
            throw new FormatException($"Stored scan document version {dto.V} is not {Version}.");
        }

        return dto;
    }

    private static Digest? ParseDigest(string? text) =>
        text is null ? null : Digest.TryParse(text, out var digest) ? digest : throw new FormatException($"'{text}' is not a digest.");

    private static PackageDto ToDto(InstalledPackage p) => new()
    {
        Ecosystem = p.Ecosystem,
        Name = p.Name,
        Version = p.Version,
        SourceName = p.SourceName,
        SourceVersion = p.SourceVersion,
        Type = p.Type,
        FilePath = p.FilePath,
        LayerDigest = p.LayerDigest,
        Licenses = p.Licenses is { Count: > 0 } l ? [.. l] : null,
    };

    private static InstalledPackage FromDto(PackageDto p) => new(
        p.Ecosystem ?? throw new FormatException("A package has no ecosystem."),
        p.Name ?? throw new FormatException("A package has no name."),
        p.Version ?? throw new FormatException("A package has no version."),
        p.SourceName,
        p.SourceVersion,
        p.Type ?? string.Empty,
        p.FilePath ?? string.Empty,
        p.LayerDigest,
        p.Licenses);

    internal interface IVersioned
    {
        int V { get; }
    }

    internal sealed class InventoryDto : IVersioned
    {
        public int V { get; set; }

        public ImageDto? Image { get; set; }

        public OsDto? Os { get; set; }

        public List<PackageDto>? Packages { get; set; }
    }

    internal sealed class ImageDto
    {
        public string? ImageId { get; set; }

        public string? ManifestDigest { get; set; }

        public List<string>? LayerDigests { get; set; }

        public List<string>? DiffIds { get; set; }

        public string? Os { get; set; }

        public string? Architecture { get; set; }

        public DateTimeOffset? Created { get; set; }
    }

    internal sealed class OsDto
    {
        public string? Id { get; set; }

        public string? VersionId { get; set; }

        public string? PrettyName { get; set; }

        public string? VersionCodename { get; set; }
    }

    internal sealed class PackageDto
    {
        public string? Ecosystem { get; set; }

        public string? Name { get; set; }

        public string? Version { get; set; }

        public string? SourceName { get; set; }

        public string? SourceVersion { get; set; }

        public string? Type { get; set; }

        public string? FilePath { get; set; }

        public string? LayerDigest { get; set; }

        public List<string>? Licenses { get; set; }
    }

    internal sealed class FindingsDto : IVersioned
    {
        public int V { get; set; }

        public List<FindingDto>? Findings { get; set; }
    }

    internal sealed class FindingDto
    {
        public string? VulnerabilityId { get; set; }

        public string? AdvisoryId { get; set; }

        public List<string>? Aliases { get; set; }

        public PackageDto? Package { get; set; }

        public string? FixedVersion { get; set; }

        public Severity Severity { get; set; }

        public string? SeveritySource { get; set; }

        public string? CvssVector { get; set; }

        public double? CvssScore { get; set; }

        public string? Title { get; set; }

        public DateTimeOffset? Published { get; set; }

        public List<string>? References { get; set; }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true, MaxDepth = 16)]
[JsonSerializable(typeof(ScanDocuments.InventoryDto))]
[JsonSerializable(typeof(ScanDocuments.FindingsDto))]
internal sealed partial class ScanDocumentsJsonContext : JsonSerializerContext;
