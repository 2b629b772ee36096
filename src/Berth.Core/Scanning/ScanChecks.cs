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

/// <summary>The argument checks every advisory store makes before it writes.</summary>
public static class ScanStoreChecks
{
    public static void RequireSource(string source)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        if (source.Length > AdvisoryLimits.MaxSourceLength || source.Any(char.IsControl))
        {
            throw new ArgumentException($"The source label is longer than {AdvisoryLimits.MaxSourceLength} characters or holds control characters.", nameof(source));
        }
    }

    public static void RequireRecord(AdvisoryRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(record.Id);
        ArgumentNullException.ThrowIfNull(record.Json);
        ArgumentNullException.ThrowIfNull(record.Packages);
        if (record.Id.Length > AdvisoryLimits.MaxIdLength || record.Id.Any(char.IsControl) || record.Json.Length > AdvisoryLimits.MaxRecordBytes
            || record.Packages.Count > AdvisoryLimits.MaxPackagesPerRecord
            || record.Packages.Any(p => p.Ecosystem.Length > AdvisoryLimits.MaxNameLength || p.Name.Length > AdvisoryLimits.MaxNameLength
                || p.Ecosystem.Contains('\0', StringComparison.Ordinal) || p.Name.Contains('\0', StringComparison.Ordinal))
            || record.Json.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Record {record.Id} is beyond the advisory limits (AdvisoryLimits) or holds U+0000.", nameof(record));
        }
    }
}
