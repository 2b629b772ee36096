namespace Berth.Scanning.Versions;

/// <summary>
/// RPM's ordering of <c>[epoch:]version[-release]</c>, as <c>rpm.vercmp</c> orders EVR strings: epochs numerically
/// (absent = 0), then version, then release (an absent release is empty, so "1.2-1" is newer than "1.2"). Version and release compare
/// with rpm's segment rule: separators (anything not alphanumeric, <c>~</c> or <c>^</c>) only split segments; <c>~</c>
/// sorts before everything including the end; <c>^</c> sorts after the end but before any other segment; a numeric
/// segment is newer than an alphabetic one; numeric segments compare numerically, alphabetic ones by code point; when
/// one side runs out, the side with segments left is newer.
/// </summary>
/// <remarks>Invalid: empty, or a non-numeric epoch. Everything else has an order (as rpm gives every string one).</remarks>
public sealed class RpmVersionComparer : IVersionComparer
{
    public static readonly RpmVersionComparer Instance = new();

    public string Name => "rpm";

    public bool IsValid(string version) => TrySplit(version, out _, out _, out _);

    public int Compare(string x, string y)
    {
        var xOk = TrySplit(x, out var xe, out var xv, out var xr);
        var yOk = TrySplit(y, out var ye, out var yv, out var yr);
        if (!xOk || !yOk)
        {
            return VersionText.CompareWithInvalid(xOk, yOk, x, y);
        }

        var c = VersionText.CompareDigits(xe, ye);
        if (c != 0)
        {
            return c;
        }

        c = CompareSegments(xv, yv);
        return c != 0 ? c : CompareSegments(xr, yr);
    }

    private static bool TrySplit(string v, out ReadOnlySpan<char> epoch, out ReadOnlySpan<char> version, out ReadOnlySpan<char> release)
    {
        epoch = default;
        release = default;
        var s = v.AsSpan().Trim();
        version = s;
        if (s.IsEmpty)
        {
            return false;
        }

        var colon = s.IndexOf(':');
        if (colon >= 0)
        {
            epoch = s[..colon];
            foreach (var ch in epoch)
            {
                if (!VersionText.IsDigit(ch))
                {
                    return false;
                }
            }

            s = s[(colon + 1)..];
        }

        var dash = s.LastIndexOf('-');
        if (dash >= 0)
        {
            release = s[(dash + 1)..];
            s = s[..dash];
        }

        version = s;
        return !version.IsEmpty;
    }

    private static bool IsAlnum(char c) => VersionText.IsDigit(c) || VersionText.IsLetter(c);

    /// <summary>The segment rule (exposed for the cross-check against rpm's own <c>rpm.vercmp</c>).</summary>
    internal static int CompareSegments(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        if (a.SequenceEqual(b))
        {
            return 0;
        }

        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            while (i < a.Length && !IsAlnum(a[i]) && a[i] is not '~' and not '^')
            {
                i++;
            }

            while (j < b.Length && !IsAlnum(b[j]) && b[j] is not '~' and not '^')
            {
                j++;
            }

            var ta = i < a.Length && a[i] == '~';
            var tb = j < b.Length && b[j] == '~';
            if (ta || tb)
            {
                if (!ta)
                {
                    return 1;
                }

                if (!tb)
                {
                    return -1;
                }

                i++;
                j++;
                continue;
            }

            var ca = i < a.Length && a[i] == '^';
            var cb = j < b.Length && b[j] == '^';
            if (ca || cb)
            {
                if (i >= a.Length)
                {
                    return -1;
                }

                if (j >= b.Length)
                {
                    return 1;
                }

                if (!ca)
                {
                    return 1;
                }

                if (!cb)
                {
                    return -1;
                }

                i++;
                j++;
                continue;
            }

            if (i >= a.Length || j >= b.Length)
            {
                break;
            }

            var numeric = VersionText.IsDigit(a[i]);
            var si = i;
            var sj = j;
            if (numeric)
            {
                while (i < a.Length && VersionText.IsDigit(a[i]))
                {
                    i++;
                }

                while (j < b.Length && VersionText.IsDigit(b[j]))
                {
                    j++;
                }
            }
            else
            {
                while (i < a.Length && VersionText.IsLetter(a[i]))
                {
                    i++;
                }

                while (j < b.Length && VersionText.IsLetter(b[j]))
                {
                    j++;
                }
            }

            if (sj == j)
            {
                // The other side's segment is of the other kind: numeric wins.
                return numeric ? 1 : -1;
            }

            var c = numeric
                ? VersionText.CompareDigits(a[si..i], b[sj..j])
                : Math.Sign(a[si..i].SequenceCompareTo(b[sj..j]));
            if (c != 0)
            {
                return c;
            }
        }

        if (i >= a.Length && j >= b.Length)
        {
            return 0;
        }

        return i >= a.Length ? -1 : 1;
    }
}
