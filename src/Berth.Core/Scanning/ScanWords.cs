namespace Berth.Core.Scanning;

/// <summary>How the stores and the API write the scanning enums: lower-case words (severities upper-case, as Trivy writes them).</summary>
public static class ScanWords
{
    public static string Of(ScanStatus status) => status switch
    {
        ScanStatus.Queued => "queued",
        ScanStatus.Scanning => "scanning",
        ScanStatus.Done => "done",
        ScanStatus.Failed => "failed",
        ScanStatus.Unsupported => "unsupported",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    public static ScanStatus Status(string word) => word switch
    {
        "queued" => ScanStatus.Queued,
        "scanning" => ScanStatus.Scanning,
        "done" => ScanStatus.Done,
        "failed" => ScanStatus.Failed,
        "unsupported" => ScanStatus.Unsupported,
        _ => throw new FormatException($"unknown scan status '{word}'"),
    };

    public static string Of(AdvisoryImportStatus status) => status switch
    {
        AdvisoryImportStatus.Running => "running",
        AdvisoryImportStatus.Finished => "finished",
        AdvisoryImportStatus.Abandoned => "abandoned",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    public static AdvisoryImportStatus ImportStatus(string word) => word switch
    {
        "running" => AdvisoryImportStatus.Running,
        "finished" => AdvisoryImportStatus.Finished,
        "abandoned" => AdvisoryImportStatus.Abandoned,
        _ => throw new FormatException($"unknown import status '{word}'"),
    };

    /// <summary>The stored word of a block severity: null for <see cref="BlockSeverity.None"/>, else upper case (<c>CRITICAL</c>).</summary>
    public static string? Of(BlockSeverity severity) => severity switch
    {
        BlockSeverity.None => null,
        BlockSeverity.Low => "LOW",
        BlockSeverity.Medium => "MEDIUM",
        BlockSeverity.High => "HIGH",
        BlockSeverity.Critical => "CRITICAL",
        _ => throw new ArgumentOutOfRangeException(nameof(severity)),
    };

    /// <summary>Reads a block severity as users write it (any case; <c>none</c> or null for none); false for anything else.</summary>
    public static bool TryParseBlockSeverity(string? word, out BlockSeverity severity)
    {
        severity = BlockSeverity.None;
        switch (word?.ToUpperInvariant())
        {
            case null or "NONE":
                return true;
            case "LOW":
                severity = BlockSeverity.Low;
                return true;
            case "MEDIUM":
                severity = BlockSeverity.Medium;
                return true;
            case "HIGH":
                severity = BlockSeverity.High;
                return true;
            case "CRITICAL":
                severity = BlockSeverity.Critical;
                return true;
            default:
                return false;
        }
    }
}
