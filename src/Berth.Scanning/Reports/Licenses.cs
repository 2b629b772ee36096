using System.Text;

namespace Berth.Scanning.Reports;

/// <summary>
/// Licence names as packages declare them, sorted into SPDX licence ids Berth recognises and free text. Only ids in
/// <see cref="KnownIds"/> are written as ids (both SBOM formats reject or flag unknown ids); anything else stays text
/// (CycloneDX <c>license.name</c>, SPDX <c>LicenseRef-…</c> with the text in <c>hasExtractedLicensingInfos</c>).
/// </summary>
internal static class Licenses
{
    /// <summary>Common SPDX licence ids (each checked against the SPDX list in the tests).</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownIds = new[]
    {
        "0BSD", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0", "Artistic-2.0", "BSD-2-Clause",
        "BSD-3-Clause", "BSL-1.0", "CC0-1.0", "CC-BY-4.0", "curl", "EPL-1.0", "EPL-2.0", "GPL-2.0-only",
        "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "ISC", "LGPL-2.0-only", "LGPL-2.0-or-later",
        "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "MIT", "MIT-0", "MPL-2.0",
        "OpenSSL", "PSF-2.0", "Python-2.0", "Unlicense", "WTFPL", "X11", "Zlib",
    }.ToDictionary(id => id, id => id, StringComparer.OrdinalIgnoreCase);

    /// <summary>The canonical SPDX id when <paramref name="license"/> is a recognised id (case-insensitive); else null.</summary>
    public static string? SpdxId(string license) => KnownIds.TryGetValue(license.Trim(), out var id) ? id : null;

    /// <summary>A LicenseRef id for free text: "LicenseRef-" and the text with every character outside [A-Za-z0-9.-] as '-'.</summary>
    public static string LicenseRef(string license)
    {
        var sb = new StringBuilder("LicenseRef-");
        foreach (var c in license.Trim())
        {
            sb.Append(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' ? c : '-');
            if (sb.Length >= 75)
            {
                break;
            }
        }

        return sb.ToString();
    }
}
