using System.Globalization;

namespace Berth.Core.Storage;

/// <summary>
/// One byte range as a client asks for it (RFC 9110 §14.1.1): <c>first-last</c>, <c>first-</c> or <c>-suffix</c>,
/// not yet compared with any size. <see cref="TryResolve"/> applies it to a blob of a known size.
/// </summary>
public readonly record struct ByteRange
{
    private ByteRange(long? first, long? last, long? suffix)
    {
        First = first;
        Last = last;
        Suffix = suffix;
    }

    /// <summary>Offset of the first byte asked for; null for a suffix range.</summary>
    public long? First { get; }

    /// <summary>Offset of the last byte asked for (inclusive); null to the end, or for a suffix range.</summary>
    public long? Last { get; }

    /// <summary>How many bytes at the end are asked for; null unless this is a suffix range.</summary>
    public long? Suffix { get; }

    /// <summary>Bytes <paramref name="first"/> to <paramref name="last"/>, inclusive.</summary>
    public static ByteRange Between(long first, long last)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfLessThan(last, first);
        return new(first, last, null);
    }

    /// <summary>Bytes from <paramref name="first"/> to the end.</summary>
    public static ByteRange From(long first)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        return new(first, null, null);
    }

    /// <summary>The last <paramref name="length"/> bytes (all of them when the blob is shorter).</summary>
    public static ByteRange LastBytes(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new(null, null, length);
    }

    /// <summary>
    /// The part of a blob of <paramref name="size"/> bytes this range selects. False when it selects nothing (the range
    /// is unsatisfiable, a 416): it starts at or beyond the end, it is a suffix of zero bytes, or the blob is empty.
    /// A range that runs past the end is cut at the end.
    /// </summary>
    public bool TryResolve(long size, out long offset, out long length)
    {
        offset = 0;
        length = 0;
        if (size <= 0)
        {
            return false;
        }

        if (Suffix is { } suffix)
        {
            if (suffix == 0)
            {
                return false;
            }

            length = Math.Min(suffix, size);
            offset = size - length;
            return true;
        }

        var first = First!.Value;
        if (first >= size)
        {
            return false;
        }

        var last = Last is { } l && l < size - 1 ? l : size - 1;
        offset = first;
        length = last - first + 1;
        return true;
    }

    /// <summary>
    /// Reads a <c>Range</c> header that asks for exactly one byte range (<c>bytes=a-b</c>, <c>bytes=a-</c>,
    /// <c>bytes=-n</c>). False for anything else, which a server ignores (RFC 9110 §14.2): no header, another unit,
    /// several ranges, <c>b</c> before <c>a</c>, or text that is not a range. Numbers too large for a 64-bit offset
    /// mean "beyond any blob" and are read as <see cref="long.MaxValue"/>.
    /// </summary>
    public static bool TryParseHeader(string? value, out ByteRange range)
    {
        range = default;
        if (value is null)
        {
            return false;
        }

        var text = value.AsSpan().Trim();
        if (!text.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        text = text[6..].Trim(" \t");
        if (text.Contains(','))
        {
            return false; // several ranges: the whole blob is served instead
        }

        var dash = text.IndexOf('-');
        if (dash < 0)
        {
            return false;
        }

        var firstText = text[..dash].TrimEnd(" \t");
        var lastText = text[(dash + 1)..].TrimStart(" \t");
        if (firstText.IsEmpty)
        {
            if (!TryParsePosition(lastText, out var suffix))
            {
                return false;
            }

            range = LastBytes(suffix);
            return true;
        }

        if (!TryParsePosition(firstText, out var first))
        {
            return false;
        }

        if (lastText.IsEmpty)
        {
            range = From(first);
            return true;
        }

        if (!TryParsePosition(lastText, out var last) || last < first)
        {
            return false;
        }

        range = Between(first, last);
        return true;
    }

    /// <summary>Formats the range as the value of a <c>Range</c> header (what a client or an object store is sent).</summary>
    public override string ToString() =>
        Suffix is { } suffix ? $"bytes=-{suffix}"
        : Last is { } last ? $"bytes={First}-{last}"
        : $"bytes={First}-";

    private static bool TryParsePosition(ReadOnlySpan<char> digits, out long value)
    {
        value = 0;
        if (digits.IsEmpty)
        {
            return false;
        }

        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            value = long.MaxValue; // only digits, just too many of them
        }

        return true;
    }
}
