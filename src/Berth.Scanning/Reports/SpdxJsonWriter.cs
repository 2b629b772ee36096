using System.Globalization;
using System.Text.Json;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;

namespace Berth.Scanning.Reports;

/// <summary>
/// An SPDX 2.3 JSON document of an image: the image as a CONTAINER package that the document DESCRIBES, the OS as an
/// OPERATING_SYSTEM package the image CONTAINS, and one LIBRARY package per installed package (the OS CONTAINS OS
/// packages, the image the others), each with its purl as a PACKAGE-MANAGER external reference, its source package in
/// <c>sourceInfo</c>, its layer and file path as annotations, and declared licences as an SPDX expression (recognised ids as
/// they are, anything else as a <c>LicenseRef-</c> whose text is in <c>hasExtractedLicensingInfos</c>; NOASSERTION when
/// unknown). Files are not analysed (<c>filesAnalyzed</c> false); download locations are NOASSERTION.
/// </summary>
public static class SpdxJsonWriter
{
    /// <summary>The media type of the output.</summary>
    public const string MediaType = "application/spdx+json";

    private const string NoAssertion = "NOASSERTION";
    private const string ImageId = "SPDXRef-ContainerImage";
    private const string OsId = "SPDXRef-OperatingSystem";

    /// <summary>Writes the document to <paramref name="output"/> (UTF-8, indented); the stream is flushed, not closed.</summary>
    public static void Write(ScanReport report, Stream output, SbomOptions options)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(options);
        var packages = SbomPackages.Of(report);
        var os = report.Inventory.Os;
        var created = Timestamp(report.CreatedAt);
        var tool = "Tool: berth-" + options.ToolVersion;
        var licenseRefs = new Dictionary<string, string>(StringComparer.Ordinal);
        var refTexts = new Dictionary<string, string>(StringComparer.Ordinal);

        string? Declared(IReadOnlyList<string>? licenses)
        {
            var terms = new List<string>();
            foreach (var license in (licenses ?? []).Where(l => !string.IsNullOrWhiteSpace(l)).Distinct(StringComparer.Ordinal))
            {
                if (Licenses.SpdxId(license) is { } id)
                {
                    terms.Add(id);
                    continue;
                }

                if (!licenseRefs.TryGetValue(license, out var reference))
                {
                    var stem = Licenses.LicenseRef(license);
                    reference = stem;
                    for (var n = 2; refTexts.ContainsKey(reference); n++)
                    {
                        reference = stem + "-" + n.ToString(CultureInfo.InvariantCulture);
                    }

                    licenseRefs[license] = reference;
                    refTexts[reference] = license;
                }

                terms.Add(reference);
            }

            return terms.Count == 0 ? null : string.Join(" AND ", terms.Distinct(StringComparer.Ordinal));
        }

        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = JsonText.Encoder });
        w.WriteStartObject();
        w.WriteString("spdxVersion", "SPDX-2.3");
        w.WriteString("dataLicense", "CC0-1.0");
        w.WriteString("SPDXID", "SPDXRef-DOCUMENT");
        w.WriteString("name", report.ArtifactName);
        w.WriteString("documentNamespace", DocumentNamespace(options, report.ArtifactName));
        w.WriteStartObject("creationInfo");
        w.WriteStartArray("creators");
        w.WriteStringValue(tool);
        w.WriteEndArray();
        w.WriteString("created", created);
        w.WriteEndObject();

        w.WriteStartArray("packages");
        WriteImage(w, report);
        if (os is not null)
        {
            w.WriteStartObject();
            w.WriteString("name", os.Id);
            w.WriteString("SPDXID", OsId);
            w.WriteString("versionInfo", os.VersionId);
            WriteNoAssertions(w, null);
            w.WriteString("primaryPackagePurpose", "OPERATING_SYSTEM"); // the JSON schema spells it with an underscore
            w.WriteEndObject();
        }

        var ids = new List<string>(packages.Count);
        for (var i = 0; i < packages.Count; i++)
        {
            var sp = packages[i];
            var p = sp.Package;
            var id = "SPDXRef-Package-" + (i + 1).ToString(CultureInfo.InvariantCulture);
            ids.Add(id);
            w.WriteStartObject();
            w.WriteString("name", p.Name);
            w.WriteString("SPDXID", id);
            w.WriteString("versionInfo", p.Version);
            WriteNoAssertions(w, Declared(p.Licenses));
            if (p.SourceName is not null || p.SourceVersion is not null)
            {
                w.WriteString("sourceInfo", $"built package from: {p.SourceName ?? p.Name} {p.SourceVersion ?? p.Version}");
            }

            w.WriteStartArray("externalRefs");
            w.WriteStartObject();
            w.WriteString("referenceCategory", "PACKAGE-MANAGER");
            w.WriteString("referenceType", "purl");
            w.WriteString("referenceLocator", sp.Purl);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteString("primaryPackagePurpose", "LIBRARY");
            w.WriteStartArray("annotations");
            Annotation(w, tool, created, "PkgType: " + p.Type);
            Annotation(w, tool, created, "FilePath: " + p.FilePath);
            if (p.LayerDigest is not null)
            {
                Annotation(w, tool, created, "LayerDigest: " + p.LayerDigest);
            }

            w.WriteEndArray();
            w.WriteEndObject();
            JsonText.FlushIfFull(w);
        }

        w.WriteEndArray();

        if (refTexts.Count > 0)
        {
            w.WriteStartArray("hasExtractedLicensingInfos");
            foreach (var (reference, text) in refTexts.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("licenseId", reference);
                w.WriteString("extractedText", text);
                w.WriteString("name", text);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteStartArray("relationships");
        Relationship(w, "SPDXRef-DOCUMENT", "DESCRIBES", ImageId);
        if (os is not null)
        {
            Relationship(w, ImageId, "CONTAINS", OsId);
        }

        for (var i = 0; i < packages.Count; i++)
        {
            Relationship(w, os is not null && packages[i].IsOs ? OsId : ImageId, "CONTAINS", ids[i]);
            JsonText.FlushIfFull(w);
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
    }

    private static void WriteImage(Utf8JsonWriter w, ScanReport report)
    {
        var image = report.Image;
        w.WriteStartObject();
        w.WriteString("name", report.ArtifactName);
        w.WriteString("SPDXID", ImageId);
        if (image.ManifestDigest is { } digest)
        {
            w.WriteString("versionInfo", digest.ToString());
        }

        WriteNoAssertions(w, null);
        if (image.ManifestDigest is { } d && d.AlgorithmName == "sha256")
        {
            w.WriteStartArray("checksums");
            w.WriteStartObject();
            w.WriteString("algorithm", "SHA256");
            w.WriteString("checksumValue", d.Hex);
            w.WriteEndObject();
            w.WriteEndArray();
        }

        if (SbomPackages.ImagePurl(report.ArtifactName, image.ManifestDigest) is { } purl)
        {
            w.WriteStartArray("externalRefs");
            w.WriteStartObject();
            w.WriteString("referenceCategory", "PACKAGE-MANAGER");
            w.WriteString("referenceType", "purl");
            w.WriteString("referenceLocator", purl);
            w.WriteEndObject();
            w.WriteEndArray();
        }

        w.WriteString("primaryPackagePurpose", "CONTAINER");
        w.WriteEndObject();
    }

    private static void WriteNoAssertions(Utf8JsonWriter w, string? declared)
    {
        w.WriteString("downloadLocation", NoAssertion);
        w.WriteBoolean("filesAnalyzed", false);
        w.WriteString("licenseConcluded", NoAssertion);
        w.WriteString("licenseDeclared", declared ?? NoAssertion);
        w.WriteString("copyrightText", NoAssertion);
    }

    private static void Annotation(Utf8JsonWriter w, string tool, string created, string comment)
    {
        w.WriteStartObject();
        w.WriteString("annotator", tool);
        w.WriteString("annotationDate", created);
        w.WriteString("annotationType", "OTHER");
        w.WriteString("comment", comment);
        w.WriteEndObject();
    }

    private static void Relationship(Utf8JsonWriter w, string from, string type, string to)
    {
        w.WriteStartObject();
        w.WriteString("spdxElementId", from);
        w.WriteString("relationshipType", type);
        w.WriteString("relatedSpdxElement", to);
        w.WriteEndObject();
    }

    // Unique per document (the serial number) and free of '#', as SPDX requires; the name part only helps a reader.
    private static string DocumentNamespace(SbomOptions options, string artifactName)
    {
        var name = new string(artifactName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '-').Take(100).ToArray());
        var root = options.DocumentNamespaceBase.EndsWith('/') ? options.DocumentNamespaceBase : options.DocumentNamespaceBase + "/";
        return $"{root}{name}-{options.SerialNumber:D}";
    }

    private static string Timestamp(DateTimeOffset value) =>
        value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
