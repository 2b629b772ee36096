namespace Berth.Scanning.Versions;

/// <summary>
/// dpkg's ordering (Debian policy manual, "Version"): <c>[epoch:]upstream[-revision]</c>; the epoch compares
/// numerically (absent = 0), then upstream and revision each compare as alternating non-digit and digit runs: non-digit
/// runs character by character where <c>~</c> sorts before everything (even the end of the string), letters before
/// every other character, and digit runs numerically. The revision is what follows the last hyphen (absent = "0",
/// which compares equal to an empty one). Ubuntu uses the same ordering.
/// </summary>
/// <remarks>Invalid: empty, a non-numeric epoch, an empty upstream part, or characters outside
/// <c>[A-Za-z0-9.+~:-]</c>; dpkg itself refuses those.</remarks>
public sealed class DebianVersionComparer : IVersionComparer
{
    public static readonly DebianVersionComparer Instance = new();

    public string Name => "dpkg";

    public bool IsValid(string version) => TrySplit(version, out _, out _, out _);

    public int Compare(string x, string y)
    {
        var xOk = TrySplit(x, out var xe, out var xu, out var xr);
        var yOk = TrySplit(y, out var ye, out var yu, out var yr);
        if (!xOk || !yOk)
        {
            return VersionText.CompareWithInvalid(xOk, yOk, x, y);
        }

        var c = VersionText.CompareDigits(xe, ye);
        if (c != 0)
        {
            return c;
        }

        c = CompareFragment(xu, yu);
        return c != 0 ? c : CompareFragment(xr, yr);
    }

    private static bool TrySplit(string v, out ReadOnlySpan<char> epoch, out ReadOnlySpan<char> upstream, out ReadOnlySpan<char> revision)
    {
        epoch = default;
        upstream = default;
        revision = default;
        var s = v.AsSpan().Trim();
        if (s.IsEmpty)
        {
            return false;
        }

        foreach (var ch in s)
        {
            if (!(VersionText.IsDigit(ch) || VersionText.IsLetter(ch) || ch is '.' or '+' or '~' or ':' or '-'))
            {
                return false;
            }
        }

        var colon = s.IndexOf(':');
        if (colon >= 0)
        {
            epoch = s[..colon];
            if (epoch.IsEmpty)
            {
                return false;
            }

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
            revision = s[(dash + 1)..];
            s = s[..dash];
        }

        upstream = s;
        return !upstream.IsEmpty;
    }

    private static int Weight(ReadOnlySpan<char> s, int i)
    {
        if (i >= s.Length)
        {
            return 0;
        }

        var c = s[i];
        if (c == '~')
        {
            return -1;
        }

        if (VersionText.IsLetter(c))
        {
            return c;
        }

        return c + 256;
    }

    private static int CompareFragment(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            // Non-digit run: compare weights position by position until both reach a digit (or the end).
            while ((i < a.Length && !VersionText.IsDigit(a[i])) || (j < b.Length && !VersionText.IsDigit(b[j])))
            {
                var wa = i < a.Length && !VersionText.IsDigit(a[i]) ? Weight(a, i) : 0;
                var wb = j < b.Length && !VersionText.IsDigit(b[j]) ? Weight(b, j) : 0;
                if (wa != wb)
                {
                    return wa < wb ? -1 : 1;
                }

                if (i < a.Length && !VersionText.IsDigit(a[i]))
                {
                    i++;
                }

                if (j < b.Length && !VersionText.IsDigit(b[j]))
                {
                    j++;
                }
            }

            var si = i;
            while (i < a.Length && VersionText.IsDigit(a[i]))
            {
                i++;
            }

            var sj = j;
            while (j < b.Length && VersionText.IsDigit(b[j]))
            {
                j++;
            }

            var c = VersionText.CompareDigits(a[si..i], b[sj..j]);
            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }
}
