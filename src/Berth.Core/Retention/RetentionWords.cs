using System.Text;
using System.Text.Json;
using Berth.Oci;

namespace Berth.Core.Retention;

/// <summary>How the stores and the API write retention's enums (lower-case words) and a run item's tags (one column, newline-joined).</summary>
public static class RetentionWords
{
    public static string Of(RetentionTrigger trigger) => trigger switch
    {
        RetentionTrigger.Schedule => "schedule",
        RetentionTrigger.Manual => "manual",
        _ => throw new ArgumentOutOfRangeException(nameof(trigger)),
    };

    public static string Of(RetentionRunStatus status) => status switch
    {
        RetentionRunStatus.Running => "running",
        RetentionRunStatus.Succeeded => "succeeded",
        RetentionRunStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    public static string Of(RetentionItemOutcome outcome) => outcome switch
    {
        RetentionItemOutcome.WouldDelete => "would_delete",
        RetentionItemOutcome.Deleted => "deleted",
        RetentionItemOutcome.Skipped => "skipped",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome)),
    };

    public static RetentionTrigger Trigger(string word) => word switch
    {
        "schedule" => RetentionTrigger.Schedule,
        "manual" => RetentionTrigger.Manual,
        _ => throw new FormatException($"unknown retention trigger '{word}'"),
    };

    public static RetentionRunStatus Status(string word) => word switch
    {
        "running" => RetentionRunStatus.Running,
        "succeeded" => RetentionRunStatus.Succeeded,
        "failed" => RetentionRunStatus.Failed,
        _ => throw new FormatException($"unknown retention run status '{word}'"),
    };

    public static RetentionItemOutcome Outcome(string word) => word switch
    {
        "would_delete" => RetentionItemOutcome.WouldDelete,
        "deleted" => RetentionItemOutcome.Deleted,
        "skipped" => RetentionItemOutcome.Skipped,
        _ => throw new FormatException($"unknown retention item outcome '{word}'"),
    };

    public static string JoinTags(IReadOnlyList<Tag> tags) => string.Join('\n', tags.Select(t => t.Value));

    public static IReadOnlyList<Tag> SplitTags(string? text) =>
        string.IsNullOrEmpty(text) ? [] : text.Split('\n').Select(Tag.Parse).ToArray();

    /// <summary>The distinct digests as a JSON array of strings (how a store passes a set to one statement).</summary>
    public static string JsonArray(IEnumerable<Digest> digests)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var d in digests.Select(d => d.ToString()).Distinct(StringComparer.Ordinal))
            {
                json.WriteStringValue(d);
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
