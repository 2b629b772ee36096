using Berth.Scanning.Text;
using Berth.Scanning.Findings;

namespace Berth.Scanning.Reports;

/// <summary>Severity names as Trivy prints and parses them (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL).</summary>
public static class SeverityNames
{
    /// <summary>All severities, lowest first (the order of the <c>Total:</c> line).</summary>
    public static IReadOnlyList<Severity> Ascending { get; } =
        [Severity.Unknown, Severity.Low, Severity.Medium, Severity.High, Severity.Critical];

    /// <summary>The upper-case name ("CRITICAL").</summary>
    public static string ToName(this Severity severity) => severity switch
    {
        Severity.Low => "LOW",
        Severity.Medium => "MEDIUM",
        Severity.High => "HIGH",
        Severity.Critical => "CRITICAL",
        _ => "UNKNOWN",
    };

    /// <summary>Parses one name, case-insensitively; false for anything else (numbers included).</summary>
    public static bool TryParse(string? text, out Severity severity)
    {
        severity = Severity.Unknown;
        switch (text?.Trim().ToUpperInvariant())
        {
            case "UNKNOWN": severity = Severity.Unknown; return true;
            case "LOW": severity = Severity.Low; return true;
            case "MEDIUM": severity = Severity.Medium; return true;
            case "HIGH": severity = Severity.High; return true;
            case "CRITICAL": severity = Severity.Critical; return true;
            default: return false;
        }
    }
}

/// <summary>The outcome of parsing a <c>--severity</c> list: the set, or a message saying what is wrong.</summary>
/// <param name="Severities">The severities named (never empty), or null when <paramref name="Error"/> is set.</param>
/// <param name="Error">A message for the user, naming the bad entry and the accepted names; null on success.</param>
public sealed record SeverityListParse(IReadOnlySet<Severity>? Severities, string? Error)
{
    /// <summary>True when the list parsed.</summary>
    public bool Success => Error is null;
}

/// <summary>Parses Trivy's <c>--severity CRITICAL,HIGH</c> lists.</summary>
public static class SeverityList
{
    private const string Accepted = "UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL";

    /// <summary>
    /// Parses a comma-separated list, case-insensitive, spaces around names allowed, duplicates harmless. An empty list,
    /// an empty entry ("HIGH,,LOW") or an unknown name is an error whose message names the entry and the accepted names.
    /// </summary>
    public static SeverityListParse Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return new(null, $"--severity needs at least one severity (one or more of {Accepted}, separated by commas)");
        }

        var set = new HashSet<Severity>();
        foreach (var part in text.Split(','))
        {
            var name = part.Trim();
            if (name.Length == 0)
            {
                return new(null, $"--severity \"{Printable(text)}\" has an empty entry (expected one or more of {Accepted}, separated by commas)");
            }

            if (!SeverityNames.TryParse(name, out var severity))
            {
                return new(null, $"unknown severity \"{Printable(name)}\" in --severity (expected one or more of {Accepted}, separated by commas)");
            }

            set.Add(severity);
        }

        return new(set, null);
    }

    private static string Printable(string text) => TerminalText.Clean(text.Length > 64 ? text[..64] + "..." : text);
}
