using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Berth.Api.Access;

/// <summary>Reads <c>Authorization: Basic base64(user:secret)</c> (RFC 7617, UTF-8).</summary>
public static class BasicCredentials
{
    private const int MaxLength = 8 * 1024;

    public static bool TryParse(string? authorization, [NotNullWhen(true)] out string? user, [NotNullWhen(true)] out string? secret)
    {
        user = secret = null;
        if (authorization is null || authorization.Length > MaxLength || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var encoded = authorization.AsSpan(6).Trim();
        var buffer = new byte[(encoded.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64Chars(encoded, buffer, out var written))
        {
            return false;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        user = text[..colon];
        secret = text[(colon + 1)..];
        return true;
    }
}
