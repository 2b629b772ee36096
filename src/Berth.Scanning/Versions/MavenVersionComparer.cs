namespace Berth.Scanning.Versions;

/// <summary>
/// Maven's version order (the POM reference's "Version Order Specification", as Maven 3.8's ComparableVersion
/// applies it): the version splits into items at <c>.</c>, at <c>-</c> and where digits meet letters; a <c>-</c> (or a
/// digit/letter transition) opens a nested list, so "1-1" is [1, [1]] and sorts before "1.1" = [1, 1]; a qualifier
/// followed by digits or ending the version after a <c>.</c> is read as if after a <c>-</c> ("1.0.x" == "1-x"). Empty items are 0. Trailing "null" items (0, "", "ga",
/// "final", "release") are dropped from each list. Items compare: numbers numerically; qualifiers by
/// alpha=a &lt; beta=b &lt; milestone=m &lt; rc=cr &lt; snapshot &lt; ""=ga=final=release &lt; sp &lt; unknown ones
/// (case-insensitive, among themselves lexically), where a/b/m are the short forms only when a digit follows;
/// a number is newer than a list, which is newer than a qualifier. A missing item compares as null: 0 for a number,
/// "" for a qualifier, an empty list for a list.
/// </summary>
/// <remarks>Maven orders any text; here an empty version, or one longer than <see cref="MaxLength"/> characters, is
/// invalid: each letter/digit switch nests a list, and a hostile version string must not nest deep enough to exhaust
/// the stack when compared.</remarks>
public sealed class MavenVersionComparer : IVersionComparer
{
    public static readonly MavenVersionComparer Instance = new();

    public string Name => "maven";

    /// <summary>The longest version compared by Maven's rules (real versions are far shorter).</summary>
    public const int MaxLength = 256;

    public bool IsValid(string version) => !string.IsNullOrWhiteSpace(version) && version.Length <= MaxLength;

    public int Compare(string x, string y)
    {
        var xOk = IsValid(x);
        var yOk = IsValid(y);
        if (!xOk || !yOk)
        {
            return VersionText.CompareWithInvalid(xOk, yOk, x, y);
        }

        return CompareLists(Parse(x), Parse(y));
    }

    private abstract record Item;

    private sealed record NumberItem(string Digits) : Item;

    private sealed record QualifierItem(string Value) : Item;

    private sealed record ListItem(List<Item> Items) : Item;

    private static readonly string[] Known = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

    private static string QualifierKey(string q)
    {
        q = q switch
        {
            "ga" or "final" or "release" => "",
            "cr" => "rc",
            _ => q,
        };
        var index = Array.IndexOf(Known, q);
        // Known qualifiers sort by their index; unknown ones after all of them, lexically.
        return index >= 0 ? index.ToString(System.Globalization.CultureInfo.InvariantCulture) : Known.Length + "-" + q;
    }

    private static ListItem Parse(string version)
    {
        var v = version.Trim().ToLowerInvariant();
        var root = new ListItem([]);
        var lists = new List<ListItem> { root };
        var current = root;
        var start = 0;
        var digit = false;

        for (var i = 0; i < v.Length; i++)
        {
            var c = v[i];
            if (c == '.')
            {
                current.Items.Add(i == start ? new NumberItem("0") : MakeItem(v, start, i, digit));
                start = i + 1;
            }
            else if (c == '-')
            {
                current.Items.Add(i == start ? new NumberItem("0") : MakeItem(v, start, i, digit));
                start = i + 1;
                current = OpenList(current, lists);
            }
            else if (VersionText.IsDigit(c))
            {
                if (!digit && i > start)
                {
                    // ".X1" reads as "-X1": a qualifier starting a list that already has items opens a new one.
                    if (current.Items.Count > 0)
                    {
                        current = OpenList(current, lists);
                    }

                    current.Items.Add(MakeItem(v, start, i, false, followedByDigit: true));
                    start = i;
                    current = OpenList(current, lists);
                }

                digit = true;
            }
            else
            {
                if (digit && i > start)
                {
                    current.Items.Add(MakeItem(v, start, i, true));
                    start = i;
                    current = OpenList(current, lists);
                }

                digit = false;
            }
        }

        if (v.Length > start)
        {
            // A final ".X" qualifier reads as "-X" too.
            if (!digit && current.Items.Count > 0)
            {
                current = OpenList(current, lists);
            }

            current.Items.Add(MakeItem(v, start, v.Length, digit));
        }

        for (var k = lists.Count - 1; k >= 0; k--)
        {
            Normalize(lists[k]);
        }

        return root;
    }

    private static ListItem OpenList(ListItem current, List<ListItem> lists)
    {
        var list = new ListItem([]);
        current.Items.Add(list);
        lists.Add(list);
        return list;
    }

    private static Item MakeItem(string v, int start, int end, bool digit, bool followedByDigit = false)
    {
        var text = v[start..end];
        if (digit)
        {
            return new NumberItem(text.TrimStart('0') is { Length: > 0 } t ? t : "0");
        }

        if (followedByDigit && text.Length == 1)
        {
            text = text switch { "a" => "alpha", "b" => "beta", "m" => "milestone", _ => text };
        }

        return new QualifierItem(text);
    }

    private static bool IsNull(Item item) => item switch
    {
        NumberItem n => n.Digits == "0",
        QualifierItem q => QualifierKey(q.Value) == QualifierKey(""),
        ListItem l => l.Items.Count == 0,
        _ => false,
    };

    private static void Normalize(ListItem list)
    {
        // Drop trailing nulls, stepping over nested lists that are not null themselves.
        for (var k = list.Items.Count - 1; k >= 0; k--)
        {
            var item = list.Items[k];
            if (IsNull(item))
            {
                list.Items.RemoveAt(k);
            }
            else if (item is not ListItem)
            {
                break;
            }
        }
    }

    private static int CompareItems(Item? a, Item? b)
    {
        if (a is null && b is null)
        {
            return 0;
        }

        if (a is null)
        {
            return -CompareItems(b, null);
        }

        switch (a)
        {
            case NumberItem n:
                return b switch
                {
                    null => n.Digits == "0" ? 0 : 1,
                    NumberItem m => VersionText.CompareDigits(n.Digits, m.Digits),
                    _ => 1,
                };
            case QualifierItem q:
                return b switch
                {
                    null => Math.Sign(string.CompareOrdinal(QualifierKey(q.Value), QualifierKey(""))),
                    QualifierItem r => Math.Sign(string.CompareOrdinal(QualifierKey(q.Value), QualifierKey(r.Value))),
                    _ => -1,
                };
            case ListItem l:
                return b switch
                {
                    null => CompareListWithNull(l),
                    NumberItem => -1,
                    QualifierItem => 1,
                    ListItem m => CompareLists(l, m),
                    _ => 0,
                };
            default:
                return 0;
        }
    }

    // A list against a missing item: the first of its items that differs from null decides.
    private static int CompareListWithNull(ListItem list)
    {
        foreach (var item in list.Items)
        {
            var c = CompareItems(item, null);
            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }

    private static int CompareLists(ListItem a, ListItem b)
    {
        var n = Math.Max(a.Items.Count, b.Items.Count);
        for (var k = 0; k < n; k++)
        {
            var c = CompareItems(k < a.Items.Count ? a.Items[k] : null, k < b.Items.Count ? b.Items[k] : null);
            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }
}
