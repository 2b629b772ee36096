using System.Globalization;
using System.Text.Json;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;

namespace Berth.Scanning.Reports;

/// <summary>
/// A CycloneDX 1.6 JSON SBOM of an image: <c>metadata.component</c> is the image (type "container", its manifest digest
/// as a SHA-256 hash and an oci purl when known); <c>components</c> hold an "operating-system" component for the OS and
/// one "library" component per package (purl, licences, and <c>berth:</c> properties for the layer, file path, package
/// type and source package); <c>dependencies</c> say the image holds the OS and the language packages, and the OS holds
/// its packages. When the report has findings, <c>vulnerabilities</c> lists one entry per vulnerability id with its rating
/// (severity, and CVSS score, method and vector when known), advisories (reference URLs), aliases and the affected
/// components by bom-ref.
/// </summary>
public static class CycloneDxWriter
{
    /// <summary>The media type of the output (what an OCI referrer's artifact type says).</summary>
    public const string MediaType = "application/vnd.cyclonedx+json";

    private const string ImageRef = "berth:image";
    private const string OsRef = "berth:os";

    /// <summary>Writes the SBOM to <paramref name="output"/> (UTF-8, indented); the stream is flushed, not closed.</summary>
    /// <param name="report">The image, its inventory and (optionally) findings.</param>
    /// <param name="output">Where to write.</param>
    /// <param name="options">Serial number and tool version.</param>
    /// <param name="includeVulnerabilities">Write the <c>vulnerabilities</c> section from <see cref="ScanReport.Findings"/>.</param>
    public static void Write(ScanReport report, Stream output, SbomOptions options, bool includeVulnerabilities = true)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(options);
        var packages = SbomPackages.Of(report);
        var os = report.Inventory.Os;
        var imagePurl = SbomPackages.ImagePurl(report.ArtifactName, report.Image.ManifestDigest);
        var imageRef = imagePurl ?? ImageRef;

        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = JsonText.Encoder });
        w.WriteStartObject();
        w.WriteString("$schema", "http://cyclonedx.org/schema/bom-1.6.schema.json");
        w.WriteString("bomFormat", "CycloneDX");
        w.WriteString("specVersion", "1.6");
        w.WriteString("serialNumber", "urn:uuid:" + options.SerialNumber.ToString("D"));
        w.WriteNumber("version", 1);

        w.WriteStartObject("metadata");
        w.WriteString("timestamp", Timestamp(report.CreatedAt));
        w.WriteStartObject("tools");
        w.WriteStartArray("components");
        w.WriteStartObject();
        w.WriteString("type", "application");
        w.WriteString("name", "berth");
        w.WriteString("version", options.ToolVersion);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        WriteImage(w, report, imageRef, imagePurl);
        w.WriteEndObject();

        w.WriteStartArray("components");
        if (os is not null)
        {
            w.WriteStartObject();
            w.WriteString("bom-ref", OsRef);
            w.WriteString("type", "operating-system");
            w.WriteString("name", os.Id);
            w.WriteString("version", os.VersionId);
            if (os.PrettyName is not null)
            {
                w.WriteString("description", os.PrettyName);
            }

            w.WriteEndObject();
        }

        foreach (var p in packages)
        {
            WriteComponent(w, p);
            JsonText.FlushIfFull(w);
        }

        w.WriteEndArray();

        w.WriteStartArray("dependencies");
        w.WriteStartObject();
        w.WriteString("ref", imageRef);
        w.WriteStartArray("dependsOn");
        if (os is not null)
        {
            w.WriteStringValue(OsRef);
        }

        foreach (var p in packages.Where(p => os is null || !p.IsOs))
        {
            w.WriteStringValue(p.Ref);
        }

        w.WriteEndArray();
        w.WriteEndObject();
        if (os is not null)
        {
            w.WriteStartObject();
            w.WriteString("ref", OsRef);
            w.WriteStartArray("dependsOn");
            foreach (var p in packages.Where(p => p.IsOs))
            {
                w.WriteStringValue(p.Ref);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();

        if (includeVulnerabilities && report.Findings.Count > 0)
        {
            WriteVulnerabilities(w, report, packages);
        }

        w.WriteEndObject();
        w.Flush();
    }

    private static void WriteImage(Utf8JsonWriter w, ScanReport report, string imageRef, string? imagePurl)
    {
        var image = report.Image;
        w.WriteStartObject("component");
        w.WriteString("bom-ref", imageRef);
        w.WriteString("type", "container");
        w.WriteString("name", report.ArtifactName);
        if (image.ManifestDigest is { } digest)
        {
            w.WriteString("version", digest.ToString());
            if (digest.AlgorithmName == "sha256")
            {
                w.WriteStartArray("hashes");
                w.WriteStartObject();
                w.WriteString("alg", "SHA-256");
                w.WriteString("content", digest.Hex);
                w.WriteEndObject();
                w.WriteEndArray();
            }
        }

        if (imagePurl is not null)
        {
            w.WriteString("purl", imagePurl);
        }

        var properties = new List<(string, string)>();
        if (image.ImageId is { } id)
        {
            properties.Add(("berth:image:id", id.ToString()));
        }

        properties.AddRange((image.RepoTags ?? []).Select(t => ("berth:image:repo_tag", t)));
        properties.AddRange((image.RepoDigests ?? []).Select(d => ("berth:image:repo_digest", d)));
        properties.AddRange((image.DiffIds ?? []).Select(d => ("berth:image:diff_id", d.ToString())));
        if (image.Os is not null)
        {
            properties.Add(("berth:image:os", image.Os));
        }

        if (image.Architecture is not null)
        {
            properties.Add(("berth:image:architecture", image.Architecture));
        }

        if (image.Created is { } created)
        {
            properties.Add(("berth:image:created", Timestamp(created)));
        }

        WriteProperties(w, properties);
        w.WriteEndObject();
    }

    private static void WriteComponent(Utf8JsonWriter w, SbomPackage sp)
    {
        var p = sp.Package;
        w.WriteStartObject();
        w.WriteString("bom-ref", sp.Ref);
        w.WriteString("type", "library");
        w.WriteString("name", p.Name);
        w.WriteString("version", p.Version);
        if (p.Licenses is { Count: > 0 } licenses)
        {
            w.WriteStartArray("licenses");
            foreach (var license in licenses.Where(l => !string.IsNullOrWhiteSpace(l)).Distinct(StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteStartObject("license");
                if (Licenses.SpdxId(license) is { } id)
                {
                    w.WriteString("id", id);
                }
                else
                {
                    w.WriteString("name", license);
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteString("purl", sp.Purl);
        var properties = new List<(string, string)> { ("berth:package:type", p.Type), ("berth:package:file_path", p.FilePath) };
        if (p.LayerDigest is not null)
        {
            properties.Add(("berth:package:layer_digest", p.LayerDigest));
        }

        if (p.SourceName is not null)
        {
            properties.Add(("berth:package:source_name", p.SourceName));
        }

        if (p.SourceVersion is not null)
        {
            properties.Add(("berth:package:source_version", p.SourceVersion));
        }

        WriteProperties(w, properties);
        w.WriteEndObject();
    }

    private static void WriteVulnerabilities(Utf8JsonWriter w, ScanReport report, IReadOnlyList<SbomPackage> packages)
    {
        var refOf = new Dictionary<Inventory.InstalledPackage, string>();
        foreach (var p in packages)
        {
            refOf.TryAdd(p.Package, p.Ref);
        }

        w.WriteStartArray("vulnerabilities");
        foreach (var group in ReportResults.Sort(report.Findings)
                     .GroupBy(f => f.VulnerabilityId, StringComparer.Ordinal)
                     .OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var worst = group.MaxBy(f => f.Severity)!;
            w.WriteStartObject();
            w.WriteString("id", group.Key);
            w.WriteStartObject("source");
            w.WriteString("name", "osv");
            w.WriteEndObject();

            var aliases = group.SelectMany(f => f.Aliases.Append(f.AdvisoryId))
                .Where(a => !string.Equals(a, group.Key, StringComparison.Ordinal))
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (aliases.Count > 0)
            {
                w.WriteStartArray("references");
                foreach (var alias in aliases)
                {
                    w.WriteStartObject();
                    w.WriteString("id", alias);
                    w.WriteStartObject("source");
                    w.WriteString("name", "osv");
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartArray("ratings");
            w.WriteStartObject();
            w.WriteStartObject("source");
            w.WriteString("name", worst.SeveritySource ?? "osv");
            w.WriteEndObject();
            if (worst.CvssScore is { } score)
            {
                w.WriteNumber("score", score);
            }

            w.WriteString("severity", worst.Severity.ToName().ToLowerInvariant());
            if (worst.CvssVector is { } vector)
            {
                w.WriteString("method", Cvss.VersionOf(vector) switch
                {
                    "4.0" => "CVSSv4",
                    "3.1" => "CVSSv31",
                    "3.0" => "CVSSv3",
                    _ => "CVSSv2",
                });
                w.WriteString("vector", vector);
            }

            w.WriteEndObject();
            w.WriteEndArray();

            if (!string.IsNullOrWhiteSpace(worst.Title))
            {
                w.WriteString("description", worst.Title);
            }

            var fixes = group.Where(f => !string.IsNullOrEmpty(f.FixedVersion))
                .Select(f => $"{f.Package.Name} {f.FixedVersion}").Distinct(StringComparer.Ordinal).ToList();
            if (fixes.Count > 0)
            {
                w.WriteString("recommendation", "Upgrade to " + string.Join(", ", fixes));
            }

            var urls = group.SelectMany(f => f.References)
                .Where(u => Uri.TryCreate(u, UriKind.Absolute, out _))
                .Distinct(StringComparer.Ordinal).ToList();
            if (urls.Count > 0)
            {
                w.WriteStartArray("advisories");
                foreach (var url in urls)
                {
                    w.WriteStartObject();
                    w.WriteString("url", url);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            if (group.Select(f => f.Published).FirstOrDefault(d => d is not null) is { } published)
            {
                w.WriteString("published", Timestamp(published));
            }

            w.WriteStartArray("affects");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in group)
            {
                if (!refOf.TryGetValue(f.Package, out var reference))
                {
                    reference = PackageUrl.For(f.Package, report.Inventory.Os);
                }

                if (!seen.Add(reference))
                {
                    continue;
                }

                w.WriteStartObject();
                w.WriteString("ref", reference);
                w.WriteStartArray("versions");
                w.WriteStartObject();
                w.WriteString("version", f.Package.Version);
                w.WriteString("status", "affected");
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            JsonText.FlushIfFull(w);
        }

        w.WriteEndArray();
    }

    private static void WriteProperties(Utf8JsonWriter w, List<(string Name, string Value)> properties)
    {
        if (properties.Count == 0)
        {
            return;
        }

        w.WriteStartArray("properties");
        foreach (var (name, value) in properties)
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteString("value", value);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static string Timestamp(DateTimeOffset value) =>
        value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
