using Berth.Scanning.Advisories;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Matching;

namespace Berth.Scanning.Tests.Matching;

/// <summary>The Alpine entries that osv.dev's CVE records carry (in the Debian test data), with apk versions at the edges.</summary>
public sealed class AlpineRealDataTests
{
    [Fact]
    public async Task Alpine319_EntriesInsideRealCveRecords()
    {
        var records = Directory.EnumerateFiles(VulnDbTestData.PathOf("debian"), "*.json", SearchOption.AllDirectories)
            .Select(f => OsvParser.TryParse(File.ReadAllBytes(f), out var r, out _) ? r : throw new InvalidDataException(f));
        static InstalledPackage Apk(string name, string version, string? origin = null) =>
            new(Ecosystems.Alpine, name, version, origin, null, "alpine", "lib/apk/db/installed", null);

        var inventory = new ImageInventory(new OsInfo("alpine", "3.19.4", "Alpine Linux v3.19", null),
        [
            Apk("zlib", "1.2.12-r1"),
            Apk("tar", "1.34-r1"),
            Apk("ncurses-libs", "6.4_p20230401-r0", "ncurses"),
            Apk("ncurses-terminfo-base", "6.4_p20230401-r0", "ncurses"),
            Apk("sqlite-libs", "3.30.1-r0", "sqlite"),
        ]);
        var findings = await new VulnerabilityMatcher(new InMemoryAdvisorySource(records)).MatchAsync(inventory);
        var got = findings.Select(f => (f.Package.Name, f.VulnerabilityId)).ToHashSet();

        Assert.Contains(("zlib", "CVE-2022-37434"), got); // fixed 1.2.12-r2: one release above
        Assert.DoesNotContain(("zlib", "CVE-2018-25032"), got); // fixed 1.2.11-r4
        Assert.DoesNotContain(("zlib", "CVE-2023-45853"), got); // fixed "0": the branch was never affected
        Assert.Contains(("tar", "CVE-2022-48303"), got); // fixed 1.34-r2
        Assert.DoesNotContain(("tar", "CVE-2021-20193"), got); // fixed 1.34-r0
        Assert.Contains(("ncurses-libs", "CVE-2023-29491"), got); // 6.4_p20230401 < 6.4_p20230424
        Assert.Contains(("ncurses-terminfo-base", "CVE-2023-29491"), got);
        Assert.DoesNotContain(("ncurses-libs", "CVE-2022-29458"), got); // fixed 6.3_p20220416-r0
        Assert.Contains(("sqlite-libs", "CVE-2019-19242"), got); // fixed 3.30.1-r1
        Assert.DoesNotContain(("sqlite-libs", "CVE-2019-8457"), got); // fixed 3.28.0-r0

        Assert.Equal("1.2.12-r2", findings.Single(f => f.VulnerabilityId == "CVE-2022-37434").FixedVersion);
        // No Debian urgency applies to Alpine packages: the record's CVSS decides.
        Assert.All(findings, f => Assert.NotEqual("debian_urgency", f.SeveritySource));
        Assert.Equal(Severity.Critical, findings.Single(f => f.VulnerabilityId == "CVE-2022-37434").Severity);
    }
}
