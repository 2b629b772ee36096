using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Berth.Scanning.Findings;

namespace Berth.Scanning.Advisories;

/// <summary>A computed CVSS base score with the version of the vector it came from.</summary>
public readonly record struct CvssScore(string Version, double Score, string Vector)
{
    /// <summary>The rating band: v3/v4 None 0, Low 0.1–3.9, Medium 4.0–6.9, High 7.0–8.9, Critical 9.0–10.0;
    /// v2 (which has no Critical band) Low 0–3.9, Medium 4.0–6.9, High 7.0–10.0. None maps to <see cref="Findings.Severity.Unknown"/>
    /// only for a zero score, which no real advisory has.</summary>
    public Severity Severity => Version == "2.0"
        ? Score >= 7.0 ? Severity.High : Score >= 4.0 ? Severity.Medium : Severity.Low
        : Score >= 9.0 ? Severity.Critical : Score >= 7.0 ? Severity.High : Score >= 4.0 ? Severity.Medium : Score > 0 ? Severity.Low : Severity.Unknown;
}

/// <summary>
/// CVSS base scores from vectors: v3.0/v3.1 with the specification's formulas and round-up, v4.0 with FIRST's
/// macrovector method (equivalence classes EQ1–EQ6, the published macrovector score table, and the mean proportional
/// distance to the next lower macrovectors), v2 with its formulas. Malformed vectors give false, never an exception.
/// </summary>
public static class Cvss
{
    /// <summary>Scores a vector of any supported version ("CVSS:3.1/…", "CVSS:3.0/…", "CVSS:4.0/…", "AV:N/AC:L/Au:N/…" for v2).</summary>
    public static bool TryScore(string? vector, [NotNullWhen(true)] out CvssScore? score)
    {
        score = null;
        if (string.IsNullOrWhiteSpace(vector))
        {
            return false;
        }

        var v = vector.Trim();
        double s;
        if (v.StartsWith("CVSS:3.1/", StringComparison.Ordinal) || v.StartsWith("CVSS:3.0/", StringComparison.Ordinal))
        {
            if (!TryScoreV3(v, out s))
            {
                return false;
            }

            score = new CvssScore(v[5..8], s, v);
            return true;
        }

        if (v.StartsWith("CVSS:4.0/", StringComparison.Ordinal))
        {
            if (!TryScoreV4(v, out s))
            {
                return false;
            }

            score = new CvssScore("4.0", s, v);
            return true;
        }

        if (TryScoreV2(v, out s))
        {
            score = new CvssScore("2.0", s, v);
            return true;
        }

        return false;
    }

    private static Dictionary<string, string>? ParseMetrics(string vector, int skipPrefixParts)
    {
        var metrics = new Dictionary<string, string>(StringComparer.Ordinal);
        var parts = vector.Split('/');
        for (var i = skipPrefixParts; i < parts.Length; i++)
        {
            var colon = parts[i].IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == parts[i].Length - 1)
            {
                return null;
            }

            if (!metrics.TryAdd(parts[i][..colon], parts[i][(colon + 1)..]))
            {
                return null; // a metric given twice is malformed
            }
        }

        return metrics;
    }

    private static bool Pick(Dictionary<string, string> m, string key, string values, double[] weights, out double w)
    {
        w = 0;
        if (!m.TryGetValue(key, out var value) || value.Length != 1)
        {
            return false;
        }

        var index = values.IndexOf(value[0], StringComparison.Ordinal);
        if (index < 0)
        {
            return false;
        }

        w = weights[index];
        return true;
    }

    // ---- CVSS v3.x ----

    /// <summary>CVSS v3.0/v3.1 base score.</summary>
    public static bool TryScoreV3(string vector, out double score)
    {
        score = 0;
        var m = ParseMetrics(vector, 1);
        if (m is null || !m.TryGetValue("S", out var scope) || scope is not ("U" or "C"))
        {
            return false;
        }

        var changed = scope == "C";
        if (!Pick(m, "AV", "NALP", [0.85, 0.62, 0.55, 0.2], out var av)
            || !Pick(m, "AC", "LH", [0.77, 0.44], out var ac)
            || !Pick(m, "PR", "NLH", changed ? [0.85, 0.68, 0.5] : [0.85, 0.62, 0.27], out var pr)
            || !Pick(m, "UI", "NR", [0.85, 0.62], out var ui)
            || !Pick(m, "C", "HLN", [0.56, 0.22, 0], out var c)
            || !Pick(m, "I", "HLN", [0.56, 0.22, 0], out var i)
            || !Pick(m, "A", "HLN", [0.56, 0.22, 0], out var a))
        {
            return false;
        }

        var iss = 1 - ((1 - c) * (1 - i) * (1 - a));
        var impact = changed ? (7.52 * (iss - 0.029)) - (3.25 * Math.Pow(iss - 0.02, 15)) : 6.42 * iss;
        var exploitability = 8.22 * av * ac * pr * ui;
        if (impact <= 0)
        {
            score = 0;
            return true;
        }

        var raw = changed ? Math.Min(1.08 * (impact + exploitability), 10) : Math.Min(impact + exploitability, 10);
        score = vector.StartsWith("CVSS:3.0/", StringComparison.Ordinal) ? RoundUpV30(raw) : RoundUpV31(raw);
        return true;
    }

    // v3.0: the smallest one-decimal number not below the input.
    private static double RoundUpV30(double x) => Math.Ceiling(x * 10) / 10;

    // v3.1 (Appendix A): round up with an integer step so floating-point noise (e.g. 4.000000000000001) does not add 0.1.
    private static double RoundUpV31(double x)
    {
        var scaled = (long)Math.Round(x * 100000);
        return scaled % 10000 == 0 ? scaled / 100000.0 : (Math.Floor(scaled / 10000.0) + 1) / 10.0;
    }

    // ---- CVSS v2 ----

    /// <summary>CVSS v2 base score ("AV:N/AC:L/Au:N/C:P/I:P/A:P", optionally in parentheses or after "CVSS:2.0/").</summary>
    public static bool TryScoreV2(string vector, out double score)
    {
        score = 0;
        var v = vector.Trim().TrimStart('(').TrimEnd(')');
        var m = ParseMetrics(v, v.StartsWith("CVSS:2.0/", StringComparison.Ordinal) ? 1 : 0);
        if (m is null
            || !Pick(m, "AV", "LAN", [0.395, 0.646, 1.0], out var av)
            || !Pick(m, "AC", "HML", [0.35, 0.61, 0.71], out var ac)
            || !Pick(m, "Au", "MSN", [0.45, 0.56, 0.704], out var au)
            || !Pick(m, "C", "NPC", [0, 0.275, 0.660], out var c)
            || !Pick(m, "I", "NPC", [0, 0.275, 0.660], out var i)
            || !Pick(m, "A", "NPC", [0, 0.275, 0.660], out var a))
        {
            return false;
        }

        var impact = 10.41 * (1 - ((1 - c) * (1 - i) * (1 - a)));
        var exploitability = 20 * av * ac * au;
        var f = impact == 0 ? 0 : 1.176;
        score = Math.Round(((0.6 * impact) + (0.4 * exploitability) - 1.5) * f, 1, MidpointRounding.AwayFromZero);
        return true;
    }

    // ---- CVSS v4.0 ----

    private static readonly (string Key, string Values)[] V4Base =
    [
        ("AV", "NALP"), ("AC", "LH"), ("AT", "NP"), ("PR", "NLH"), ("UI", "NPA"),
        ("VC", "HLN"), ("VI", "HLN"), ("VA", "HLN"), ("SC", "HLN"), ("SI", "HLN"), ("SA", "HLN"),
    ];

    private static readonly Dictionary<string, string> V4Optional = new(StringComparer.Ordinal)
    {
        ["E"] = "XAPU", ["CR"] = "XHML", ["IR"] = "XHML", ["AR"] = "XHML",
        ["MAV"] = "XNALP", ["MAC"] = "XLH", ["MAT"] = "XNP", ["MPR"] = "XNLH", ["MUI"] = "XNPA",
        ["MVC"] = "XHLN", ["MVI"] = "XHLN", ["MVA"] = "XHLN", ["MSC"] = "XHLN", ["MSI"] = "XSHLN", ["MSA"] = "XSHLN",
        ["S"] = "XNP", ["AU"] = "XNY", ["R"] = "XAUI", ["V"] = "XDC", ["RE"] = "XLMH", ["U"] = "XClearGreenAmberRed",
    };

    /// <summary>CVSS v4.0 score of the vector (base, with threat and environmental metrics applied when present).</summary>
    public static bool TryScoreV4(string vector, out double score)
    {
        score = 0;
        var m = ParseMetrics(vector, 1);
        if (m is null)
        {
            return false;
        }

        foreach (var (key, values) in V4Base)
        {
            if (!m.TryGetValue(key, out var value) || value.Length != 1 || values.IndexOf(value[0], StringComparison.Ordinal) < 0)
            {
                return false;
            }
        }

        foreach (var (key, value) in m)
        {
            if (Array.Exists(V4Base, b => b.Key == key))
            {
                continue;
            }

            if (!V4Optional.TryGetValue(key, out var allowed))
            {
                return false;
            }

            var ok = key == "U"
                ? value is "X" or "Clear" or "Green" or "Amber" or "Red"
                : value.Length == 1 && allowed.Contains(value[0], StringComparison.Ordinal);
            if (!ok)
            {
                return false;
            }
        }

        score = ScoreV4(m);
        return true;
    }

    // The effective value of a metric: threat/requirement defaults (E:X = A, CR/IR/AR:X = H), modified metrics override.
    private static char Eff(Dictionary<string, string> m, string key)
    {
        var value = m.TryGetValue(key, out var v) ? v[0] : 'X';
        if (key == "E")
        {
            return value == 'X' ? 'A' : value;
        }

        if (key is "CR" or "IR" or "AR")
        {
            return value == 'X' ? 'H' : value;
        }

        if (m.TryGetValue("M" + key, out var mod) && mod[0] != 'X')
        {
            return mod[0];
        }

        return value;
    }

    private static double Level(string key, char value) => key switch
    {
        "AV" => "NALP".IndexOf(value, StringComparison.Ordinal) * 0.1,
        "PR" => "NLH".IndexOf(value, StringComparison.Ordinal) * 0.1,
        "UI" => "NPA".IndexOf(value, StringComparison.Ordinal) * 0.1,
        "AC" => "LH".IndexOf(value, StringComparison.Ordinal) * 0.1,
        "AT" => "NP".IndexOf(value, StringComparison.Ordinal) * 0.1,
        "VC" or "VI" or "VA" => "HLN".IndexOf(value, StringComparison.Ordinal) * 0.1,
        "SC" => ("HLN".IndexOf(value, StringComparison.Ordinal) + 1) * 0.1,
        "SI" or "SA" => "SHLN".IndexOf(value, StringComparison.Ordinal) * 0.1,
        "CR" or "IR" or "AR" => "HML".IndexOf(value, StringComparison.Ordinal) * 0.1,
        _ => 0,
    };

    // The highest-severity vectors of each equivalence class (FIRST's reference data).
    private static readonly string[][] Eq1Max = [["AV:N/PR:N/UI:N"], ["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"], ["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"]];
    private static readonly string[][] Eq2Max = [["AC:L/AT:N"], ["AC:H/AT:N", "AC:L/AT:P"]];
    private static readonly string[][][] Eq3Eq6Max =
    [
        [["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"], ["VC:H/VI:H/VA:L/CR:M/IR:M/AR:H", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M"]],
        [["VC:L/VI:H/VA:H/CR:H/IR:H/AR:H", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H"],
         ["VC:L/VI:H/VA:L/CR:H/IR:M/AR:H", "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M", "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M", "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H", "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M"]],
        [[], ["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"]],
    ];
    private static readonly string[][] Eq4Max = [["SC:H/SI:S/SA:S"], ["SC:H/SI:H/SA:H"], ["SC:L/SI:L/SA:L"]];

    // Depth of each macrovector class, in steps of 0.1 (FIRST's reference data).
    private static readonly int[] Eq1Depth = [1, 4, 5];
    private static readonly int[] Eq2Depth = [1, 2];
    private static readonly int[][] Eq3Eq6Depth = [[7, 6], [8, 8], [0, 10]];
    private static readonly int[] Eq4Depth = [6, 5, 4];

    private static double ScoreV4(Dictionary<string, string> m)
    {
        char E(string k) => Eff(m, k);
        if ("VC VI VA SC SI SA".Split(' ').All(k => E(k) == 'N'))
        {
            return 0;
        }

        int eq1 = E("AV") == 'N' && E("PR") == 'N' && E("UI") == 'N' ? 0
            : (E("AV") == 'N' || E("PR") == 'N' || E("UI") == 'N') && E("AV") != 'P' ? 1 : 2;
        int eq2 = E("AC") == 'L' && E("AT") == 'N' ? 0 : 1;
        int eq3 = E("VC") == 'H' && E("VI") == 'H' ? 0 : E("VC") == 'H' || E("VI") == 'H' || E("VA") == 'H' ? 1 : 2;
        int eq4 = E("SI") == 'S' || E("SA") == 'S' ? 0 : E("SC") == 'H' || E("SI") == 'H' || E("SA") == 'H' ? 1 : 2;
        int eq5 = E("E") switch { 'A' => 0, 'P' => 1, _ => 2 };
        int eq6 = (E("CR") == 'H' && E("VC") == 'H') || (E("IR") == 'H' && E("VI") == 'H') || (E("AR") == 'H' && E("VA") == 'H') ? 0 : 1;

        var value = Lookup(eq1, eq2, eq3, eq4, eq5, eq6)!.Value;

        var lower1 = Lookup(eq1 + 1, eq2, eq3, eq4, eq5, eq6);
        var lower2 = Lookup(eq1, eq2 + 1, eq3, eq4, eq5, eq6);
        double? lower36 = (eq3, eq6) switch
        {
            (1, 1) or (0, 1) => Lookup(eq1, eq2, eq3 + 1, eq4, eq5, eq6),
            (1, 0) => Lookup(eq1, eq2, eq3, eq4, eq5, eq6 + 1),
            (0, 0) => Max(Lookup(eq1, eq2, eq3, eq4, eq5, eq6 + 1), Lookup(eq1, eq2, eq3 + 1, eq4, eq5, eq6)),
            _ => null,
        };
        var lower4 = Lookup(eq1, eq2, eq3, eq4 + 1, eq5, eq6);
        var lower5 = Lookup(eq1, eq2, eq3, eq4, eq5 + 1, eq6);

        // Pick the first highest-severity vector of the macrovector that the scored vector does not exceed.
        string[] keys = ["AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR"];
        var distance = new Dictionary<string, double>();
        foreach (var a in Eq1Max[eq1])
        {
            foreach (var b in Eq2Max[eq2])
            {
                foreach (var c in Eq3Eq6Max[eq3][eq6])
                {
                    foreach (var d in Eq4Max[eq4])
                    {
                        var max = ParseMetrics("x/" + a + "/" + b + "/" + c + "/" + d, 1)!;
                        distance.Clear();
                        var fits = true;
                        foreach (var k in keys)
                        {
                            var dist = Level(k, E(k)) - Level(k, max[k][0]);
                            distance[k] = dist;
                            fits &= dist >= 0;
                        }

                        if (fits)
                        {
                            goto Found;
                        }
                    }
                }
            }
        }

    Found:
        var d1 = distance["AV"] + distance["PR"] + distance["UI"];
        var d2 = distance["AC"] + distance["AT"];
        var d36 = distance["VC"] + distance["VI"] + distance["VA"] + distance["CR"] + distance["IR"] + distance["AR"];
        var d4 = distance["SC"] + distance["SI"] + distance["SA"];

        var count = 0;
        var sum = 0.0;
        void Add(double? lower, double current, double depth)
        {
            if (lower is { } l)
            {
                count++;
                sum += (value - l) * (current / depth);
            }
        }

        Add(lower1, d1, Eq1Depth[eq1] * 0.1);
        Add(lower2, d2, Eq2Depth[eq2] * 0.1);
        Add(lower36, d36, Eq3Eq6Depth[eq3][eq6] * 0.1);
        Add(lower4, d4, Eq4Depth[eq4] * 0.1);
        Add(lower5, 0, 1); // EQ5 has no depth: it counts but moves nothing

        var result = value - (count == 0 ? 0 : sum / count);
        result = Math.Clamp(result, 0, 10);
        // Round half up at one decimal after adding 1e-6, as FIRST's calculator does, so binary noise such as
        // 8.6 - 7.15 = 1.4499999999999993 rounds as the decimal 1.45 would.
        return Math.Floor(((result + 1e-6) * 10) + 0.5) / 10;
    }

    private static double? Max(double? a, double? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);

    private static double? Lookup(int eq1, int eq2, int eq3, int eq4, int eq5, int eq6)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{eq1}{eq2}{eq3}{eq4}{eq5}{eq6}");
        return MacroVectorScores.TryGetValue(key, out var s) ? s : null;
    }

    // FIRST's CVSS v4.0 macrovector score table (published data of the specification), "macrovector=score".
    private static readonly Dictionary<string, double> MacroVectorScores = (
        "000000=10 000001=9.9 000010=9.8 000011=9.5 000020=9.5 000021=9.2 000100=10 000101=9.6 000110=9.3 " +
        "000111=8.7 000120=9.1 000121=8.1 000200=9.3 000201=9 000210=8.9 000211=8 000220=8.1 000221=6.8 " +
        "001000=9.8 001001=9.5 001010=9.5 001011=9.2 001020=9 001021=8.4 001100=9.3 001101=9.2 001110=8.9 " +
        "001111=8.1 001120=8.1 001121=6.5 001200=8.8 001201=8 001210=7.8 001211=7 001220=6.9 001221=4.8 " +
        "002001=9.2 002011=8.2 002021=7.2 002101=7.9 002111=6.9 002121=5 002201=6.9 002211=5.5 002221=2.7 " +
        "010000=9.9 010001=9.7 010010=9.5 010011=9.2 010020=9.2 010021=8.5 010100=9.5 010101=9.1 010110=9 " +
        "010111=8.3 010120=8.4 010121=7.1 010200=9.2 010201=8.1 010210=8.2 010211=7.1 010220=7.2 010221=5.3 " +
        "011000=9.5 011001=9.3 011010=9.2 011011=8.5 011020=8.5 011021=7.3 011100=9.2 011101=8.2 011110=8 " +
        "011111=7.2 011120=7 011121=5.9 011200=8.4 011201=7 011210=7.1 011211=5.2 011220=5 011221=3 " +
        "012001=8.6 012011=7.5 012021=5.2 012101=7.1 012111=5.2 012121=2.9 012201=6.3 012211=2.9 012221=1.7 " +
        "100000=9.8 100001=9.5 100010=9.4 100011=8.7 100020=9.1 100021=8.1 100100=9.4 100101=8.9 100110=8.6 " +
        "100111=7.4 100120=7.7 100121=6.4 100200=8.7 100201=7.5 100210=7.4 100211=6.3 100220=6.3 100221=4.9 " +
        "101000=9.4 101001=8.9 101010=8.8 101011=7.7 101020=7.6 101021=6.7 101100=8.6 101101=7.6 101110=7.4 " +
        "101111=5.8 101120=5.9 101121=5 101200=7.2 101201=5.7 101210=5.7 101211=5.2 101220=5.2 101221=2.5 " +
        "102001=8.3 102011=7 102021=5.4 102101=6.5 102111=5.8 102121=2.6 102201=5.3 102211=2.1 102221=1.3 " +
        "110000=9.5 110001=9 110010=8.8 110011=7.6 110020=7.6 110021=7 110100=9 110101=7.7 110110=7.5 " +
        "110111=6.2 110120=6.1 110121=5.3 110200=7.7 110201=6.6 110210=6.8 110211=5.9 110220=5.2 110221=3 " +
        "111000=8.9 111001=7.8 111010=7.6 111011=6.7 111020=6.2 111021=5.8 111100=7.4 111101=5.9 111110=5.7 " +
        "111111=5.7 111120=4.7 111121=2.3 111200=6.1 111201=5.2 111210=5.7 111211=2.9 111220=2.4 111221=1.6 " +
        "112001=7.1 112011=5.9 112021=3 112101=5.8 112111=2.6 112121=1.5 112201=2.3 112211=1.3 112221=0.6 " +
        "200000=9.3 200001=8.7 200010=8.6 200011=7.2 200020=7.5 200021=5.8 200100=8.6 200101=7.4 200110=7.4 " +
        "200111=6.1 200120=5.6 200121=3.4 200200=7 200201=5.4 200210=5.2 200211=4 200220=4 200221=2.2 " +
        "201000=8.5 201001=7.5 201010=7.4 201011=5.5 201020=6.2 201021=5.1 201100=7.2 201101=5.7 201110=5.5 " +
        "201111=4.1 201120=4.6 201121=1.9 201200=5.3 201201=3.6 201210=3.4 201211=1.9 201220=1.9 201221=0.8 " +
        "202001=6.4 202011=5.1 202021=2 202101=4.7 202111=2.1 202121=1.1 202201=2.4 202211=0.9 202221=0.4 " +
        "210000=8.8 210001=7.5 210010=7.3 210011=5.3 210020=6 210021=5 210100=7.3 210101=5.5 210110=5.9 " +
        "210111=4 210120=4.1 210121=2 210200=5.4 210201=4.3 210210=4.5 210211=2.2 210220=2 210221=1.1 " +
        "211000=7.5 211001=5.5 211010=5.8 211011=4.5 211020=4 211021=2.1 211100=6.1 211101=5.1 211110=4.8 " +
        "211111=1.8 211120=2 211121=0.9 211200=4.6 211201=1.8 211210=1.7 211211=0.7 211220=0.8 211221=0.2 " +
        "212001=5.3 212011=2.4 212021=1.4 212101=2.4 212111=1.2 212121=0.5 212201=1 212211=0.3 212221=0.1 " +        "")
        .Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Select(p => p.Split('='))
        .ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
}
