namespace Berth.Core.Signing;

/// <summary>
/// The argument checks every trust store makes before it adds an entry (bad values are the caller's bug:
/// <see cref="ArgumentException"/>; the API validates the PEM and identities itself and answers the client first).
/// </summary>
public static class TrustChecks
{
    public static void Require(TrustEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!TrustLimits.IsValidName(entry.Name))
        {
            throw new ArgumentException($"The trust entry name is empty, longer than {TrustLimits.MaxNameLength} characters or holds characters other than letters, digits and -_.", nameof(entry));
        }

        if (!Enum.IsDefined(entry.Kind))
        {
            throw new ArgumentException($"Unknown trust kind {entry.Kind}.", nameof(entry));
        }

        ArgumentNullException.ThrowIfNull(entry.Pem);
        ArgumentNullException.ThrowIfNull(entry.Identities);
        ArgumentNullException.ThrowIfNull(entry.Fingerprint);
        ArgumentNullException.ThrowIfNull(entry.CreatedBy);
        if (entry.Pem.Length == 0 || entry.Pem.Length > TrustLimits.MaxPemLength || HasNul(entry.Pem))
        {
            throw new ArgumentException($"The PEM text is empty, longer than {TrustLimits.MaxPemLength} characters or holds U+0000.", nameof(entry));
        }

        if (entry.Identities.Count > TrustLimits.MaxIdentities
            || entry.Identities.Any(i => i is null || i.Length == 0 || i.Length > TrustLimits.MaxIdentityLength || HasNul(i)))
        {
            throw new ArgumentException($"More than {TrustLimits.MaxIdentities} identities, or one is empty, longer than {TrustLimits.MaxIdentityLength} characters or holds U+0000.", nameof(entry));
        }

        if (entry.Fingerprint.Length > TrustLimits.MaxIdentityLength || HasNul(entry.Fingerprint) || entry.CreatedBy.Length > TrustLimits.MaxIdentityLength || HasNul(entry.CreatedBy))
        {
            throw new ArgumentException($"The fingerprint or creator is longer than {TrustLimits.MaxIdentityLength} characters or holds U+0000.", nameof(entry));
        }
    }

    private static bool HasNul(string text) => text.Contains('\0', StringComparison.Ordinal);
}
