namespace Berth.Core.Scanning;

/// <summary>The argument checks every scan-result store makes before it writes (bad values are the caller's bug: <see cref="ArgumentException"/>).</summary>
public static class ScanResultChecks
{
    public static void Require(ScanResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Inventory?.Length > ScanLimits.MaxDocumentChars || result.Findings?.Length > ScanLimits.MaxDocumentChars)
        {
            throw new ArgumentException($"The inventory or findings text is longer than {ScanLimits.MaxDocumentChars} characters.", nameof(result));
        }

        if (result.WorstIds?.Length > ScanLimits.MaxShortText || result.Error?.Length > ScanLimits.MaxShortText || result.ClaimedBy?.Length > ScanLimits.MaxShortText)
        {
            throw new ArgumentException($"The worst ids, error or node text is longer than {ScanLimits.MaxShortText} characters.", nameof(result));
        }

        var c = result.Counts;
        if (c.Unknown < 0 || c.Low < 0 || c.Medium < 0 || c.High < 0 || c.Critical < 0)
        {
            throw new ArgumentException("A severity count is negative.", nameof(result));
        }
    }
}

/// <summary>The argument checks every policy store makes before it adds an allowlist entry.</summary>
public static class CveAllowChecks
{
    public static void Require(CveAllowEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!CveAllowLimits.IsValidId(entry.VulnerabilityId))
        {
            throw new ArgumentException("The vulnerability id is empty, too long or holds characters other than letters, digits and -_.:", nameof(entry));
        }

        ArgumentNullException.ThrowIfNull(entry.Reason);
        ArgumentNullException.ThrowIfNull(entry.CreatedBy);
        if (entry.Reason.Length > CveAllowLimits.MaxReasonLength || entry.Reason.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The reason is longer than {CveAllowLimits.MaxReasonLength} characters or holds U+0000.", nameof(entry));
        }
    }
}
