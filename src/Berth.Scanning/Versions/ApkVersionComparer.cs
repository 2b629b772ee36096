namespace Berth.Scanning.Versions;

/// <summary>
/// Alpine's apk ordering: <c>number(.number)*[letter](_suffix[number])*[~hash][-rN]</c>. Numbers compare numerically
/// part by part and more parts is newer (<c>1.0.1</c> &gt; <c>1.0</c>); then the single letter (none &lt; a &lt; b);
/// then the suffixes in turn, where <c>_alpha &lt; _beta &lt; _pre &lt; _rc</c> &lt; no suffix &lt;
/// <c>_cvs &lt; _svn &lt; _git &lt; _hg &lt; _p</c>, same suffixes by their number; then the <c>~hash</c> (ignored);
/// then the package release <c>-rN</c> (absent = r0).
/// </summary>
/// <remarks>Invalid: anything that does not follow that shape (an unknown suffix, a missing leading number, text after -rN).</remarks>
public sealed class ApkVersionComparer : IVersionComparer
{
    public static readonly ApkVersionComparer Instance = new();

    private static readonly string[] PreSuffixes = ["alpha", "beta", "pre", "rc"];
    private static readonly string[] PostSuffixes = ["cvs", "svn", "git", "hg", "p"];

    public string Name => "apk";

    public bool IsValid(string version) => TryParse(version, out _);

    public int Compare(string x, string y)
    {
        var xOk = TryParse(x, out var a);
        var yOk = TryParse(y, out var b);
        if (!xOk || !yOk)
        {
            return VersionText.CompareWithInvalid(xOk, yOk, x, y);
        }

        var n = Math.Max(a.Numbers.Count, b.Numbers.Count);
        for (var i = 0; i < n; i++)
        {
            if (i >= a.Numbers.Count)
            {
                return -1;
            }

            if (i >= b.Numbers.Count)
            {
                return 1;
            }

            var c = VersionText.CompareDigits(a.Numbers[i], b.Numbers[i]);
            if (c != 0)
            {
                return c;
            }
        }

        if (a.Letter != b.Letter)
        {
            return a.Letter < b.Letter ? -1 : 1;
        }

        var m = Math.Max(a.Suffixes.Count, b.Suffixes.Count);
        for (var i = 0; i < m; i++)
        {
            var sa = i < a.Suffixes.Count ? a.Suffixes[i] : (0, "");
            var sb = i < b.Suffixes.Count ? b.Suffixes[i] : (0, "");
            if (sa.Item1 != sb.Item1)
            {
                return sa.Item1 < sb.Item1 ? -1 : 1;
            }

            var c = VersionText.CompareDigits(sa.Item2, sb.Item2);
            if (c != 0)
            {
                return c;
            }
        }

        return VersionText.CompareDigits(a.Release, b.Release);
    }

    private sealed record Parsed(List<string> Numbers, char Letter, List<(int Rank, string Number)> Suffixes, string Release);

    private static bool TryParse(string v, out Parsed parsed)
    {
        parsed = null!;
        var s = v.Trim();
        var i = 0;
        var numbers = new List<string>();
        while (true)
        {
            var start = i;
            while (i < s.Length && VersionText.IsDigit(s[i]))
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }

            numbers.Add(s[start..i]);
            if (i < s.Length && s[i] == '.' && i + 1 < s.Length && VersionText.IsDigit(s[i + 1]))
            {
                i++;
                continue;
            }

            break;
        }

        var letter = '\0';
        if (i < s.Length && s[i] is >= 'a' and <= 'z')
        {
            letter = s[i++];
        }

        var suffixes = new List<(int, string)>();
        while (i < s.Length && s[i] == '_')
        {
            i++;
            var start = i;
            while (i < s.Length && s[i] is >= 'a' and <= 'z')
            {
                i++;
            }

            var name = s[start..i];
            var pre = Array.IndexOf(PreSuffixes, name);
            var post = Array.IndexOf(PostSuffixes, name);
            int rank;
            if (pre >= 0)
            {
                rank = pre - PreSuffixes.Length; // -4..-1: before the release (0)
            }
            else if (post >= 0)
            {
                rank = post + 1; // 1..5: after the release
            }
            else
            {
                return false;
            }

            start = i;
            while (i < s.Length && VersionText.IsDigit(s[i]))
            {
                i++;
            }

            suffixes.Add((rank, s[start..i]));
        }

        if (i < s.Length && s[i] == '~')
        {
            i++;
            while (i < s.Length && (VersionText.IsDigit(s[i]) || s[i] is >= 'a' and <= 'f'))
            {
                i++;
            }
        }

        var release = "";
        if (i < s.Length && s[i] == '-')
        {
            if (i + 2 >= s.Length || s[i + 1] != 'r')
            {
                return false;
            }

            var start = i + 2;
            i = start;
            while (i < s.Length && VersionText.IsDigit(s[i]))
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }

            release = s[start..i];
        }

        if (i != s.Length)
        {
            return false;
        }

        parsed = new Parsed(numbers, letter, suffixes, release);
        return true;
    }
}
