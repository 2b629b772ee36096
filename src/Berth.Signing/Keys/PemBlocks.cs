using System.Security.Cryptography;

namespace Berth.Signing.Keys;

/// <summary>Splits a PEM text into its (label, DER) blocks, in order; text between blocks is ignored.</summary>
internal static class PemBlocks
{
    /// <summary>A PEM text larger than this is refused (a key file or a chain of ten certificates is far smaller).</summary>
    private const int MaxPemChars = 256 * 1024;

    public static IEnumerable<(string Label, byte[] Der)> Read(string pem)
    {
        if (pem.Length > MaxPemChars)
        {
            throw new KeyFormatException("the PEM text is too large");
        }

        var rest = pem.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var span = rest.Span;
            var label = span[fields.Label].ToString();
            var der = new byte[fields.DecodedDataLength];
            if (!Convert.TryFromBase64Chars(span[fields.Base64Data], der, out var written))
            {
                throw new KeyFormatException($"the PEM block {label} is not valid base64");
            }

            yield return (label, der[..written]);
            rest = rest[fields.Location.End..];
        }
    }
}
