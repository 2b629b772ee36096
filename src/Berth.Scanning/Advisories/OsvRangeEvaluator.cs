using Berth.Scanning.Versions;

namespace Berth.Scanning.Advisories;

/// <summary>The outcome of checking one installed version against one <c>affected[]</c> entry.</summary>
/// <param name="IsAffected">Whether the version is inside a range or listed in <c>versions[]</c>.</param>
/// <param name="FixedVersion">The smallest <c>fixed</c> event above the version in the ranges that include it (or, when only the
/// version list matched, in any range), or null when no fix exists.</param>
public readonly record struct AffectedResult(bool IsAffected, string? FixedVersion)
{
    public static readonly AffectedResult NotAffected = new(false, null);
}

/// <summary>
/// Evaluates OSV ranges as the OSV specification describes: the events of an <c>ECOSYSTEM</c> range are ordered by the
/// ecosystem's version order (<c>introduced: "0"</c> first), and walking them up to the installed version,
/// <c>introduced</c> ≤ v turns "affected" on, <c>fixed</c> ≤ v turns it off, <c>last_affected</c> &lt; v turns it off;
/// a range with <c>limit</c> events only includes versions below one of its limits (<c>"*"</c> = no limit).
/// <c>SEMVER</c> ranges use SemVer whatever the ecosystem. <c>GIT</c> ranges name commits, not package versions, and are
/// ignored. A version is affected when a range includes it OR <c>versions[]</c> lists it.
/// </summary>
/// <remarks>
/// Unparsable versions (see <see cref="IVersionComparer"/>): an installed version the ordering cannot parse is matched
/// only by <c>versions[]</c>; a range with an event the ordering cannot parse is skipped (it cannot be placed in order).
/// </remarks>
public static class OsvRangeEvaluator
{
    /// <summary>Checks <paramref name="version"/> against <paramref name="affected"/> with <paramref name="comparer"/>
    /// (null when the ecosystem has no known ordering: then only <c>versions[]</c> counts).</summary>
    public static AffectedResult Evaluate(OsvAffected affected, string version, IVersionComparer? comparer)
    {
        var inRange = false;
        string? bestFixed = null;

        foreach (var range in affected.Ranges)
        {
            var rangeComparer = range.Type switch
            {
                "ECOSYSTEM" => comparer,
                "SEMVER" => SemVerComparer.Instance,
                _ => null,
            };
            if (rangeComparer is null || !rangeComparer.IsValid(version))
            {
                continue;
            }

            if (!Includes(range, version, rangeComparer, out var fixedAbove))
            {
                continue;
            }

            inRange = true;
            if (fixedAbove is not null && (bestFixed is null || rangeComparer.Compare(fixedAbove, bestFixed) < 0))
            {
                bestFixed = fixedAbove;
            }
        }

        if (inRange)
        {
            return new AffectedResult(true, bestFixed);
        }

        if (!IsListed(affected.Versions, version, comparer))
        {
            return AffectedResult.NotAffected;
        }

        // Listed explicitly: report the smallest fix above it that any range gives.
        foreach (var range in affected.Ranges)
        {
            var rangeComparer = range.Type == "SEMVER" ? SemVerComparer.Instance : range.Type == "ECOSYSTEM" ? comparer : null;
            if (rangeComparer is null || !rangeComparer.IsValid(version))
            {
                continue;
            }

            foreach (var e in range.Events)
            {
                if (e.Fixed is { } f && rangeComparer.IsValid(f) && rangeComparer.Compare(f, version) > 0
                    && (bestFixed is null || rangeComparer.Compare(f, bestFixed) < 0))
                {
                    bestFixed = f;
                    }
            }
        }

        return new AffectedResult(true, bestFixed);
    }

    private static bool IsListed(IReadOnlyList<string> versions, string version, IVersionComparer? comparer)
    {
        foreach (var listed in versions)
        {
            if (string.Equals(listed, version, StringComparison.Ordinal))
            {
                return true;
            }
        }

        // OSV lists exact version strings; orders with several spellings of one version (PEP 440's "1.0" == "1.0.0",
        // Maven's "1" == "1.0", SemVer's build metadata) also match a listed spelling that is equal in the order.
        // Distribution lists (dpkg, apk, rpm) are compared as text: they are long, and their spellings are canonical.
        if (comparer is not (Pep440VersionComparer or MavenVersionComparer or SemVerComparer) || !comparer.IsValid(version))
        {
            return false;
        }

        foreach (var listed in versions)
        {
            if (comparer.IsValid(listed) && comparer.Compare(listed, version) == 0)
            {
                return true;
            }
        }

        return false;
    }

    private enum Kind { Introduced, Fixed, LastAffected }

    private static int CompareEventVersions(string? a, string? b, IVersionComparer comparer) =>
        a is null ? (b is null ? 0 : -1) : b is null ? 1 : comparer.Compare(a, b);

    /// <summary>Whether one range includes <paramref name="version"/>; also the smallest fix above it in that range.</summary>
    internal static bool Includes(OsvRange range, string version, IVersionComparer comparer, out string? fixedAbove)
    {
        fixedAbove = null;
        var events = new List<(Kind Kind, string? Version)>(range.Events.Count);
        var hasLimit = false;
        var belowALimit = false;
        foreach (var e in range.Events)
        {
            if (e.Introduced is { } i)
            {
                if (i != "0" && !comparer.IsValid(i))
                {
                    return false;
                }

                events.Add((Kind.Introduced, i == "0" ? null : i));
            }
            else if (e.Fixed is { } f)
            {
                if (!comparer.IsValid(f))
                {
                    return false;
                }

                events.Add((Kind.Fixed, f));
            }
            else if (e.LastAffected is { } l)
            {
                if (!comparer.IsValid(l))
                {
                    return false;
                }

                events.Add((Kind.LastAffected, l));
            }
            else if (e.Limit is { } lim)
            {
                hasLimit = true;
                if (lim == "*" || (comparer.IsValid(lim) && comparer.Compare(version, lim) < 0))
                {
                    belowALimit = true;
                }
            }
        }

        if (hasLimit && !belowALimit)
        {
            return false;
        }

        // Walk the events in version order ("0" = before everything). An insertion sort: ranges hold a handful of
        // events, and it is stable, so the record's order decides ties.
        var ordered = events;
        for (var i = 1; i < ordered.Count; i++)
        {
            var item = ordered[i];
            var j = i - 1;
            while (j >= 0 && CompareEventVersions(ordered[j].Version, item.Version, comparer) > 0)
            {
                ordered[j + 1] = ordered[j];
                j--;
            }

            ordered[j + 1] = item;
        }

        var affected = false;
        foreach (var (kind, v) in ordered)
        {
            switch (kind)
            {
                case Kind.Introduced when v is null || comparer.Compare(version, v) >= 0:
                    affected = true;
                    break;
                case Kind.Fixed when comparer.Compare(version, v!) >= 0:
                    affected = false;
                    break;
                case Kind.LastAffected when comparer.Compare(version, v!) > 0:
                    affected = false;
                    break;
            }
        }

        if (!affected)
        {
            return false;
        }

        foreach (var (kind, v) in ordered)
        {
            if (kind == Kind.Fixed && comparer.Compare(v!, version) > 0)
            {
                fixedAbove = v;
                break;
            }
        }

        return true;
    }
}
