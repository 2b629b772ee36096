namespace Berth.Scanning.Versions;

/// <summary>
/// One ecosystem's version ordering. Implementations are stateless and thread-safe.
/// </summary>
/// <remarks>
/// The rule for versions the ordering cannot parse: <see cref="Compare"/> never throws; an unparsable version sorts
/// before every parsable one, and two unparsable versions compare ordinally, so the order stays total (sorting works).
/// Matching does not rely on that order: it asks <see cref="IsValid"/> first, and an unparsable installed version is
/// only matched by an advisory's explicit version list, an unparsable range event makes its range unusable
/// (see <c>Berth.Scanning.Advisories.OsvRangeEvaluator</c>).
/// </remarks>
public interface IVersionComparer
{
    /// <summary>The ordering's name ("dpkg", "apk", "rpm", "semver", "pep440", "maven").</summary>
    string Name { get; }

    /// <summary>Whether <paramref name="version"/> follows the ordering's syntax.</summary>
    bool IsValid(string version);

    /// <summary>Negative when <paramref name="x"/> is older than <paramref name="y"/>, zero when equal, positive when newer.</summary>
    int Compare(string x, string y);
}

/// <summary>Shared helpers for the comparers.</summary>
internal static class VersionText
{
    /// <summary>Compares two runs of ASCII digits numerically whatever their length (leading zeros ignored).</summary>
    public static int CompareDigits(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        a = a.TrimStart('0');
        b = b.TrimStart('0');
        if (a.Length != b.Length)
        {
            return a.Length < b.Length ? -1 : 1;
        }

        return Math.Sign(a.SequenceCompareTo(b));
    }

    /// <summary>Total order fallback for versions an ordering cannot parse (see <see cref="IVersionComparer"/>).</summary>
    public static int CompareWithInvalid(bool xValid, bool yValid, string x, string y)
    {
        if (xValid == yValid)
        {
            return Math.Sign(string.CompareOrdinal(x, y));
        }

        return xValid ? 1 : -1;
    }

    public static bool IsDigit(char c) => c is >= '0' and <= '9';

    public static bool IsLetter(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z');
}
