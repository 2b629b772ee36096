using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Storage.S3;

/// <summary>The first <paramref name="Length"/> bytes of the upload's segment object <paramref name="Token"/>.</summary>
internal readonly record struct Segment(string Token, long Length);

/// <summary>
/// The store state of an S3 upload: its segments in order, as <c>1;TOKEN:LENGTH,TOKEN:LENGTH…</c> (the version, then
/// each segment's token (its key below the upload's <c>segments/</c>) and how many of its bytes belong to the upload).
/// A segment entry may be shorter than its object: a writer opened below the stored length cuts the list there
/// (<see cref="CutAt"/>) without touching any object. Every segment but the last has at least
/// <see cref="S3BlobStore.MinimumPartSize"/> bytes.
/// </summary>
internal static class UploadSegments
{
    private const string Version = "1;";

    public static string Encode(IReadOnlyList<Segment> segments)
    {
        var text = new StringBuilder(Version, Version.Length + (segments.Count * 28));
        for (var i = 0; i < segments.Count; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            text.Append(segments[i].Token).Append(':').Append(segments[i].Length.ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    /// <summary>Reads a state this store wrote; null (no chunk yet) is no segments. False for anything else.</summary>
    public static bool TryDecode(string? state, out List<Segment> segments)
    {
        segments = [];
        if (state is null)
        {
            return true;
        }

        if (!state.StartsWith(Version, StringComparison.Ordinal))
        {
            return false;
        }

        var body = state.AsSpan(Version.Length);
        foreach (var range in body.Split(','))
        {
            var entry = body[range];
            if (entry.IsEmpty && body.IsEmpty)
            {
                break;
            }

            var colon = entry.IndexOf(':');
            if (colon <= 0 || !IsToken(entry[..colon])
                || !long.TryParse(entry[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length <= 0)
            {
                segments = [];
                return false;
            }

            segments.Add(new Segment(entry[..colon].ToString(), length));
        }

        return true;
    }

    public static long LengthOf(IReadOnlyList<Segment> segments) => segments.Sum(s => s.Length);

    /// <summary>The segments that hold the first <paramref name="offset"/> bytes (the last one shortened when the offset falls inside it).</summary>
    public static List<Segment> CutAt(IReadOnlyList<Segment> segments, long offset)
    {
        var kept = new List<Segment>();
        var start = 0L;
        foreach (var segment in segments)
        {
            if (start >= offset)
            {
                break;
            }

            kept.Add(segment with { Length = Math.Min(segment.Length, offset - start) });
            start += segment.Length;
        }

        return kept;
    }

    /// <summary>A fresh segment token: 16 random hex characters, so writers racing at one offset never share a key.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private static bool IsToken(ReadOnlySpan<char> token)
    {
        if (token.Length > 32)
        {
            return false;
        }

        foreach (var c in token)
        {
            if (!char.IsAsciiDigit(c) && !char.IsAsciiLetterLower(c))
            {
                return false;
            }
        }

        return true;
    }
}
