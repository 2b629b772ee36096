using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Serialization.NamingConventions;
using YamlDotNet.Serialization;

namespace Berth.Scanning.Ignore;

/// <summary>
/// The YAML form, <c>.trivyignore.yaml</c>: a <c>vulnerabilities</c> list whose items have <c>id</c> (required),
/// <c>statement</c>, <c>expired_at</c> (a date, YYYY-MM-DD), <c>paths</c> and <c>purls</c>. Other top-level sections
/// (misconfigurations, secrets, licenses) are read and ignored. Malformed YAML, an item without an id or a bad date is an
/// error naming the line.
/// </summary>
public static class TrivyIgnoreYaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .IgnoreUnmatchedProperties()
        .Build();

    /// <summary>Parses the file's text.</summary>
    public static IgnoreList Parse(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Document? document;
        try
        {
            document = Deserializer.Deserialize<Document?>(reader);
        }
        catch (YamlException e)
        {
            throw new IgnoreFileException(string.Create(CultureInfo.InvariantCulture,
                $"ignore file line {e.Start.Line}: not a valid .trivyignore.yaml ({Text.TerminalText.CleanAndTruncate(e.InnerException?.Message ?? e.Message, 200)})"), e);
        }

        var entries = new List<IgnoreEntry>();
        var index = 0;
        foreach (var item in document?.Vulnerabilities ?? [])
        {
            index++;
            if (item is null || string.IsNullOrWhiteSpace(item.Id))
            {
                throw new IgnoreFileException(string.Create(CultureInfo.InvariantCulture,
                    $"ignore file: vulnerabilities entry {index} has no id"));
            }

            DateOnly? expires = null;
            if (!string.IsNullOrWhiteSpace(item.ExpiredAt))
            {
                var text = item.ExpiredAt.Trim();
                if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                {
                    expires = date;
                }
                else if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var moment))
                {
                    expires = DateOnly.FromDateTime(moment.UtcDateTime);
                }
                else
                {
                    throw new IgnoreFileException(string.Create(CultureInfo.InvariantCulture,
                        $"ignore file: vulnerabilities entry {index} ({Text.TerminalText.CleanAndTruncate(item.Id, 64)}): expired_at \"{Text.TerminalText.CleanAndTruncate(text, 64)}\" is not a date (expected YYYY-MM-DD)"));
                }
            }

            entries.Add(new IgnoreEntry(
                item.Id.Trim(),
                expires,
                item.Statement,
                item.Paths?.Where(p => !string.IsNullOrWhiteSpace(p)).ToList() ?? [],
                item.Purls?.Where(p => !string.IsNullOrWhiteSpace(p)).ToList() ?? [],
                index));
        }

        return new IgnoreList(entries);
    }

    /// <summary>Parses a string (tests and the API).</summary>
    public static IgnoreList Parse(string text)
    {
        using var reader = new StringReader(text ?? string.Empty);
        return Parse(reader);
    }

    // YamlDotNet fills these by reflection.
#pragma warning disable CA1812, CA2227
    private sealed class Document
    {
        public List<Item?>? Vulnerabilities { get; set; }
    }

    private sealed class Item
    {
        public string? Id { get; set; }

        public string? Statement { get; set; }

        public string? ExpiredAt { get; set; }

        public List<string>? Paths { get; set; }

        public List<string>? Purls { get; set; }
    }
#pragma warning restore CA1812, CA2227
}
