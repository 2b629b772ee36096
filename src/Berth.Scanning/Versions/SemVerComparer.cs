namespace Berth.Scanning.Versions;

/// <summary>
/// Semantic Versioning 2.0 precedence, with the dialects the ecosystems use: a leading <c>v</c> (Go), build metadata
/// ignored (so Go's <c>+incompatible</c> compares as the plain version), one to four numeric parts with missing ones
/// as 0 (NuGet's <c>1.2.3.4</c>; <c>1.2</c> == <c>1.2.0</c>), and prerelease identifiers compared numerically when
/// both are numeric, numeric before alphanumeric, otherwise by code point, or case-insensitively
/// (<see cref="NuGet"/>); a version with a prerelease is older than the same version without.
/// </summary>
/// <remarks>Invalid: a part that is not a number, more than four parts, an empty prerelease identifier.</remarks>
public sealed class SemVerComparer : IVersionComparer
{
    /// <summary>npm, Go, crates.io and OSV <c>SEMVER</c> ranges.</summary>
    public static readonly SemVerComparer Instance = new(ignoreCase: false);

    /// <summary>NuGet: prerelease labels compare case-insensitively.</summary>
    public static readonly SemVerComparer NuGet = new(ignoreCase: true);

    private readonly bool _ignoreCase;

    private SemVerComparer(bool ignoreCase) => _ignoreCase = ignoreCase;

    public string Name => _ignoreCase ? "semver-nuget" : "semver";

    public bool IsValid(string version) => TryParse(version, out _, out _);

    public int Compare(string x, string y)
    {
        var xOk = TryParse(x, out var xn, out var xp);
        var yOk = TryParse(y, out var yn, out var yp);
        if (!xOk || !yOk)
        {
            return VersionText.CompareWithInvalid(xOk, yOk, x, y);
        }

        for (var i = 0; i < 4; i++)
        {
            var c = VersionText.CompareDigits(Part(x, xn, i), Part(y, yn, i));
            if (c != 0)
            {
                return c;
            }
        }

        var xs = xp.Start.Value < xp.End.Value ? x.AsSpan()[xp] : default;
        var ys = yp.Start.Value < yp.End.Value ? y.AsSpan()[yp] : default;
        if (xs.IsEmpty || ys.IsEmpty)
        {
            return xs.IsEmpty == ys.IsEmpty ? 0 : xs.IsEmpty ? 1 : -1;
        }

        return ComparePrerelease(xs, ys);
    }

    private static ReadOnlySpan<char> Part(string s, Range[] parts, int i) =>
        i < parts.Length && parts[i].End.Value > 0 ? s.AsSpan()[parts[i]] : "0";

    private int ComparePrerelease(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        while (true)
        {
            var ea = a.IndexOf('.');
            var eb = b.IndexOf('.');
            var ia = ea < 0 ? a : a[..ea];
            var ib = eb < 0 ? b : b[..eb];
            var na = IsNumeric(ia);
            var nb = IsNumeric(ib);
            int c;
            if (na && nb)
            {
                c = VersionText.CompareDigits(ia, ib);
            }
            else if (na != nb)
            {
                c = na ? -1 : 1;
            }
            else
            {
                c = Math.Sign(_ignoreCase
                    ? ia.CompareTo(ib, StringComparison.OrdinalIgnoreCase)
                    : ia.SequenceCompareTo(ib));
            }

            if (c != 0)
            {
                return c;
            }

            if (ea < 0 || eb < 0)
            {
                return ea < 0 == eb < 0 ? 0 : ea < 0 ? -1 : 1;
            }

            a = a[(ea + 1)..];
            b = b[(eb + 1)..];
        }
    }

    private static bool IsNumeric(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!VersionText.IsDigit(c))
            {
                return false;
            }
        }

        return !s.IsEmpty;
    }

    private static bool TryParse(string v, out Range[] numbers, out Range prerelease)
    {
        numbers = [];
        prerelease = default;
        var s = v.AsSpan();
        var start = 0;
        if (s.Length > 0 && s[0] is 'v' or 'V')
        {
            start = 1;
        }

        var plus = s.IndexOf('+');
        var end = plus >= 0 ? plus : s.Length;
        var core = s[start..end];
        var dash = core.IndexOf('-');
        var numEnd = start + (dash >= 0 ? dash : core.Length);
        if (dash >= 0)
        {
            prerelease = new Range(numEnd + 1, end);
            var pre = s[(numEnd + 1)..end];
            if (pre.IsEmpty)
            {
                return false;
            }

            foreach (var seg in pre.Split('.'))
            {
                var id = pre[seg];
                if (id.IsEmpty)
                {
                    return false;
                }

                foreach (var c in id)
                {
                    if (!(VersionText.IsDigit(c) || VersionText.IsLetter(c) || c == '-'))
                    {
                        return false;
                    }
                }
            }
        }

        var list = new Range[4];
        var count = 0;
        var i = start;
        while (true)
        {
            var segStart = i;
            while (i < numEnd && VersionText.IsDigit(s[i]))
            {
                i++;
            }

            if (i == segStart || count == 4)
            {
                return false;
            }

            list[count++] = new Range(segStart, i);
            if (i == numEnd)
            {
                break;
            }

            if (s[i] != '.')
            {
                return false;
            }

            i++;
        }

        numbers = list[..count];
        return true;
    }
}
