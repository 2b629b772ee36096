using System.Globalization;
using System.Text.Json;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;

namespace Berth.Scanning.Reports;

/// <summary>
/// The JSON report in Trivy's layout (<c>SchemaVersion</c> 2), so tools that read Trivy's reports read Berth's:
/// <c>CreatedAt</c>, <c>ArtifactName</c>, <c>ArtifactType</c> "container_image", <c>Metadata</c> (OS, ImageID, DiffIDs,
/// RepoTags, RepoDigests, ImageConfig), and <c>Results[]</c> (Target, Class, Type, Vulnerabilities[]). Field names and
/// casing are Trivy's. Fields with no value are left out rather than written as null, except that every result is
/// written, with or without vulnerabilities. CVSS is keyed "osv" (the data comes from the OSV record).
/// </summary>
public static class JsonReportWriter
{
    /// <summary>The value of <c>ArtifactType</c>.</summary>
    public const string ContainerImage = "container_image";

    /// <summary>Writes the report to <paramref name="output"/> (UTF-8, indented). The stream is flushed, not closed.</summary>
    public static void Write(ScanReport report, Stream output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = JsonText.Encoder });
        w.WriteStartObject();
        w.WriteNumber("SchemaVersion", 2);
        w.WriteString("CreatedAt", report.CreatedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
        w.WriteString("ArtifactName", report.ArtifactName);
        w.WriteString("ArtifactType", ContainerImage);
        WriteMetadata(w, report);
        w.WriteStartArray("Results");
        foreach (var result in ReportResults.Build(report))
        {
            w.WriteStartObject();
            w.WriteString("Target", result.Target);
            w.WriteString("Class", result.Class);
            w.WriteString("Type", result.Type);
            if (result.Findings.Count > 0)
            {
                w.WriteStartArray("Vulnerabilities");
                foreach (var finding in result.Findings)
                {
                    WriteVulnerability(w, report, finding);
                    JsonText.FlushIfFull(w);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
    }

    private static void WriteMetadata(Utf8JsonWriter w, ScanReport report)
    {
        var image = report.Image;
        w.WriteStartObject("Metadata");
        if (report.Inventory.Os is { } os)
        {
            w.WriteStartObject("OS");
            w.WriteString("Family", os.Id);
            w.WriteString("Name", os.VersionId);
            w.WriteEndObject();
        }

        if (image.ImageId is { } id)
        {
            w.WriteString("ImageID", id.ToString());
        }

        WriteStrings(w, "DiffIDs", image.DiffIds?.Select(d => d.ToString()));
        WriteStrings(w, "RepoTags", image.RepoTags);
        WriteStrings(w, "RepoDigests", image.RepoDigests);
        if (image.Architecture is not null || image.Os is not null || image.Created is not null)
        {
            w.WriteStartObject("ImageConfig");
            if (image.Architecture is not null)
            {
                w.WriteString("architecture", image.Architecture);
            }

            if (image.Created is { } created)
            {
                w.WriteString("created", Timestamp(created));
            }

            if (image.Os is not null)
            {
                w.WriteString("os", image.Os);
            }

            if (image.DiffIds is { Count: > 0 } diffIds)
            {
                w.WriteStartObject("rootfs");
                w.WriteString("type", "layers");
                WriteStrings(w, "diff_ids", diffIds.Select(d => d.ToString()));
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteVulnerability(Utf8JsonWriter w, ScanReport report, Finding f)
    {
        var p = f.Package;
        w.WriteStartObject();
        w.WriteString("VulnerabilityID", f.VulnerabilityId);
        if (!string.Equals(f.AdvisoryId, f.VulnerabilityId, StringComparison.Ordinal) || f.Aliases.Count > 0)
        {
            WriteStrings(w, "VendorIDs", new[] { f.AdvisoryId }.Concat(f.Aliases)
                .Where(a => !string.Equals(a, f.VulnerabilityId, StringComparison.Ordinal)).Distinct(StringComparer.Ordinal));
        }

        w.WriteString("PkgID", $"{p.Name}@{p.Version}");
        w.WriteString("PkgName", p.Name);
        w.WriteStartObject("PkgIdentifier");
        w.WriteString("PURL", PackageUrl.For(p, report.Inventory.Os));
        w.WriteEndObject();
        w.WriteString("InstalledVersion", p.Version);
        w.WriteString("FixedVersion", f.FixedVersion ?? string.Empty);
        w.WriteString("Status", string.IsNullOrEmpty(f.FixedVersion) ? "affected" : "fixed");
        if (p.LayerDigest is not null)
        {
            w.WriteStartObject("Layer");
            w.WriteString("Digest", p.LayerDigest);
            if (report.Image.DiffIdOf(p.LayerDigest) is { } diffId)
            {
                w.WriteString("DiffID", diffId.ToString());
            }

            w.WriteEndObject();
        }

        if (f.SeveritySource is not null)
        {
            w.WriteString("SeveritySource", f.SeveritySource);
        }

        if (f.References.Count > 0)
        {
            w.WriteString("PrimaryURL", f.References[0]);
        }

        w.WriteStartObject("DataSource");
        w.WriteString("ID", "osv");
        w.WriteString("Name", "OSV advisory " + f.AdvisoryId);
        w.WriteEndObject();
        if (f.Title is not null)
        {
            w.WriteString("Title", f.Title);
        }

        w.WriteString("Severity", f.Severity.ToName());
        if (f.CvssVector is { } vector)
        {
            var version = Cvss.VersionOf(vector);
            var key = version switch { "4.0" => "V40", "2.0" => "V2", _ => "V3" };
            w.WriteStartObject("CVSS");
            w.WriteStartObject("osv");
            w.WriteString(key + "Vector", vector);
            if (f.CvssScore is { } score)
            {
                w.WriteNumber(key + "Score", score);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        WriteStrings(w, "References", f.References, always: true);
        if (f.Published is { } published)
        {
            w.WriteString("PublishedDate", Timestamp(published));
        }

        w.WriteEndObject();
    }

    private static string Timestamp(DateTimeOffset value) =>
        value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string>? values, bool always = false)
    {
        var list = values?.ToList();
        if (list is null || (list.Count == 0 && !always))
        {
            return;
        }

        w.WriteStartArray(name);
        foreach (var value in list)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }
}
