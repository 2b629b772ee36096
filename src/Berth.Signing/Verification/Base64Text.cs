namespace Berth.Signing.Verification;

/// <summary>Lenient base64 decoding of untrusted text: standard or URL-safe alphabet, padding optional, line breaks ignored.</summary>
internal static class Base64Text
{
    public static byte[]? TryDecode(string? text)
    {
        if (text is null || text.Length > SigningLimits.MaxPayloadBytes * 2)
        {
            return null;
        }

        var normalized = text.Replace("\n", string.Empty, StringComparison.Ordinal).Replace("\r", string.Empty, StringComparison.Ordinal)
            .Replace('-', '+').Replace('_', '/').TrimEnd('=');
        normalized += (normalized.Length % 4) switch
        {
            2 => "==",
            3 => "=",
            _ => string.Empty,
        };
        try
        {
            return Convert.FromBase64String(normalized);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
