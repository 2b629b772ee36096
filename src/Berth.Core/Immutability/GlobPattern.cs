using System.Diagnostics.CodeAnalysis;

namespace Berth.Core.Immutability;

/// <summary>
/// A glob over repository paths or tags, matched by its own small matcher (no regular expressions, so no pattern text
/// is ever interpreted by another engine): <c>*</c> matches any run of characters except <c>/</c>, <c>**</c> any run
/// including <c>/</c> (<c>**/</c> also matches nothing, so <c>**/api</c> matches <c>api</c>), <c>?</c> one character
/// except <c>/</c>, <c>{a,b}</c> either alternative (nested braces allowed). Every other character stands for itself.
/// Patterns are at most <see cref="MaxLength"/> characters from <c>[A-Za-z0-9._/-]</c> and the operators above, with
/// at most <see cref="MaxAlternatives"/> alternatives once braces are expanded; anything else is refused by
/// <see cref="TryParse"/> with a reason. Matching is ordinal and case-sensitive, in time proportional to
/// pattern length times value length.
/// </summary>
public sealed class GlobPattern : IEquatable<GlobPattern>
{
    public const int MaxLength = 128;
    public const int MaxAlternatives = 64;

    private enum Kind : byte
    {
        Literal,
        AnyChar,
        Star,
        DoubleStar,
    }

    private readonly record struct Token(Kind Kind, char Char);

    private readonly Token[][] _alternatives;

    private GlobPattern(string text, Token[][] alternatives)
    {
        Text = text;
        _alternatives = alternatives;
    }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    public override string ToString() => Text;

    public bool Equals(GlobPattern? other) => other is not null && string.Equals(Text, other.Text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as GlobPattern);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says why, naming the pattern.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out GlobPattern? pattern, [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "a pattern is empty";
            return false;
        }

        if (text.Length > MaxLength)
        {
            error = $"pattern '{Shorten(text)}' is longer than {MaxLength} characters";
            return false;
        }

        var depth = 0;
        foreach (var c in text)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}')
            {
                if (--depth < 0)
                {
                    error = $"pattern '{text}' has a '}}' without its '{{'";
                    return false;
                }
            }
            else if (c == ',' && depth == 0)
            {
                error = $"pattern '{text}' has a ',' outside braces";
                return false;
            }
            else if (c != ',' && !IsAllowed(c))
            {
                error = $"pattern '{text}' contains '{(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())}', which is not allowed (letters, digits, '.', '_', '-', '/', '*', '?', '{{', '}}', ',')";
                return false;
            }
        }

        if (depth != 0)
        {
            error = $"pattern '{text}' has a '{{' without its '}}'";
            return false;
        }

        var expanded = new List<string>();
        if (!Expand(text, expanded))
        {
            error = $"pattern '{text}' expands to more than {MaxAlternatives} alternatives";
            return false;
        }

        var alternatives = new List<Token[]>();
        foreach (var alternative in expanded)
        {
            if (!Tokenize(alternative, alternatives))
            {
                error = $"pattern '{text}' expands to more than {MaxAlternatives} alternatives";
                return false;
            }
        }

        pattern = new GlobPattern(text, [.. alternatives]);
        error = null;
        return true;
    }

    /// <summary>Parses a pattern known to be valid (one stored after <see cref="TryParse"/>); throws <see cref="FormatException"/> otherwise.</summary>
    public static GlobPattern Parse(string text) =>
        TryParse(text, out var pattern, out var error) ? pattern : throw new FormatException(error);

    /// <summary>True when the whole of <paramref name="value"/> matches.</summary>
    public bool IsMatch(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        foreach (var tokens in _alternatives)
        {
            if (Match(tokens, value))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsAllowed(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-' or '/' or '*' or '?';

    private static string Shorten(string text) => text.Length <= 32 ? text : text[..32] + "…";

    /// <summary>Expands the first outermost brace group, recursively; false when there would be too many alternatives.</summary>
    private static bool Expand(string text, List<string> into)
    {
        var open = text.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            if (into.Count >= MaxAlternatives)
            {
                return false;
            }

            into.Add(text);
            return true;
        }

        var depth = 0;
        var start = open + 1;
        var parts = new List<string>();
        for (var i = open; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && --depth == 0)
            {
                parts.Add(text[start..i]);
                var prefix = text[..open];
                var suffix = text[(i + 1)..];
                foreach (var part in parts)
                {
                    if (!Expand(prefix + part + suffix, into))
                    {
                        return false;
                    }
                }

                return true;
            }
            else if (c == ',' && depth == 1)
            {
                parts.Add(text[start..i]);
                start = i + 1;
            }
        }

        return false; // unbalanced: TryParse checked this first
    }

    /// <summary>Turns one brace-free alternative into tokens; <c>**/</c> forks into "absent" and <c>**</c> + <c>/</c>.</summary>
    private static bool Tokenize(string text, List<Token[]> into)
    {
        var variants = new List<List<Token>> { new() };
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '*' && i + 1 < text.Length && text[i + 1] == '*')
            {
                while (i + 1 < text.Length && text[i + 1] == '*')
                {
                    i++; // *** is **
                }

                if (i + 1 < text.Length && text[i + 1] == '/')
                {
                    i++;
                    var without = variants.Select(v => new List<Token>(v)).ToList();
                    foreach (var v in variants)
                    {
                        v.Add(new Token(Kind.DoubleStar, '\0'));
                        v.Add(new Token(Kind.Literal, '/'));
                    }

                    variants.AddRange(without);
                    if (into.Count + variants.Count > MaxAlternatives)
                    {
                        return false;
                    }
                }
                else
                {
                    variants.ForEach(v => v.Add(new Token(Kind.DoubleStar, '\0')));
                }
            }
            else
            {
                var token = c switch
                {
                    '*' => new Token(Kind.Star, '\0'),
                    '?' => new Token(Kind.AnyChar, '\0'),
                    _ => new Token(Kind.Literal, c),
                };
                variants.ForEach(v => v.Add(token));
            }
        }

        if (into.Count + variants.Count > MaxAlternatives)
        {
            return false;
        }

        into.AddRange(variants.Select(v => v.ToArray()));
        return true;
    }

    /// <summary>Dynamic programming from the end: row i says which suffixes of the value tokens[i..] match.</summary>
    private static bool Match(Token[] tokens, string value)
    {
        var n = value.Length;
        var next = new bool[n + 1];
        var current = new bool[n + 1];
        next[n] = true; // the empty pattern matches only the empty rest
        for (var i = tokens.Length - 1; i >= 0; i--)
        {
            var token = tokens[i];
            for (var j = n; j >= 0; j--)
            {
                current[j] = token.Kind switch
                {
                    Kind.Literal => j < n && value[j] == token.Char && next[j + 1],
                    Kind.AnyChar => j < n && value[j] != '/' && next[j + 1],
                    Kind.Star => next[j] || (j < n && value[j] != '/' && current[j + 1]),
                    _ => next[j] || (j < n && current[j + 1]),
                };
            }

            (next, current) = (current, next);
        }

        return next[0];
    }
}
