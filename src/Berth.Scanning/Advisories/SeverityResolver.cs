using System.Text.Json;
using Berth.Scanning.Findings;

namespace Berth.Scanning.Advisories;

/// <summary>The severity chosen for one affected package of one record, with where it came from.</summary>
/// <param name="Severity">The level.</param>
/// <param name="Source">"debian_urgency", "ubuntu_priority", "cvss_v3", "cvss_v4", "cvss_v2", "database_specific", or null for Unknown.</param>
/// <param name="CvssVector">The CVSS vector the record gives (the one scored; reported even when the severity came from the distribution).</param>
/// <param name="CvssScore">Its computed base score.</param>
public readonly record struct ResolvedSeverity(Severity Severity, string? Source, string? CvssVector, double? CvssScore);

/// <summary>
/// Chooses a severity in the order documented in docs/scanning.md: for OS packages the distribution's own word first
/// (Debian <c>ecosystem_specific.urgency</c>, Ubuntu's priority severity entry), then CVSS v3, v4, v2 computed from the
/// vectors (the affected entry's own severity before the record's), then <c>database_specific.severity</c> (GHSA's
/// LOW/MODERATE/HIGH/CRITICAL), else Unknown.
/// </summary>
public static class SeverityResolver
{
    /// <summary>Resolves the severity of <paramref name="affected"/> (an entry of <paramref name="record"/>).</summary>
    public static ResolvedSeverity Resolve(OsvRecord record, OsvAffected affected, bool osPackage)
    {
        var cvss = BestCvss(affected.Severity, record.Severity);
        if (osPackage)
        {
            if (FromDebianUrgency(affected.EcosystemSpecific) is { } urgency)
            {
                return new ResolvedSeverity(urgency, "debian_urgency", cvss?.Vector, cvss?.Score);
            }

            if ((FromUbuntu(affected.Severity) ?? FromUbuntu(record.Severity)) is { } ubuntu)
            {
                return new ResolvedSeverity(ubuntu, "ubuntu_priority", cvss?.Vector, cvss?.Score);
            }
        }

        if (cvss is { } c && c.Severity != Severity.Unknown)
        {
            var source = c.Version switch { "4.0" => "cvss_v4", "2.0" => "cvss_v2", _ => "cvss_v3" };
            return new ResolvedSeverity(c.Severity, source, c.Vector, c.Score);
        }

        if ((FromDatabaseSpecific(affected.DatabaseSpecific) ?? FromDatabaseSpecific(record.DatabaseSpecific)) is { } db)
        {
            return new ResolvedSeverity(db, "database_specific", cvss?.Vector, cvss?.Score);
        }

        return new ResolvedSeverity(Severity.Unknown, null, cvss?.Vector, cvss?.Score);
    }

    /// <summary>The first scorable vector by preference: v3.1/v3.0, then v4.0, then v2; the affected entry's list first.</summary>
    public static CvssScore? BestCvss(IReadOnlyList<OsvSeverity> affectedSeverity, IReadOnlyList<OsvSeverity> recordSeverity)
    {
        foreach (var type in (string[])["CVSS_V3", "CVSS_V4", "CVSS_V2"])
        {
            foreach (var list in (IReadOnlyList<OsvSeverity>[])[affectedSeverity, recordSeverity])
            {
                foreach (var s in list)
                {
                    if (s.Type == type && Cvss.TryScore(s.Score, out var score))
                    {
                        return score;
                    }
                }
            }
        }

        return null;
    }

    /// <summary>Debian urgency: unimportant and low → Low, medium → Medium, high → High; "not yet assigned",
    /// "end-of-life" and anything else → null (fall through). A trailing "*" or "**" (Debian's mark) is ignored.</summary>
    public static Severity? FromDebianUrgency(JsonElement? ecosystemSpecific)
    {
        if (ecosystemSpecific is not { ValueKind: JsonValueKind.Object } e
            || !e.TryGetProperty("urgency", out var u) || u.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        return u.GetString()!.TrimEnd('*').Trim().ToLowerInvariant() switch
        {
            "unimportant" or "low" => Severity.Low,
            "medium" => Severity.Medium,
            "high" => Severity.High,
            _ => null,
        };
    }

    private static Severity? FromUbuntu(IReadOnlyList<OsvSeverity> list)
    {
        foreach (var s in list)
        {
            if (s.Type == "Ubuntu")
            {
                return s.Score?.ToLowerInvariant() switch
                {
                    "negligible" or "low" => Severity.Low,
                    "medium" => Severity.Medium,
                    "high" => Severity.High,
                    "critical" => Severity.Critical,
                    _ => null,
                };
            }
        }

        return null;
    }

    /// <summary><c>database_specific.severity</c>: LOW → Low, MODERATE/MEDIUM → Medium, HIGH → High, CRITICAL → Critical.</summary>
    public static Severity? FromDatabaseSpecific(JsonElement? databaseSpecific)
    {
        if (databaseSpecific is not { ValueKind: JsonValueKind.Object } e
            || !e.TryGetProperty("severity", out var s) || s.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        return s.GetString()!.Trim().ToUpperInvariant() switch
        {
            "LOW" => Severity.Low,
            "MODERATE" or "MEDIUM" => Severity.Medium,
            "HIGH" => Severity.High,
            "CRITICAL" => Severity.Critical,
            _ => null,
        };
    }
}
