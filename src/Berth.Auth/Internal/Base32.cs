namespace Berth.Auth.Internal;

/// <summary>RFC 4648 base32 in lower case without padding: safe in URLs, file names and shell words, no <c>_</c> or <c>-</c>.</summary>
internal static class Base32
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    public static int EncodedLength(int byteCount) => ((byteCount * 8) + 4) / 5;

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[EncodedLength(bytes.Length)];
        int buffer = 0, bits = 0, written = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                chars[written++] = Alphabet[(buffer >> bits) & 31];
            }
        }

        if (bits > 0)
        {
            chars[written++] = Alphabet[(buffer << (5 - bits)) & 31];
        }

        return new string(chars[..written]);
    }

    /// <summary>True when every character is in the alphabet (the length is checked by the caller).</summary>
    public static bool IsValid(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '2' and <= '7')))
            {
                return false;
            }
        }

        return true;
    }
}
