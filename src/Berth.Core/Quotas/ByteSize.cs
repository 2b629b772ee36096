using System.Globalization;

namespace Berth.Core.Quotas;

/// <summary>Byte counts as people read and write them: binary units (<c>KiB</c>, <c>MiB</c>, <c>GiB</c>, …).</summary>
public static class ByteSize
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

    /// <summary>At most one decimal, none when it is zero: <c>512 B</c>, <c>1.5 KiB</c>, <c>350 MiB</c>, <c>9.8 GiB</c>, <c>10 GiB</c>.</summary>
    public static string Format(long bytes)
    {
        if (bytes < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        }

        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        // Rounded to one decimal the value may reach 1024 (1023.96 MiB): say 1 GiB rather than 1024 MiB.
        var rounded = Math.Round(value, 1, MidpointRounding.AwayFromZero);
        if (rounded >= 1024 && unit < Units.Length - 1)
        {
            rounded = Math.Round(rounded / 1024, 1, MidpointRounding.AwayFromZero);
            unit++;
        }

        return rounded.ToString("0.#", CultureInfo.InvariantCulture) + " " + Units[unit];
    }

    /// <summary>
    /// Parses a size: a whole number of bytes, or a number (one decimal allowed) with a unit <c>K</c>/<c>KiB</c>,
    /// <c>M</c>/<c>MiB</c>, <c>G</c>/<c>GiB</c>, <c>T</c>/<c>TiB</c> (powers of 1024; <c>B</c> for bytes). False for anything
    /// else, a negative number, or a size beyond <see cref="long.MaxValue"/>.
    /// </summary>
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        var t = text?.Trim() ?? string.Empty;
        if (t.Length == 0)
        {
            return false;
        }

        var split = t.Length;
        while (split > 0 && char.IsAsciiLetter(t[split - 1]))
        {
            split--;
        }

        var number = t[..split].TrimEnd();
        long multiplier = t[split..].ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            "P" or "PB" or "PIB" => 1L << 50,
            _ => 0,
        };
        if (multiplier == 0 || number.Length == 0 || number.Length > 30
            || !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        var total = value * multiplier;
        if (total > long.MaxValue || (multiplier == 1 && value != decimal.Truncate(value)))
        {
            return false;
        }

        bytes = (long)decimal.Truncate(total);
        return true;
    }
}
