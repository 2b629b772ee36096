using System.Text;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;

namespace Berth.Scanning.Reports;

/// <summary>The report formats of <c>berth scan --format</c> and <c>berth sbom --format</c>.</summary>
public enum ReportFormat
{
    /// <summary>"table": the human report.</summary>
    Table,

    /// <summary>"json": Trivy's JSON report layout.</summary>
    Json,

    /// <summary>"sarif": SARIF 2.1.0.</summary>
    Sarif,

    /// <summary>"cyclonedx": CycloneDX 1.6 JSON (with vulnerabilities when there are findings).</summary>
    CycloneDx,

    /// <summary>"spdx-json": SPDX 2.3 JSON.</summary>
    SpdxJson,
}

/// <summary>What the writers need besides the report.</summary>
/// <param name="ToolVersion">Berth's version (SARIF and SBOM tool entries).</param>
/// <param name="SerialNumber">The SBOM's unique id (CycloneDX serial number, SPDX namespace).</param>
/// <param name="Severities">The <c>--severity</c> list, for the table's Total line; null for all.</param>
public sealed record ReportWriteOptions(string ToolVersion, Guid SerialNumber, IReadOnlyCollection<Severity>? Severities = null);

/// <summary>Parses format names and writes a report in the chosen format.</summary>
public static class ReportFormats
{
    /// <summary>The names accepted, in the order help texts list them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["table", "json", "sarif", "cyclonedx", "spdx-json"];

    /// <summary>Parses a format name (case-insensitive); false for anything else.</summary>
    public static bool TryParse(string? text, out ReportFormat format)
    {
        format = ReportFormat.Table;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "table": format = ReportFormat.Table; return true;
            case "json": format = ReportFormat.Json; return true;
            case "sarif": format = ReportFormat.Sarif; return true;
            case "cyclonedx": format = ReportFormat.CycloneDx; return true;
            case "spdx-json": format = ReportFormat.SpdxJson; return true;
            default: return false;
        }
    }

    /// <summary>The media type of a format's output.</summary>
    public static string MediaTypeOf(ReportFormat format) => format switch
    {
        ReportFormat.Table => "text/plain; charset=utf-8",
        ReportFormat.Json => "application/json",
        ReportFormat.Sarif => "application/sarif+json",
        ReportFormat.CycloneDx => CycloneDxWriter.MediaType,
        _ => SpdxJsonWriter.MediaType,
    };

    /// <summary>Writes <paramref name="report"/> in <paramref name="format"/> to <paramref name="output"/> (UTF-8, no BOM); the stream is flushed, not closed.</summary>
    public static void Write(ReportFormat format, ScanReport report, Stream output, ReportWriteOptions options)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(options);
        switch (format)
        {
            case ReportFormat.Table:
                using (var writer = new StreamWriter(output, new UTF8Encoding(false), 16 * 1024, leaveOpen: true))
                {
                    TableReportWriter.Write(report, writer, new TableReportOptions(options.Severities));
                }

                break;
            case ReportFormat.Json:
                JsonReportWriter.Write(report, output);
                break;
            case ReportFormat.Sarif:
                SarifReportWriter.Write(report, output, options.ToolVersion);
                break;
            case ReportFormat.CycloneDx:
                CycloneDxWriter.Write(report, output, new SbomOptions(options.SerialNumber, options.ToolVersion));
                break;
            case ReportFormat.SpdxJson:
                SpdxJsonWriter.Write(report, output, new SbomOptions(options.SerialNumber, options.ToolVersion));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "unknown report format");
        }
    }
}
