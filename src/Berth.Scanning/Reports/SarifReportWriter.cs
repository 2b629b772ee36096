using System.Globalization;
using System.Text.Json;
using System.Text;
using Berth.Scanning.Text;
using Berth.Scanning.Findings;

namespace Berth.Scanning.Reports;

/// <summary>
/// The SARIF 2.1.0 report, shaped for code-scanning dashboards: one run whose tool driver is "Berth"; one rule per
/// vulnerability id (short description the title, help text and markdown, <c>security-severity</c> and tags in the
/// properties, the default level that of the worst finding under it); one result per finding, with level
/// <c>error</c> for CRITICAL and HIGH, <c>warning</c> for MEDIUM, <c>note</c> for LOW and UNKNOWN, and a location naming
/// the file the package was read from (relative to the image root, base id ROOTPATH).
/// </summary>
public static class SarifReportWriter
{
    /// <summary>The schema URI written in <c>$schema</c>.</summary>
    public const string SchemaUri = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

    /// <summary>Writes the report to <paramref name="output"/> (UTF-8, indented). The stream is flushed, not closed.</summary>
    /// <param name="report">The report.</param>
    /// <param name="output">Where to write.</param>
    /// <param name="toolVersion">Berth's version, for the tool driver.</param>
    public static void Write(ScanReport report, Stream output, string toolVersion)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        var findings = report.Findings is { Count: > 0 }
            ? ReportResults.Build(report).SelectMany(r => r.Findings.Select(f => (Result: r, Finding: f))).ToList()
            : [];
        var rules = findings
            .GroupBy(x => x.Finding.VulnerabilityId, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (Id: g.Key, Worst: g.MaxBy(x => x.Finding.Severity).Finding, Class: g.First().Result.Class))
            .ToList();
        var ruleIndex = rules.Select((r, i) => (r.Id, i)).ToDictionary(x => x.Id, x => x.i, StringComparer.Ordinal);

        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = JsonText.Encoder });
        w.WriteStartObject();
        w.WriteString("version", "2.1.0");
        w.WriteString("$schema", SchemaUri);
        w.WriteStartArray("runs");
        w.WriteStartObject();

        w.WriteStartObject("tool");
        w.WriteStartObject("driver");
        w.WriteString("name", "Berth");
        w.WriteString("fullName", "Berth vulnerability scanner");
        w.WriteString("version", toolVersion);
        w.WriteStartArray("rules");
        foreach (var (id, worst, resultClass) in rules)
        {
            WriteRule(w, id, worst, resultClass);
            JsonText.FlushIfFull(w);
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartArray("results");
        foreach (var (_, finding) in findings)
        {
            WriteResult(w, finding, ruleIndex[finding.VulnerabilityId]);
            JsonText.FlushIfFull(w);
        }

        w.WriteEndArray();
        w.WriteString("columnKind", "utf16CodeUnits");
        w.WriteStartObject("originalUriBaseIds");
        w.WriteStartObject("ROOTPATH");
        w.WriteString("uri", "file:///");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("properties");
        w.WriteString("imageName", report.ArtifactName);
        if (report.Image.ImageId is { } imageId)
        {
            w.WriteString("imageID", imageId.ToString());
        }

        WriteStrings(w, "repoDigests", report.Image.RepoDigests);
        WriteStrings(w, "repoTags", report.Image.RepoTags);
        w.WriteEndObject();

        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
    }

    /// <summary>The SARIF level of a severity: error (CRITICAL, HIGH), warning (MEDIUM), note (LOW, UNKNOWN).</summary>
    public static string LevelOf(Severity severity) => severity switch
    {
        Severity.Critical or Severity.High => "error",
        Severity.Medium => "warning",
        _ => "note",
    };

    private static void WriteRule(Utf8JsonWriter w, string id, Finding worst, string resultClass)
    {
        var title = string.IsNullOrWhiteSpace(worst.Title) ? id : worst.Title;
        var url = worst.References.Count > 0 ? worst.References[0] : null;
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("name", resultClass == ReportResult.OsClass ? "OsPackageVulnerability" : "LanguageSpecificPackageVulnerability");
        w.WriteStartObject("shortDescription");
        w.WriteString("text", title);
        w.WriteEndObject();
        w.WriteStartObject("fullDescription");
        w.WriteString("text", title);
        w.WriteEndObject();
        w.WriteStartObject("defaultConfiguration");
        w.WriteString("level", LevelOf(worst.Severity));
        w.WriteEndObject();
        if (url is not null && Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            w.WriteString("helpUri", url);
        }

        var help = new StringBuilder();
        help.Append(CultureInfo.InvariantCulture, $"Vulnerability {id}\nSeverity: {worst.Severity.ToName()}\n");
        if (worst.AdvisoryId != id)
        {
            help.Append(CultureInfo.InvariantCulture, $"Advisory: {worst.AdvisoryId}\n");
        }

        help.Append(CultureInfo.InvariantCulture, $"Title: {title}\n");
        if (url is not null)
        {
            help.Append(CultureInfo.InvariantCulture, $"Link: {url}\n");
        }

        w.WriteStartObject("help");
        w.WriteString("text", help.ToString());
        w.WriteString("markdown", Markdown(id, worst, title, url));
        w.WriteEndObject();
        w.WriteStartObject("properties");
        w.WriteString("precision", "very-high");
        w.WriteString("security-severity", Cvss.SecuritySeverity(worst.Severity, worst.CvssScore).ToString("0.0", CultureInfo.InvariantCulture));
        w.WriteStartArray("tags");
        w.WriteStringValue("vulnerability");
        w.WriteStringValue("security");
        w.WriteStringValue(worst.Severity.ToName());
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static string Markdown(string id, Finding worst, string title, string? url)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"**Vulnerability {MarkdownText(id)}**\n\n");
        sb.Append("| Severity | Package | Fixed Version | Link |\n| --- | --- | --- | --- |\n");
        var link = url is null ? string.Empty : $"[{MarkdownText(id)}]({url.Replace(")", "%29", StringComparison.Ordinal).Replace(" ", "%20", StringComparison.Ordinal)})";
        sb.Append(CultureInfo.InvariantCulture,
            $"|{worst.Severity.ToName()}|{MarkdownText(worst.Package.Name)}|{MarkdownText(worst.FixedVersion ?? string.Empty)}|{link}|\n\n");
        sb.Append(MarkdownText(title));
        return sb.ToString();
    }

    // Titles and names come from advisories and images: keep them from closing table cells or opening links/HTML.
    private static string MarkdownText(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in TerminalText.Clean(text))
        {
            if (c is '|' or '[' or ']' or '(' or ')' or '<' or '>' or '*' or '_' or '`' or '\\' or '#' or '!')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static void WriteResult(Utf8JsonWriter w, Finding f, int ruleIndex)
    {
        var p = f.Package;
        w.WriteStartObject();
        w.WriteString("ruleId", f.VulnerabilityId);
        w.WriteNumber("ruleIndex", ruleIndex);
        w.WriteString("level", LevelOf(f.Severity));
        w.WriteStartObject("message");
        var message = new StringBuilder();
        message.Append(CultureInfo.InvariantCulture, $"Package: {p.Name}\nInstalled Version: {p.Version}\nVulnerability {f.VulnerabilityId}\nSeverity: {f.Severity.ToName()}\nFixed Version: {f.FixedVersion ?? string.Empty}");
        if (f.References.Count > 0)
        {
            message.Append(CultureInfo.InvariantCulture, $"\nLink: {f.References[0]}");
        }

        w.WriteString("text", message.ToString());
        w.WriteEndObject();
        w.WriteStartArray("locations");
        w.WriteStartObject();
        w.WriteStartObject("physicalLocation");
        w.WriteStartObject("artifactLocation");
        w.WriteString("uri", ArtifactUri(p.FilePath));
        w.WriteString("uriBaseId", "ROOTPATH");
        w.WriteEndObject();
        w.WriteStartObject("region");
        w.WriteNumber("startLine", 1);
        w.WriteNumber("startColumn", 1);
        w.WriteNumber("endLine", 1);
        w.WriteNumber("endColumn", 1);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("message");
        w.WriteString("text", $"{p.FilePath}: {p.Name}@{p.Version}");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    // A relative URI reference: each path segment percent-encoded (spaces, '#', '?', '%' in file names).
    private static string ArtifactUri(string path) =>
        string.Join('/', path.TrimStart('/').Split('/').Select(Uri.EscapeDataString));

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string>? values)
    {
        if (values is null)
        {
            return;
        }

        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }
}
