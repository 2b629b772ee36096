namespace Berth.Scanning.Extractors;

/// <summary>
/// Debian control-file syntax (deb822): paragraphs separated by blank lines, "Field: value" lines, continuation lines that
/// start with a space or tab. Field names compare case-insensitively; only the first line of a value is kept.
/// </summary>
internal static class ControlParagraphs
{
    public static IEnumerable<Dictionary<string, string>> Parse(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                if (fields.Count > 0)
                {
                    yield return fields;
                    fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                }

                continue;
            }

            if (line[0] is ' ' or '\t' || line[0] == '#')
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        if (fields.Count > 0)
        {
            yield return fields;
        }
    }
}
