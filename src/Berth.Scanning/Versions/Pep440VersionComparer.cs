using System.Numerics;

namespace Berth.Scanning.Versions;

/// <summary>
/// PEP 440 ordering (PyPI): <c>[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]</c> with the spec's normalisations
/// (case-insensitive; <c>alpha/beta/c/pre/preview</c> spellings; <c>-</c>, <c>_</c> or <c>.</c> separators;
/// implicit 0 numbers; <c>1.0-1</c> as a post release; a leading <c>v</c>; trailing zero release parts ignored, so
/// <c>1.0a1</c> == <c>1.0.a.1</c> and <c>1.0</c> == <c>1.0.0</c>). Order within one release: dev releases of the
/// release &lt; its pre-releases (each with its own dev releases first) &lt; the release &lt; its post releases; a
/// local version sorts after the same public version, local segments numeric above alphanumeric.
/// </summary>
/// <remarks>Invalid: anything the grammar of PEP 440's appendix does not accept (e.g. "1.0-foo", "latest"), and versions
/// longer than <see cref="Pep440Version.MaxLength"/> characters (numbers are arbitrary-precision; a hostile
/// 400,000-digit release number must not cost seconds to parse).</remarks>
public sealed class Pep440VersionComparer : IVersionComparer
{
    public static readonly Pep440VersionComparer Instance = new();

    public string Name => "pep440";

    public bool IsValid(string version) => Pep440Version.TryParse(version, out _);

    public int Compare(string x, string y)
    {
        var xOk = Pep440Version.TryParse(x, out var a);
        var yOk = Pep440Version.TryParse(y, out var b);
        if (!xOk || !yOk)
        {
            return VersionText.CompareWithInvalid(xOk, yOk, x, y);
        }

        return a!.CompareTo(b!);
    }
}

/// <summary>A parsed PEP 440 version.</summary>
internal sealed class Pep440Version : IComparable<Pep440Version>
{
    private BigInteger _epoch;
    private readonly List<BigInteger> _release = [];
    private int _preKind = -1; // 0 a, 1 b, 2 rc; -1 none
    private BigInteger _pre;
    private BigInteger? _post;
    private BigInteger? _dev;
    private readonly List<string> _local = [];

    public const int MaxLength = 256;

    public static bool TryParse(string text, out Pep440Version? version)
    {
        version = null;
        if (text.Length > MaxLength)
        {
            return false;
        }

        var s = text.Trim().ToLowerInvariant();
        var p = new Pep440Version();
        var i = 0;
        if (i < s.Length && s[i] == 'v')
        {
            i++;
        }

        if (!ReadNumber(s, ref i, out var first))
        {
            return false;
        }

        if (i < s.Length && s[i] == '!')
        {
            p._epoch = first;
            i++;
            if (!ReadNumber(s, ref i, out first))
            {
                return false;
            }
        }

        p._release.Add(first);
        while (i + 1 < s.Length && s[i] == '.' && VersionText.IsDigit(s[i + 1]))
        {
            i++;
            ReadNumber(s, ref i, out var n);
            p._release.Add(n);
        }

        // Pre-release: [sep](a|b|c|rc|alpha|beta|pre|preview)[sep][N]; a separator may follow the word without a number.
        var save = i;
        SkipSeparator(s, ref i);
        var kind = MatchWord(s, ref i, PreWords) switch
        {
            "a" or "alpha" => 0,
            "b" or "beta" => 1,
            "c" or "rc" or "pre" or "preview" => 2,
            _ => -1,
        };
        if (kind >= 0)
        {
            p._preKind = kind;
            SkipSeparator(s, ref i);
            ReadNumber(s, ref i, out p._pre);
        }
        else
        {
            i = save;
        }

        // Post-release: "-N" or [sep](post|rev|r)[sep][N].
        save = i;
        if (i + 1 < s.Length && s[i] == '-' && VersionText.IsDigit(s[i + 1]))
        {
            i++;
            ReadNumber(s, ref i, out var post);
            p._post = post;
        }
        else
        {
            SkipSeparator(s, ref i);
            if (MatchWord(s, ref i, PostWords) is not null)
            {
                SkipSeparator(s, ref i);
                ReadNumber(s, ref i, out var post);
                p._post = post;
            }
            else
            {
                i = save;
            }
        }

        // Dev release: [sep]dev[sep][N].
        save = i;
        SkipSeparator(s, ref i);
        if (MatchWord(s, ref i, DevWords) is not null)
        {
            SkipSeparator(s, ref i);
            ReadNumber(s, ref i, out var dev);
            p._dev = dev;
        }
        else
        {
            i = save;
        }

        if (i < s.Length && s[i] == '+')
        {
            i++;
            var start = i;
            while (i <= s.Length)
            {
                if (i == s.Length || s[i] is '.' or '-' or '_')
                {
                    if (i == start)
                    {
                        return false;
                    }

                    p._local.Add(s[start..i]);
                    if (i == s.Length)
                    {
                        break;
                    }

                    start = i + 1;
                }
                else if (!VersionText.IsDigit(s[i]) && s[i] is not (>= 'a' and <= 'z'))
                {
                    return false;
                }

                i++;
            }
        }

        if (i != s.Length)
        {
            return false;
        }

        version = p;
        return true;
    }

    private static void SkipSeparator(string s, ref int i)
    {
        if (i < s.Length && s[i] is '.' or '-' or '_')
        {
            i++;
        }
    }

    // Longer spellings first, so "preview" is not read as "pre" + "view".
    private static readonly string[] PreWords = ["preview", "alpha", "beta", "pre", "rc", "a", "b", "c"];
    private static readonly string[] PostWords = ["post", "rev", "r"];
    private static readonly string[] DevWords = ["dev"];

    private static string? MatchWord(string s, ref int i, string[] words)
    {
        foreach (var w in words)
        {
            if (s.AsSpan(i).StartsWith(w, StringComparison.Ordinal))
            {
                i += w.Length;
                return w;
            }
        }

        return null;
    }

    private static bool ReadNumber(string s, ref int i, out BigInteger value)
    {
        var start = i;
        while (i < s.Length && VersionText.IsDigit(s[i]))
        {
            i++;
        }

        value = i > start ? BigInteger.Parse(s.AsSpan(start, i - start), provider: System.Globalization.CultureInfo.InvariantCulture) : BigInteger.Zero;
        return i > start;
    }

    public int CompareTo(Pep440Version? other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var c = _epoch.CompareTo(other._epoch);
        if (c != 0)
        {
            return Math.Sign(c);
        }

        var n = Math.Max(_release.Count, other._release.Count);
        for (var k = 0; k < n; k++)
        {
            var x = k < _release.Count ? _release[k] : BigInteger.Zero;
            var y = k < other._release.Count ? other._release[k] : BigInteger.Zero;
            c = x.CompareTo(y);
            if (c != 0)
            {
                return Math.Sign(c);
            }
        }

        c = PreKey().CompareTo(other.PreKey());
        if (c != 0)
        {
            return Math.Sign(c);
        }

        c = PostKey().CompareTo(other.PostKey());
        if (c != 0)
        {
            return Math.Sign(c);
        }

        c = DevKey().CompareTo(other.DevKey());
        if (c != 0)
        {
            return Math.Sign(c);
        }

        return CompareLocal(_local, other._local);
    }

    // Keys as (rank, number) pairs: rank orders "absent" against present values per PEP 440.
    private (int, BigInteger) PreKey()
    {
        if (_preKind < 0)
        {
            // A bare dev release (1.0.dev1) sorts before every pre-release of 1.0; a final or post release after them.
            return _post is null && _dev is not null ? (-1, 0) : (3, 0);
        }

        return (_preKind, _pre);
    }

    private (int, BigInteger) PostKey() => _post is { } p ? (1, p) : (0, 0);

    private (int, BigInteger) DevKey() => _dev is { } d ? (0, d) : (1, 0);

    private static int CompareLocal(List<string> a, List<string> b)
    {
        var n = Math.Max(a.Count, b.Count);
        for (var k = 0; k < n; k++)
        {
            if (k >= a.Count)
            {
                return -1;
            }

            if (k >= b.Count)
            {
                return 1;
            }

            var an = a[k].All(VersionText.IsDigit);
            var bn = b[k].All(VersionText.IsDigit);
            int c;
            if (an && bn)
            {
                c = VersionText.CompareDigits(a[k], b[k]);
            }
            else if (an != bn)
            {
                c = an ? 1 : -1;
            }
            else
            {
                c = Math.Sign(string.CompareOrdinal(a[k], b[k]));
            }

            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }
}
