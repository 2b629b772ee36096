using Berth.Scanning.Advisories;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Matching;

namespace Berth.Scanning.Tests.Matching;

/// <summary>Ecosystems without shared real data (Alpine, Rocky/RPM, NuGet, Maven, Ubuntu), with records written here in OSV form.</summary>
public sealed class HandWrittenRecordTests
{
    private static OsvRecord Record(string json)
    {
        Assert.True(OsvParser.TryParse(json, out var r, out var e), e);
        return r;
    }

    private static string Simple(string id, string ecosystem, string name, string events, string extra = "") => $$"""
        {"id":"{{id}}","summary":"{{id}} summary","affected":[{"package":{"ecosystem":"{{ecosystem}}","name":"{{name}}"},
         "ranges":[{"type":"ECOSYSTEM","events":[{{events}}]}]{{extra}}}]}
        """;

    private static async Task<IReadOnlyList<Finding>> Match(OsInfo? os, IEnumerable<string> records, params InstalledPackage[] packages) =>
        await new VulnerabilityMatcher(new InMemoryAdvisorySource(records.Select(Record))).MatchAsync(new ImageInventory(os, packages));

    [Fact]
    public async Task Alpine_BranchAndApkOrder()
    {
        var os = new OsInfo("alpine", "3.19.1", "Alpine Linux v3.19", null);
        Assert.Equal(["Alpine:v3.19"], PackageNames.ReleaseEcosystems(os));
        string[] records =
        [
            Simple("CVE-2024-0001", "Alpine:v3.19", "openssl", """{"introduced":"0"},{"fixed":"3.1.4-r5"}"""),
            Simple("CVE-2024-0002", "Alpine:v3.19", "openssl", """{"introduced":"0"},{"fixed":"3.1.4-r3"}"""),
            Simple("CVE-2024-0003", "Alpine:v3.18", "openssl", """{"introduced":"0"},{"fixed":"9.9.9-r0"}"""), // other branch
            Simple("CVE-2024-0004", "Alpine:v3.19", "busybox", """{"introduced":"0"},{"fixed":"1.36.1-r16"}"""),
            Simple("CVE-2024-0005", "Alpine:v3.19", "busybox", """{"introduced":"0"},{"fixed":"1.36.1_p1-r0"}"""),
        ];
        var findings = await Match(os, records,
            new InstalledPackage(Ecosystems.Alpine, "libcrypto3", "3.1.4-r4", "openssl", null, "alpine", "lib/apk/db/installed", null),
            new InstalledPackage(Ecosystems.Alpine, "libssl3", "3.1.4-r4", "openssl", null, "alpine", "lib/apk/db/installed", null),
            new InstalledPackage(Ecosystems.Alpine, "busybox", "1.36.1-r15", null, null, "alpine", "lib/apk/db/installed", null));

        Assert.Equal(
            [("CVE-2024-0001", "libcrypto3", "3.1.4-r5"), ("CVE-2024-0001", "libssl3", "3.1.4-r5"),
             ("CVE-2024-0004", "busybox", "1.36.1-r16"), ("CVE-2024-0005", "busybox", "1.36.1_p1-r0")],
            findings.Select(f => (f.VulnerabilityId, f.Package.Name, f.FixedVersion)).Order().ToList());
    }

    [Fact]
    public async Task Rocky_RpmOrder_ByBinaryOrSourceName()
    {
        var os = new OsInfo("rocky", "9.3", "Rocky Linux 9.3 (Blue Onyx)", null);
        Assert.Equal(["Rocky Linux:9"], PackageNames.ReleaseEcosystems(os));
        string[] records =
        [
            Simple("RLSA-2024:0001", "Rocky Linux:9", "openssl-libs", """{"introduced":"0"},{"fixed":"1:3.0.7-28.el9"}""") // by binary name
                .Replace("\"summary\"", "\"aliases\":[\"CVE-2023-5678\"],\"summary\"", StringComparison.Ordinal),
            Simple("RLSA-2024:0002", "Rocky Linux:9", "openssl", """{"introduced":"0"},{"fixed":"1:3.0.7-25.el9"}"""), // already fixed
            Simple("RLSA-2024:0003", "Rocky Linux:9", "openssl", """{"introduced":"0"},{"fixed":"1:3.0.7-27.el9_4"}"""), // by source name
            Simple("RLSA-2024:0004", "Rocky Linux:9", "openssl", """{"introduced":"0"},{"fixed":"3.0.8-1.el9"}"""), // epoch 0 < 1: fixed
            Simple("RLSA-2024:0005", "Rocky Linux:8", "openssl", """{"introduced":"0"},{"fixed":"1:9.0.0-1.el8"}"""), // other release
        ];
        var findings = await Match(os, records,
            new InstalledPackage(Ecosystems.Rocky, "openssl-libs", "1:3.0.7-27.el9", "openssl", null, "redhat", "var/lib/rpm/rpmdb.sqlite", null));

        Assert.Equal(
            [("CVE-2023-5678", "RLSA-2024:0001", "1:3.0.7-28.el9"), ("RLSA-2024:0003", "RLSA-2024:0003", "1:3.0.7-27.el9_4")],
            findings.Select(f => (f.VulnerabilityId, f.AdvisoryId, f.FixedVersion)).Order().ToList());
    }

    [Fact]
    public async Task NuGet_CaseInsensitiveIdsAndPrereleases_FourPartVersions()
    {
        string[] records =
        [
            Simple("GHSA-nuget-1", "NuGet", "Newtonsoft.Json", """{"introduced":"0"},{"fixed":"13.0.1"}""", ""),
            Simple("GHSA-nuget-2", "NuGet", "System.Text.Encodings.Web", """{"introduced":"4.0.0"},{"fixed":"4.5.1"}"""),
            Simple("GHSA-nuget-3", "NuGet", "Some.Lib", """{"introduced":"6.0.0-preview.1"},{"fixed":"6.0.0-RC.2"}"""),
            Simple("GHSA-nuget-4", "NuGet", "Four.Part", """{"introduced":"0"},{"fixed":"2.1.0.5"}"""),
        ];
        var findings = await Match(null, records,
            new InstalledPackage(Ecosystems.NuGet, "newtonsoft.json", "12.0.3", null, null, "dotnet-core", "app/app.deps.json", null),
            new InstalledPackage(Ecosystems.NuGet, "System.Text.Encodings.Web", "4.5.1", null, null, "dotnet-core", "app/app.deps.json", null),
            new InstalledPackage(Ecosystems.NuGet, "Some.Lib", "6.0.0-rc.1", null, null, "dotnet-core", "app/app.deps.json", null),
            new InstalledPackage(Ecosystems.NuGet, "Four.Part", "2.1.0.4", null, null, "dotnet-core", "app/app.deps.json", null));

        Assert.Equal(["GHSA-nuget-1", "GHSA-nuget-3", "GHSA-nuget-4"], findings.Select(f => f.VulnerabilityId).Order().ToList());
    }

    [Fact]
    public async Task Maven_GroupArtifactNamesAndQualifiers()
    {
        string[] records =
        [
            Simple("CVE-2021-44228", "Maven", "org.apache.logging.log4j:log4j-core", """{"introduced":"2.0-beta9"},{"fixed":"2.15.0"}"""),
            Simple("CVE-2022-22965", "Maven", "org.springframework:spring-beans", """{"introduced":"5.3.0"},{"fixed":"5.3.18"}"""),
            Simple("CVE-2020-0001", "Maven", "com.fasterxml.jackson.core:jackson-databind", """{"introduced":"2.9.0"},{"fixed":"2.9.10.1"}"""),
        ];
        var findings = await Match(null, records,
            new InstalledPackage(Ecosystems.Maven, "org.apache.logging.log4j:log4j-core", "2.14.1", null, null, "jar", "app/lib/log4j-core-2.14.1.jar", null),
            new InstalledPackage(Ecosystems.Maven, "org.springframework:spring-beans", "5.3.9", null, null, "jar", "app/lib/spring-beans.jar", null), // 5.3.9 < 5.3.18 numerically
            new InstalledPackage(Ecosystems.Maven, "com.fasterxml.jackson.core:jackson-databind", "2.9.10", null, null, "jar", "app/lib/jd.jar", null),
            new InstalledPackage(Ecosystems.Maven, "log4j-core", "2.14.1", null, null, "jar", "x.jar", null)); // artifact alone: no match

        Assert.Equal(
            [("CVE-2020-0001", "2.9.10.1"), ("CVE-2021-44228", "2.15.0"), ("CVE-2022-22965", "5.3.18")],
            findings.Select(f => (f.VulnerabilityId, f.FixedVersion)).Order().ToList());
    }

    [Fact]
    public async Task Ubuntu_LtsSuffixedEcosystemsMatch()
    {
        var os = new OsInfo("ubuntu", "22.04", "Ubuntu 22.04.4 LTS", "jammy");
        string[] records =
        [
            Simple("UBUNTU-CVE-2024-1", "Ubuntu:22.04:LTS", "openssl", """{"introduced":"0"},{"fixed":"3.0.2-0ubuntu1.15"}""")
                .Replace("\"summary\"", "\"aliases\":[\"CVE-2024-1\"],\"severity\":[{\"type\":\"Ubuntu\",\"score\":\"medium\"}],\"summary\"", StringComparison.Ordinal),
            Simple("UBUNTU-CVE-2024-2", "Ubuntu:20.04:LTS", "openssl", """{"introduced":"0"},{"fixed":"9.9"}"""),
        ];
        var findings = await Match(os, records,
            new InstalledPackage(Ecosystems.Debian, "libssl3", "3.0.2-0ubuntu1.14", "openssl", null, "ubuntu", "var/lib/dpkg/status", null));
        var f = Assert.Single(findings);
        Assert.Equal(("CVE-2024-1", "3.0.2-0ubuntu1.15", Severity.Medium, "ubuntu_priority"), (f.VulnerabilityId, f.FixedVersion, f.Severity, f.SeveritySource));
    }

    [Fact]
    public async Task DistributionAdvisory_FoldsIntoItsCves_AndDuplicatesMerge()
    {
        var os = new OsInfo("debian", "12", null, "bookworm");
        string[] records =
        [
            """{"id":"DSA-9999-1","related":["CVE-2099-1","CVE-2099-2"],"affected":[{"package":{"ecosystem":"Debian:12","name":"foo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-2"}]}]}]}""",
            """{"id":"CVE-2099-1","affected":[{"package":{"ecosystem":"Debian:12","name":"foo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}],"ecosystem_specific":{"urgency":"low"}}]}""",
            """{"id":"CVE-2099-2","affected":[{"package":{"ecosystem":"Debian:12","name":"foo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-3"}]}],"ecosystem_specific":{"urgency":"high"}}]}""",
            // A second record naming the same CVE (an alias): merged, the lower fix and the higher severity kept.
            """{"id":"OSV-2099-2","aliases":["CVE-2099-2"],"affected":[{"package":{"ecosystem":"Debian:12","name":"foo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-2"}]}],"ecosystem_specific":{"urgency":"medium"}}]}""",
            // A DSA whose related CVE is not reported stays on its own.
            """{"id":"DSA-9998-1","related":["CVE-2099-9"],"affected":[{"package":{"ecosystem":"Debian:12","name":"foo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-5"}]}]}]}""",
        ];
        var findings = await Match(os, records,
            new InstalledPackage(Ecosystems.Debian, "libfoo1", "1.0-1", "foo", null, "debian", "var/lib/dpkg/status", null),
            new InstalledPackage(Ecosystems.Debian, "foo-bin", "1.0-1+b1", "foo", "1.0-1", "debian", "var/lib/dpkg/status", null));

        foreach (var name in (string[])["libfoo1", "foo-bin"])
        {
            var mine = findings.Where(f => f.Package.Name == name).ToDictionary(f => f.VulnerabilityId);
            Assert.Equal(["CVE-2099-1", "CVE-2099-2", "DSA-9998-1"], mine.Keys.Order().ToList());
            Assert.Equal("1.0-2", mine["CVE-2099-1"].FixedVersion); // the folded DSA gives the fix the CVE record lacks
            Assert.Contains("DSA-9999-1", mine["CVE-2099-1"].Aliases);
            Assert.Equal(("1.0-2", Severity.High), (mine["CVE-2099-2"].FixedVersion, mine["CVE-2099-2"].Severity));
            Assert.Equal("1.0-5", mine["DSA-9998-1"].FixedVersion);
        }
    }

    [Fact]
    public async Task RecordsWithoutPackageOrWithGarbage_AreIgnored()
    {
        string[] records =
        [
            """{"id":"X-1","affected":[{"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}""",
            """{"id":"X-2","affected":[{"package":{"ecosystem":"npm"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}""",
            """{"id":"X-3","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[]}]}]}""",
            """{"id":"X-4","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"fixed":"1.0.0"}]}]}]}""",
            """{"id":"X-5","affected":[{"package":{"ecosystem":"Nonesuch","name":"a"},"versions":["1"]}]}""",
        ];
        var findings = await Match(null, records,
            new InstalledPackage(Ecosystems.Npm, "a", "0.5.0", null, null, "node-pkg", "a", null),
            new InstalledPackage("Nonesuch", "a", "1", null, null, "x", "a", null));
        Assert.Equal(["X-5"], findings.Select(f => f.VulnerabilityId).ToList()); // only the explicit version of the unknown ecosystem
    }
}
