using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Storage.Azure;

/// <summary>
/// One segment of an upload: the block blob <c>uploads/&lt;id&gt;/s&lt;Token&gt;</c>, of which the first
/// <see cref="Length"/> bytes belong to the upload (fewer than the blob holds when a later writer cut the upload back).
/// </summary>
internal readonly record struct Segment(string Token, long Length)
{
    /// <summary>A fresh token: 16 random hex characters, so two writers never write the same blob.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}

/// <summary>
/// The store state of an Azure upload: its segments in order, as <c>token:length,token:length</c> (about 25 bytes a
/// segment; writers carry a last segment under 4 MiB into their own, so every segment but the last holds at least
/// 4 MiB). Null or empty: no segments.
/// </summary>
internal static class UploadState
{
    public static string? Format(IReadOnlyList<Segment> segments)
    {
        if (segments.Count == 0)
        {
            return null;
        }

        var text = new StringBuilder(segments.Count * 26);
        foreach (var segment in segments)
        {
            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(segment.Token).Append(':').Append(segment.Length.ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    /// <summary>False for anything this store never wrote (a garbled or foreign state): the caller treats the data as unknown.</summary>
    public static bool TryParse(string? state, out List<Segment> segments, out long length)
    {
        segments = [];
        length = 0;
        if (string.IsNullOrEmpty(state))
        {
            return true;
        }

        foreach (var part in state.Split(','))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (colon != 16 || !IsToken(part.AsSpan(0, colon))
                || !long.TryParse(part.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                || size <= 0 || length > long.MaxValue - size)
            {
                segments = [];
                length = 0;
                return false;
            }

            segments.Add(new Segment(part[..colon], size));
            length += size;
        }

        return true;
    }

    /// <summary>The first <paramref name="offset"/> bytes of <paramref name="segments"/> (which hold at least that many).</summary>
    public static List<Segment> Cut(IReadOnlyList<Segment> segments, long offset)
    {
        var kept = new List<Segment>(segments.Count);
        var remaining = offset;
        foreach (var segment in segments)
        {
            if (remaining == 0)
            {
                break;
            }

            var used = Math.Min(segment.Length, remaining);
            kept.Add(segment with { Length = used });
            remaining -= used;
        }

        return kept;
    }

    private static bool IsToken(ReadOnlySpan<char> token)
    {
        foreach (var c in token)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
