using System.Globalization;

namespace Berth.Scanning.Ignore;

/// <summary>
/// The line form of <c>.trivyignore</c>: one id per line; blank lines and lines starting with '#' are skipped, and text
/// after a '#' that follows a space is a comment; after the id, an optional <c>exp:YYYY-MM-DD</c> gives the day the entry
/// expires. Other words after the id are ignored, as Trivy does. A malformed expiry date is an error naming the line.
/// </summary>
public static class TrivyIgnoreFile
{
    private const string ExpiryPrefix = "exp:";

    /// <summary>Parses the file's text.</summary>
    public static IgnoreList Parse(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var entries = new List<IgnoreEntry>();
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            var comment = line.IndexOf('#', StringComparison.Ordinal);
            while (comment > 0 && !char.IsWhiteSpace(line[comment - 1]))
            {
                comment = line.IndexOf('#', comment + 1);
            }

            if (comment >= 0)
            {
                line = line[..comment];
            }

            var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
            {
                continue;
            }

            DateOnly? expires = null;
            foreach (var word in words.Skip(1))
            {
                if (word.StartsWith(ExpiryPrefix, StringComparison.OrdinalIgnoreCase))
                {
                    var text = word[ExpiryPrefix.Length..];
                    if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                    {
                        throw new IgnoreFileException(string.Create(CultureInfo.InvariantCulture,
                            $"ignore file line {number}: \"{Text.TerminalText.CleanAndTruncate(word, 64)}\" is not an expiry date (expected exp:YYYY-MM-DD)"));
                    }

                    expires = date;
                }
            }

            entries.Add(new IgnoreEntry(words[0], expires, null, [], [], number));
        }

        return new IgnoreList(entries);
    }

    /// <summary>Parses a string (tests and the API).</summary>
    public static IgnoreList Parse(string text)
    {
        using var reader = new StringReader(text ?? string.Empty);
        return Parse(reader);
    }
}
