using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Core.Immutability;
using Cronos;

namespace Berth.Core.Retention;

/// <summary>The bounds every retention policy is checked against (the API answers 400 beyond them).</summary>
public static class RetentionLimits
{
    /// <summary>How many rules one policy may have.</summary>
    public const int MaxRules = 20;

    /// <summary>The largest count a "most recently pushed/pulled N" condition may ask for.</summary>
    public const int MaxCount = 100_000;

    /// <summary>The longest duration a "within" condition may name (ten years).</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(3650);

    /// <summary>How many runs a project's history keeps (the oldest go when a new run starts).</summary>
    public const int KeptRuns = 100;

    /// <summary>The schedule of a policy set without one: every day at 03:00 UTC.</summary>
    public const string DefaultSchedule = "0 3 * * *";

    /// <summary>The one preset: <see cref="RetentionPolicy.Lab"/>.</summary>
    public const string LabPreset = "lab";
}

/// <summary>Durations as retention's API and CLI write them: a whole number and a unit, <c>30d</c>, <c>12h</c>, <c>90m</c>, <c>45s</c>.</summary>
public static class RetentionDuration
{
    /// <summary>Parses <paramref name="text"/>; a duration that is not positive or is longer than <see cref="RetentionLimits.MaxDuration"/> is an error.</summary>
    public static bool TryParse(string? text, out TimeSpan duration, [NotNullWhen(false)] out string? error)
    {
        duration = default;
        const string Form = "a whole number followed by d, h, m or s (for example 30d or 12h)";
        if (string.IsNullOrEmpty(text) || text.Length > 12)
        {
            error = $"'{Cut(text)}' is not a duration: {Form}";
            return false;
        }

        var unit = text[^1] switch
        {
            'd' => TimeSpan.TicksPerDay,
            'h' => TimeSpan.TicksPerHour,
            'm' => TimeSpan.TicksPerMinute,
            's' => TimeSpan.TicksPerSecond,
            _ => 0L,
        };
        var digits = text[..^1];
        if (unit == 0 || digits.Length == 0 || !digits.All(char.IsAsciiDigit)
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            error = $"'{text}' is not a duration: {Form}";
            return false;
        }

        if (n == 0)
        {
            error = $"'{text}' is not positive";
            return false;
        }

        if (n > RetentionLimits.MaxDuration.Ticks / unit)
        {
            error = $"'{text}' is longer than {RetentionText.Duration(RetentionLimits.MaxDuration)}";
            return false;
        }

        duration = TimeSpan.FromTicks(n * unit);
        error = null;
        return true;
    }

    /// <summary>The shortest exact form: <c>30d</c>, <c>36h</c>, <c>90m</c>, <c>45s</c> (sub-second parts are dropped).</summary>
    public static string Format(TimeSpan duration) => duration switch
    {
        _ when duration.Ticks % TimeSpan.TicksPerDay == 0 => $"{duration.Ticks / TimeSpan.TicksPerDay}d",
        _ when duration.Ticks % TimeSpan.TicksPerHour == 0 => $"{duration.Ticks / TimeSpan.TicksPerHour}h",
        _ when duration.Ticks % TimeSpan.TicksPerMinute == 0 => $"{duration.Ticks / TimeSpan.TicksPerMinute}m",
        _ => $"{duration.Ticks / TimeSpan.TicksPerSecond}s",
    };

    private static string Cut(string? text) => text is null ? "" : text.Length <= 16 ? text : text[..16] + "…";
}

/// <summary>A retention schedule: a standard five-field cron expression (minute hour day month weekday), in UTC.</summary>
public static class RetentionSchedule
{
    public const int MaxLength = 100;

    /// <summary>Parses <paramref name="text"/> (five fields; no seconds field); the error says why not.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out CronExpression? expression, [NotNullWhen(false)] out string? error)
    {
        expression = null;
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxLength)
        {
            error = $"a schedule is a cron expression of five fields (minute hour day month weekday, UTC), for example '{RetentionLimits.DefaultSchedule}'";
            return false;
        }

        try
        {
            expression = CronExpression.Parse(text, CronFormat.Standard);
            error = null;
            return true;
        }
        catch (CronFormatException ex)
        {
            error = $"'{text}' is not a cron expression of five fields (minute hour day month weekday, UTC): {ex.Message}";
            return false;
        }
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>, or null when the expression never fires again.</summary>
    public static DateTimeOffset? Next(CronExpression expression, DateTimeOffset after)
    {
        ArgumentNullException.ThrowIfNull(expression);
        return expression.GetNextOccurrence(after, TimeZoneInfo.Utc);
    }
}

/// <summary>
/// How the stores keep a policy's explicit rules in one text column: a JSON array, each rule
/// <c>{"repositories":{"matching":[…],"excluding":[…]},"tags":{…},"untagged":false,"conditions":[{"kind":"latestPushed","count":10},{"kind":"usedWithin","seconds":2592000}]}</c>.
/// Written and read here only (the API has its own, documented shape).
/// </summary>
public static class RetentionRulesText
{
    public static string Write(IReadOnlyList<RetentionRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var rule in rules)
            {
                json.WriteStartObject();
                WriteFilter(json, "repositories", rule.Repositories);
                WriteFilter(json, "tags", rule.Tags);
                json.WriteBoolean("untagged", rule.Untagged);
                json.WriteStartArray("conditions");
                foreach (var condition in rule.Conditions)
                {
                    json.WriteStartObject();
                    switch (condition)
                    {
                        case RetentionCondition.Always:
                            json.WriteString("kind", "always");
                            break;
                        case RetentionCondition.LatestPushed c:
                            json.WriteString("kind", "latestPushed");
                            json.WriteNumber("count", c.Count);
                            break;
                        case RetentionCondition.LatestUsed c:
                            json.WriteString("kind", "latestPulled");
                            json.WriteNumber("count", c.Count);
                            break;
                        case RetentionCondition.PushedWithin c:
                            json.WriteString("kind", "pushedWithin");
                            json.WriteNumber("seconds", (long)c.Age.TotalSeconds);
                            break;
                        case RetentionCondition.UsedWithin c:
                            json.WriteString("kind", "pulledWithin");
                            json.WriteNumber("seconds", (long)c.Age.TotalSeconds);
                            break;
                        default:
                            throw new ArgumentOutOfRangeException(nameof(rules), condition, "Unknown retention condition.");
                    }

                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The rules of a stored column; a column that does not read back throws <see cref="FormatException"/> (a run then fails rather than guessing).</summary>
    public static IReadOnlyList<RetentionRule> Read(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return [];
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.EnumerateArray().Select(ReadRule).ToList();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new FormatException("stored retention rules do not read back", ex);
        }
    }

    private static RetentionRule ReadRule(JsonElement rule) => new(
        ReadFilter(rule.GetProperty("repositories")),
        ReadFilter(rule.GetProperty("tags")),
        rule.GetProperty("untagged").GetBoolean(),
        rule.GetProperty("conditions").EnumerateArray().Select(ReadCondition).ToList());

    private static RetentionCondition ReadCondition(JsonElement c) => c.GetProperty("kind").GetString() switch
    {
        "always" => new RetentionCondition.Always(),
        "latestPushed" => new RetentionCondition.LatestPushed(c.GetProperty("count").GetInt32()),
        "latestPulled" => new RetentionCondition.LatestUsed(c.GetProperty("count").GetInt32()),
        "pushedWithin" => new RetentionCondition.PushedWithin(TimeSpan.FromSeconds(c.GetProperty("seconds").GetInt64())),
        "pulledWithin" => new RetentionCondition.UsedWithin(TimeSpan.FromSeconds(c.GetProperty("seconds").GetInt64())),
        var other => throw new FormatException($"unknown retention condition '{other}'"),
    };

    private static void WriteFilter(Utf8JsonWriter json, string name, PatternFilter filter)
    {
        json.WriteStartObject(name);
        json.WriteStartArray("matching");
        foreach (var p in filter.Matching)
        {
            json.WriteStringValue(p.Text);
        }

        json.WriteEndArray();
        json.WriteStartArray("excluding");
        foreach (var p in filter.Excluding)
        {
            json.WriteStringValue(p.Text);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static PatternFilter ReadFilter(JsonElement filter) => new(
        filter.GetProperty("matching").EnumerateArray().Select(p => GlobPattern.Parse(p.GetString()!)).ToList(),
        filter.GetProperty("excluding").EnumerateArray().Select(p => GlobPattern.Parse(p.GetString()!)).ToList());
}

/// <summary>The policy a project's settings stand for.</summary>
public static class RetentionPresets
{
    /// <summary>
    /// The rules to evaluate: the preset's (<see cref="RetentionPolicy.Lab"/> with <paramref name="untaggedGrace"/>) or the
    /// explicit ones. An unknown preset name throws <see cref="FormatException"/> (never a silent "keep everything").
    /// </summary>
    public static RetentionPolicy Resolve(RetentionSettings settings, TimeSpan untaggedGrace)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Preset switch
        {
            null => new RetentionPolicy(settings.Rules),
            RetentionLimits.LabPreset => RetentionPolicy.Lab(untaggedGrace),
            var other => throw new FormatException($"unknown retention preset '{other}'"),
        };
    }
}
