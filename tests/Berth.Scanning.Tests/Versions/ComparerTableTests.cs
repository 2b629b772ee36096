using Berth.Scanning.Versions;

namespace Berth.Scanning.Tests.Versions;

public sealed class ComparerTableTests
{
    // Each row: older, newer (strictly), or equal when the third value is 0.
    private static void AssertOrder(IVersionComparer comparer, string a, string b, int expected)
    {
        Assert.True(expected == Math.Sign(comparer.Compare(a, b)), $"{comparer.Name}: {a} vs {b}: expected {expected}, got {comparer.Compare(a, b)}");
        Assert.True(-expected == Math.Sign(comparer.Compare(b, a)), $"{comparer.Name}: {b} vs {a}: expected {-expected} (antisymmetry)");
    }

    [Theory]
    [InlineData("1.0", "1.0", 0)]
    [InlineData("1.0", "1.1", -1)]
    [InlineData("1.0", "1.0-0", 0)]
    [InlineData("1.0-1", "1.0-2", -1)]
    [InlineData("1:1.0", "2.0", 1)]
    [InlineData("0:1.0", "1.0", 0)]
    [InlineData("1.0~rc1", "1.0", -1)]
    [InlineData("1.0~rc1", "1.0~rc2", -1)]
    [InlineData("1.0~~", "1.0~", -1)]
    [InlineData("1.0~", "1.0", -1)]
    [InlineData("1.0~rc1-1", "1.0-1", -1)]
    [InlineData("1.0", "1.0+b1", -1)]
    [InlineData("1.0", "1.0.1", -1)]
    [InlineData("1.0a", "1.0.", -1)] // letters sort before non-letters
    [InlineData("1.0a", "1.0+", -1)]
    [InlineData("1.0", "1.0a", -1)]
    [InlineData("1.09", "1.9", 0)]
    [InlineData("1.10", "1.9", 1)]
    [InlineData("3.0.15-1~deb12u1", "3.0.15-1", -1)]
    [InlineData("3.0.11-1~deb12u2", "3.0.15-1~deb12u1", -1)]
    [InlineData("2.36.1-8+deb11u1", "2.36.1-8+deb11u2", -1)]
    [InlineData("12.4+deb12u15", "12.4+deb12u9", 1)]
    [InlineData("1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u2", 1)]
    [InlineData("2:8.2.1-1", "1:9.9-1", 1)]
    [InlineData("1.2.3-1ubuntu1", "1.2.3-1", 1)]
    [InlineData("1.2.3-1ubuntu0.22.04.1", "1.2.3-1ubuntu1", -1)]
    [InlineData("5.2.15-2+b13", "5.2.15-2", 1)]
    [InlineData("1.0-a", "1.0-+", -1)]
    [InlineData("1.0-1-2", "1.0-1-1", 1)] // upstream may contain hyphens; the revision is after the last one
    [InlineData("10:1", "9:2", 1)]
    [InlineData("99999999999999999999.1", "99999999999999999998.2", 1)] // numbers longer than a long
    public void Debian(string a, string b, int expected) => AssertOrder(DebianVersionComparer.Instance, a, b, expected);

    [Theory]
    [InlineData("")]
    [InlineData("a:1.0")]
    [InlineData(":1.0")]
    [InlineData("1.0 beta")]
    [InlineData("1:")]
    [InlineData("1.0_1")]
    public void Debian_Invalid_IsNotValidAndSortsFirst(string bad)
    {
        var c = DebianVersionComparer.Instance;
        Assert.False(c.IsValid(bad));
        Assert.True(c.Compare(bad, "0") < 0);
        Assert.True(c.Compare("0", bad) > 0);
        Assert.Equal(0, c.Compare(bad, bad));
    }

    [Theory]
    [InlineData("1.2.3", "1.2.3", 0)]
    [InlineData("1.2.3", "1.2.4", -1)]
    [InlineData("1.2", "1.2.0", -1)] // more parts is newer
    [InlineData("1.2.3", "1.10", -1)]
    [InlineData("1.2.3a", "1.2.3", 1)]
    [InlineData("1.2.3a", "1.2.3b", -1)]
    [InlineData("1.2.3_alpha", "1.2.3_beta", -1)]
    [InlineData("1.2.3_beta", "1.2.3_pre", -1)]
    [InlineData("1.2.3_pre", "1.2.3_rc", -1)]
    [InlineData("1.2.3_rc1", "1.2.3", -1)]
    [InlineData("1.2.3_rc1", "1.2.3_rc2", -1)]
    [InlineData("1.2.3", "1.2.3_cvs", -1)]
    [InlineData("1.2.3_cvs", "1.2.3_svn", -1)]
    [InlineData("1.2.3_svn", "1.2.3_git", -1)]
    [InlineData("1.2.3_git", "1.2.3_hg", -1)]
    [InlineData("1.2.3_hg", "1.2.3_p1", -1)]
    [InlineData("1.2.3_p1", "1.2.3_p2", -1)]
    [InlineData("1.2.3_p9", "1.2.3_p10", -1)]
    [InlineData("1.2.3-r0", "1.2.3", 0)]
    [InlineData("1.2.3-r1", "1.2.3-r2", -1)]
    [InlineData("1.2.3-r9", "1.2.3-r10", -1)]
    [InlineData("1.2.3_rc1-r5", "1.2.3-r0", -1)]
    [InlineData("1.2.3_p1-r0", "1.2.3-r9", 1)]
    [InlineData("3.1.4-r5", "3.1.4-r6", -1)]
    [InlineData("3.0.12-r4", "3.0.8-r0", 1)]
    [InlineData("1.2.3~abc123-r1", "1.2.3-r1", 0)]
    [InlineData("1.2.3_alpha_p1", "1.2.3_alpha", 1)]
    [InlineData("1.36.1-r15", "1.36.1-r2", 1)]
    public void Alpine(string a, string b, int expected) => AssertOrder(ApkVersionComparer.Instance, a, b, expected);

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("1.2.3_foo")]
    [InlineData("1.2.3-x1")]
    [InlineData("1.2.3-r")]
    [InlineData("1.2.3-r1x")]
    public void Alpine_Invalid(string bad)
    {
        Assert.False(ApkVersionComparer.Instance.IsValid(bad));
        Assert.True(ApkVersionComparer.Instance.Compare(bad, "0") < 0);
    }

    [Theory]
    [InlineData("1.0", "1.0", 0)]
    [InlineData("1.0", "1.0.1", -1)]
    [InlineData("1.0~rc1", "1.0", -1)]
    [InlineData("1.0~rc1", "1.0~rc2", -1)]
    [InlineData("1.0^", "1.0", 1)]
    [InlineData("1.0^git1", "1.0.1", -1)]
    [InlineData("1.0^git1", "1.0^git2", -1)]
    [InlineData("1.0~rc1^git1", "1.0~rc1", 1)]
    [InlineData("1.0a", "1.0.1", -1)] // alpha segment older than numeric
    [InlineData("1.0", "1.0a", -1)]
    [InlineData("1.0.0", "1.0", 1)]
    [InlineData("1.01", "1.1", 0)]
    [InlineData("1..0", "1.0", 0)] // separators only split
    [InlineData("1_0", "1.0", 0)]
    [InlineData("2.1.7", "2.1.10", -1)]
    [InlineData("1:1.0-1", "2.0-1", 1)]
    [InlineData("0:1.0-1", "1.0-1", 0)]
    [InlineData("3.0.7-27.el9", "3.0.7-28.el9", -1)]
    [InlineData("3.0.7-27.el9", "3.0.7-27.el9_4", -1)]
    [InlineData("1:3.0.7-27.el9", "3.0.8-1.el9", 1)]
    [InlineData("1.2.3-4.el8", "1.2.3", 1)] // an absent release is empty (as rpm.vercmp)
    [InlineData("alpha", "beta", -1)]
    [InlineData("1.0-1.fc38", "1.0-1.fc39", -1)]
    public void Rpm(string a, string b, int expected) => AssertOrder(RpmVersionComparer.Instance, a, b, expected);

    [Theory]
    [InlineData("1.0.0", "1.0.0", 0)]
    [InlineData("1.0.0", "2.0.0", -1)]
    [InlineData("1.9.0", "1.10.0", -1)]
    [InlineData("1.0.0-alpha", "1.0.0", -1)]
    [InlineData("1.0.0-alpha", "1.0.0-alpha.1", -1)]
    [InlineData("1.0.0-alpha.1", "1.0.0-alpha.beta", -1)]
    [InlineData("1.0.0-alpha.beta", "1.0.0-beta", -1)]
    [InlineData("1.0.0-beta", "1.0.0-beta.2", -1)]
    [InlineData("1.0.0-beta.2", "1.0.0-beta.11", -1)]
    [InlineData("1.0.0-beta.11", "1.0.0-rc.1", -1)]
    [InlineData("1.0.0-rc.1", "1.0.0", -1)]
    [InlineData("1.0.0+build.1", "1.0.0+build.2", 0)] // build metadata ignored
    [InlineData("v1.2.3", "1.2.3", 0)] // Go's v prefix
    [InlineData("v2.0.0+incompatible", "v2.0.0", 0)]
    [InlineData("v2.0.0+incompatible", "v2.0.1", -1)]
    [InlineData("v0.0.0-20210220032951-036812b2e83c", "v0.0.0-20230101000000-abcdef123456", -1)] // Go pseudo-versions
    [InlineData("v0.0.0-20210220032951-036812b2e83c", "v0.1.0", -1)]
    [InlineData("1.2", "1.2.0", 0)]
    [InlineData("1.2.3.4", "1.2.3", 1)]
    [InlineData("1.0.0-Beta", "1.0.0-alpha", -1)] // by code point in plain semver: 'B' < 'a'
    [InlineData("1.0.0-1", "1.0.0-a", -1)] // numeric identifiers before alphanumeric
    public void SemVer(string a, string b, int expected) => AssertOrder(SemVerComparer.Instance, a, b, expected);

    [Theory]
    [InlineData("1.0.0-Beta", "1.0.0-beta", 0)]
    [InlineData("1.0.0-Beta", "1.0.0-alpha", 1)]
    [InlineData("4.0.0.1", "4.0.0", 1)]
    [InlineData("4.0.0.0", "4.0.0", 0)]
    [InlineData("13.0.1", "13.0.3", -1)]
    [InlineData("6.0.0-preview.7.21377.19", "6.0.0-rc.1.21451.13", -1)]
    [InlineData("6.0.0-rc.1.21451.13", "6.0.0", -1)]
    public void NuGet(string a, string b, int expected) => AssertOrder(SemVerComparer.NuGet, a, b, expected);

    [Theory]
    [InlineData("")]
    [InlineData("1.2.3.4.5")]
    [InlineData("1..2")]
    [InlineData("1.2.x")]
    [InlineData("1.0.0-")]
    [InlineData("1.0.0-a..b")]
    [InlineData("latest")]
    public void SemVer_Invalid(string bad) => Assert.False(SemVerComparer.Instance.IsValid(bad));

    [Theory]
    [InlineData("1.0", "1.0.0", 0)]
    [InlineData("1.0a1", "1.0.a.1", 0)]
    [InlineData("1.0a1", "1.0alpha1", 0)]
    [InlineData("1.0-a1", "1.0a1", 0)]
    [InlineData("1.0a", "1.0a0", 0)]
    [InlineData("1.0c1", "1.0rc1", 0)]
    [InlineData("1.0pre1", "1.0rc1", 0)]
    [InlineData("1.0-1", "1.0.post1", 0)]
    [InlineData("1.0-r1", "1.0.post1", 0)]
    [InlineData("1.0.post", "1.0.post0", 0)]
    [InlineData("1.0.dev", "1.0.dev0", 0)]
    [InlineData("1!1.0", "2.0", 1)]
    [InlineData("0!1.0", "1.0", 0)]
    [InlineData("v1.0", "1.0", 0)]
    [InlineData("1.0.DEV1", "1.0.dev1", 0)]
    [InlineData("1.0.dev1", "1.0a1", -1)]
    [InlineData("1.0a1.dev1", "1.0a1", -1)]
    [InlineData("1.0a1", "1.0a2", -1)]
    [InlineData("1.0a2", "1.0b1", -1)]
    [InlineData("1.0b1", "1.0rc1", -1)]
    [InlineData("1.0rc1", "1.0", -1)]
    [InlineData("1.0", "1.0.post1.dev1", -1)]
    [InlineData("1.0.post1.dev1", "1.0.post1", -1)]
    [InlineData("1.0.post1", "1.0.1", -1)]
    [InlineData("1.0", "1.0+local", -1)]
    [InlineData("1.0+abc", "1.0+1", -1)] // numeric local segments above alphanumeric
    [InlineData("1.0+1", "1.0+1.1", -1)]
    [InlineData("1.0+ubuntu-1", "1.0+ubuntu.1", 0)]
    [InlineData("1.9", "1.10", -1)]
    [InlineData("2.31.0", "2.32.3", -1)]
    [InlineData("1.0rc1", "1.0.post1", -1)]
    [InlineData("1.0.dev1", "1.0rc1.dev1", -1)]
    public void Pep440(string a, string b, int expected) => AssertOrder(Pep440VersionComparer.Instance, a, b, expected);

    [Theory]
    [InlineData("")]
    [InlineData("1.0-foo")]
    [InlineData("latest")]
    [InlineData("1.0+")]
    [InlineData("1.0+a..b")]
    [InlineData("1.0.x")]
    public void Pep440_Invalid(string bad) => Assert.False(Pep440VersionComparer.Instance.IsValid(bad));

    [Theory]
    [InlineData("1", "1.0", 0)]
    [InlineData("1.0", "1.0.0", 0)]
    [InlineData("1-ga", "1", 0)]
    [InlineData("1-final", "1", 0)]
    [InlineData("1.0.RELEASE", "1.0", 0)]
    [InlineData("1-alpha", "1-beta", -1)]
    [InlineData("1-a1", "1-alpha-1", 0)]
    [InlineData("1-beta", "1-milestone", -1)]
    [InlineData("1-m1", "1-milestone-1", 0)]
    [InlineData("1-milestone", "1-rc", -1)]
    [InlineData("1-rc", "1-cr", 0)]
    [InlineData("1-rc", "1-snapshot", -1)]
    [InlineData("1-snapshot", "1", -1)]
    [InlineData("1", "1-sp", -1)]
    [InlineData("1-sp", "1-abc", -1)] // unknown qualifiers after sp
    [InlineData("1-abc", "1-abd", -1)]
    [InlineData("1-sp", "1.1", -1)]
    [InlineData("1-1", "1.1", -1)] // '-number' < '.number'
    [InlineData("1-alpha", "1", -1)]
    [InlineData("1.0-SNAPSHOT", "1.0", -1)]
    [InlineData("1.0.0-SNAPSHOT", "1.0.0-RC1", 1)]
    [InlineData("2.9.10.1", "2.9.10", 1)]
    [InlineData("2.12.7.1", "2.13.0", -1)]
    [InlineData("5.3.18", "5.3.9", 1)]
    [InlineData("1.0alpha1", "1.0-alpha-1", 0)]
    [InlineData("1.0-ALPHA1", "1.0-alpha1", 0)]
    [InlineData("1.0.0.Final", "1.0.0", 0)]
    [InlineData("2.0.0.Beta1", "2.0.0", -1)]
    public void Maven(string a, string b, int expected) => AssertOrder(MavenVersionComparer.Instance, a, b, expected);

    [Theory]
    [InlineData("Debian:12", "dpkg")]
    [InlineData("Debian", "dpkg")]
    [InlineData("Ubuntu:22.04:LTS", "dpkg")]
    [InlineData("Alpine:v3.19", "apk")]
    [InlineData("Rocky Linux:9", "rpm")]
    [InlineData("AlmaLinux:8", "rpm")]
    [InlineData("Red Hat:enterprise_linux:9::appstream", "rpm")]
    [InlineData("npm", "semver")]
    [InlineData("Go", "semver")]
    [InlineData("NuGet", "semver-nuget")]
    [InlineData("PyPI", "pep440")]
    [InlineData("Maven", "maven")]
    public void Factory_MapsEcosystems(string ecosystem, string name)
    {
        Assert.True(VersionComparers.TryGet(ecosystem, out var c));
        Assert.Equal(name, c.Name);
    }

    [Fact]
    public void Factory_UnknownEcosystem_IsFalse() => Assert.False(VersionComparers.TryGet("Nonesuch:1", out _));

    [Fact]
    public void EveryComparer_HostileLongVersions_AreFastAndNeverOverflowTheStack()
    {
        string[] hostile =
        [
            string.Concat(Enumerable.Repeat("a1", 200_000)), // a nested list per switch in Maven's order
            string.Concat(Enumerable.Repeat("1.", 200_000)) + "1",
            string.Concat(Enumerable.Repeat("1-", 200_000)) + "1",
            string.Concat(Enumerable.Repeat("~", 200_000)),
            new string('9', 400_000),
        ];
        IVersionComparer[] all = [DebianVersionComparer.Instance, ApkVersionComparer.Instance, RpmVersionComparer.Instance,
            SemVerComparer.Instance, SemVerComparer.NuGet, Pep440VersionComparer.Instance, MavenVersionComparer.Instance];
        var sw = System.Diagnostics.Stopwatch.StartNew();
        foreach (var c in all)
        {
            foreach (var h in hostile)
            {
                _ = c.IsValid(h);
                _ = c.Compare(h, h + "1");
                _ = c.Compare("1.0", h);
            }
        }

        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), sw.Elapsed.ToString()); // well under a second when the machine is idle
        Assert.False(MavenVersionComparer.Instance.IsValid(hostile[0]));
    }

    [Fact]
    public void EveryComparer_GarbageNeverThrows_AndSortsStably()
    {
        string[] garbage = ["", " ", "::", "--", "~", "^", "+", "+incompatible", "v", "!", "1!", "💥", new string('9', 500), "1." + new string('.', 100), "\0"];
        IVersionComparer[] all = [DebianVersionComparer.Instance, ApkVersionComparer.Instance, RpmVersionComparer.Instance,
            SemVerComparer.Instance, SemVerComparer.NuGet, Pep440VersionComparer.Instance, MavenVersionComparer.Instance];
        foreach (var c in all)
        {
            var list = garbage.Concat(["1.0", "2.0"]).ToList();
            list.Sort(c.Compare); // must not throw (a consistent total order)
            foreach (var x in garbage)
            {
                _ = c.IsValid(x);
                Assert.Equal(0, c.Compare(x, x));
            }
        }
    }
}
