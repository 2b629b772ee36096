using System.Text;

namespace Berth.Scanning.Text;

/// <summary>
/// Makes untrusted text (advisory titles, package names and versions read from an image) safe to print on a terminal:
/// whole ANSI escape sequences (CSI, OSC, DCS and two-byte escapes) are dropped, other C0/C1 control characters and
/// DEL are dropped, tabs and line breaks become spaces, and Unicode bidirectional overrides (which can make a line read
/// differently from its bytes) are dropped. Lone surrogates are dropped.
/// </summary>
public static class TerminalText
{
    private const char Esc = '\u001b';

    /// <summary>The cleaned text; empty for null.</summary>
    public static string Clean(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        if (!NeedsCleaning(text))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == Esc)
            {
                i = SkipEscape(text, i);
            }
            else if (c == '\u009b')
            {
                i = SkipCsi(text, i + 1);
            }
            else if (c is '\u0090' or '\u009d' or '\u0098' or '\u009e' or '\u009f')
            {
                i = SkipString(text, i + 1);
            }
            else if (c is '\t' or '\n' or '\r')
            {
                sb.Append(' ');
            }
            else if (char.IsControl(c) || IsBidiControl(c))
            {
                // dropped
            }
            else if (char.IsHighSurrogate(c))
            {
                if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    sb.Append(c).Append(text[i + 1]);
                    i++;
                }
            }
            else if (!char.IsLowSurrogate(c))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// <see cref="Clean"/>, then at most <paramref name="maxLength"/> characters: a longer text is cut at a word boundary
    /// when one is near the limit and ends with "...".
    /// </summary>
    public static string CleanAndTruncate(string? text, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 8);
        var clean = Clean(text).Trim();
        if (clean.Length <= maxLength)
        {
            return clean;
        }

        var cut = maxLength - 3;
        if (char.IsLowSurrogate(clean[cut]))
        {
            cut--;
        }

        var space = clean.LastIndexOf(' ', cut, Math.Min(cut + 1, 16));
        if (space > maxLength / 2)
        {
            cut = space;
        }

        return clean[..cut].TrimEnd() + "...";
    }

    private static bool NeedsCleaning(string text)
    {
        foreach (var c in text)
        {
            if (char.IsControl(c) || IsBidiControl(c) || char.IsSurrogate(c))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsBidiControl(char c) =>
        c is '\u061c' or '\u200e' or '\u200f' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069');

    // Returns the index of the last character of the escape sequence starting with ESC at index i.
    private static int SkipEscape(string text, int i)
    {
        if (i + 1 >= text.Length)
        {
            return i;
        }

        var next = text[i + 1];
        switch (next)
        {
            case '[':
                return SkipCsi(text, i + 2);
            case ']' or 'P' or 'X' or '^' or '_':
                return SkipString(text, i + 2);
            default:
                var j = i + 1;
                while (j < text.Length && text[j] is >= ' ' and <= '/')
                {
                    j++; // intermediate bytes
                }

                return Math.Min(j, text.Length - 1);
        }
    }

    // CSI: parameter and intermediate bytes 0x20-0x3F, then one final byte 0x40-0x7E.
    private static int SkipCsi(string text, int start)
    {
        var j = start;
        while (j < text.Length && text[j] is >= ' ' and <= '?')
        {
            j++;
        }

        return j < text.Length && text[j] is >= '@' and <= '~' ? j : j - 1;
    }

    // OSC/DCS/SOS/PM/APC: up to BEL or the string terminator (ESC \ or U+009C), or the end of the text.
    private static int SkipString(string text, int start)
    {
        for (var j = start; j < text.Length; j++)
        {
            if (text[j] is '\u0007' or '\u009c')
            {
                return j;
            }

            if (text[j] == Esc)
            {
                return j + 1 < text.Length && text[j + 1] == '\\' ? j + 1 : j;
            }
        }

        return text.Length - 1;
    }
}
