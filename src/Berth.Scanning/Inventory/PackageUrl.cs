using System.Text;
using Berth.Scanning.Inventory;

namespace Berth.Scanning.Inventory;

/// <summary>
/// Package URLs (purl, <c>pkg:type/namespace/name@version?qualifiers#subpath</c>) as the purl specification spells them:
/// each namespace segment, the name, the version and each qualifier value percent-encoded (only ASCII letters, digits,
/// '.', '-', '_', '~' and ':' stay as they are; '@' in an npm scope becomes %40, '+' in a version %2B), qualifier keys
/// lower-case and sorted, empty qualifiers left out.
/// </summary>
public static class PackageUrl
{
    /// <summary>Builds a purl from its parts. <paramref name="namespace"/> may hold several '/'-separated segments (Go module paths); each is encoded on its own.</summary>
    public static string Build(
        string type,
        string? @namespace,
        string name,
        string? version,
        IEnumerable<KeyValuePair<string, string?>>? qualifiers = null,
        string? subpath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var sb = new StringBuilder("pkg:");
        sb.Append(type.ToLowerInvariant()).Append('/');
        if (!string.IsNullOrEmpty(@namespace))
        {
            foreach (var segment in @namespace.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                Encode(sb, segment).Append('/');
            }
        }

        Encode(sb, name);
        if (!string.IsNullOrEmpty(version))
        {
            Encode(sb.Append('@'), version);
        }

        var sorted = (qualifiers ?? [])
            .Where(q => !string.IsNullOrEmpty(q.Value))
            .Select(q => (Key: q.Key.ToLowerInvariant(), q.Value))
            .OrderBy(q => q.Key, StringComparer.Ordinal)
            .ToList();
        for (var i = 0; i < sorted.Count; i++)
        {
            sb.Append(i == 0 ? '?' : '&').Append(sorted[i].Key).Append('=');
            Encode(sb, sorted[i].Value!);
        }

        if (!string.IsNullOrEmpty(subpath))
        {
            sb.Append('#');
            var firstSegment = true;
            foreach (var segment in subpath.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                if (segment is "." or "..")
                {
                    continue;
                }

                if (!firstSegment)
                {
                    sb.Append('/');
                }

                Encode(sb, segment);
                firstSegment = false;
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// The purl of an installed package: deb (debian/ubuntu, <c>distro=debian-12</c>), apk (alpine, <c>distro=3.19.1</c>),
    /// rpm (redhat/rocky/almalinux/opensuse, <c>distro=rocky-9.3</c>), with an epoch moved from the version into the
    /// <c>epoch</c> qualifier; pypi (name lower-cased, '_' as '-'), npm (a scope as the namespace), golang (module path
    /// split at its last '/'), nuget, maven ("group:artifact"); generic for anything else. No <c>arch</c> qualifier: the
    /// inventory does not record a package's architecture (an image's packages may be "all").
    /// </summary>
    public static string For(InstalledPackage package, OsInfo? os)
    {
        ArgumentNullException.ThrowIfNull(package);
        var name = package.Name;
        var version = package.Version;
        switch (package.Ecosystem)
        {
            case Ecosystems.Debian or Ecosystems.Ubuntu:
            {
                var (epoch, rest) = SplitEpoch(version);
                return Build("deb", package.Ecosystem.ToLowerInvariant(), name, rest,
                    [new("distro", Distro(os, withId: true)), new("epoch", epoch)]);
            }

            case Ecosystems.Alpine:
                return Build("apk", "alpine", name, version, [new("distro", os?.VersionId)]);

            case Ecosystems.RedHat or Ecosystems.Rocky or Ecosystems.Alma or Ecosystems.OpenSuse:
            {
                var (epoch, rest) = SplitEpoch(version);
                var vendor = package.Ecosystem switch
                {
                    Ecosystems.RedHat => "redhat",
                    Ecosystems.Rocky => "rocky",
                    Ecosystems.Alma => "almalinux",
                    _ => "opensuse",
                };
                return Build("rpm", vendor, name, rest, [new("distro", Distro(os, withId: true)), new("epoch", epoch)]);
            }

            case Ecosystems.PyPI:
                return Build("pypi", null, name.ToLowerInvariant().Replace('_', '-'), version);

            case Ecosystems.Npm:
                if (name.StartsWith('@') && name.IndexOf('/', StringComparison.Ordinal) is var slash and > 1 && slash < name.Length - 1)
                {
                    return Build("npm", name[..slash], name[(slash + 1)..], version);
                }

                return Build("npm", null, name, version);

            case Ecosystems.Go:
            {
                var cut = name.LastIndexOf('/');
                return cut > 0 && cut < name.Length - 1
                    ? Build("golang", name[..cut], name[(cut + 1)..], version)
                    : Build("golang", null, name, version);
            }

            case Ecosystems.NuGet:
                return Build("nuget", null, name, version);

            case Ecosystems.Maven:
            {
                var colon = name.IndexOf(':', StringComparison.Ordinal);
                return colon > 0 && colon < name.Length - 1
                    ? Build("maven", name[..colon], name[(colon + 1)..], version)
                    : Build("maven", null, name, version);
            }

            default:
                return Build("generic", null, name, version);
        }
    }

    /// <summary>The purl without its version, qualifiers and subpath ("pkg:deb/debian/openssl").</summary>
    public static string WithoutVersion(string purl)
    {
        ArgumentNullException.ThrowIfNull(purl);
        var end = purl.IndexOfAny(['@', '?', '#']);
        return end < 0 ? purl : purl[..end];
    }

    private static string? Distro(OsInfo? os, bool withId) =>
        os is null ? null : withId ? $"{os.Id}-{os.VersionId}" : os.VersionId;

    private static (string? Epoch, string Version) SplitEpoch(string version)
    {
        var colon = version.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && !version.AsSpan(0, colon).ContainsAnyExceptInRange('0', '9'))
        {
            return (version[..colon], version[(colon + 1)..]);
        }

        return (null, version);
    }

    private static StringBuilder Encode(StringBuilder sb, string text)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_' or '~' or ':')
            {
                sb.Append(c);
                continue;
            }

            int length;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                length = new Rune(c, text[i + 1]).EncodeToUtf8(utf8);
                i++;
            }
            else
            {
                length = (Rune.TryCreate(c, out var rune) ? rune : Rune.ReplacementChar).EncodeToUtf8(utf8);
            }

            for (var b = 0; b < length; b++)
            {
                sb.Append('%').Append(utf8[b].ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return sb;
    }
}
