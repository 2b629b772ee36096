using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;

namespace Berth.Scanning.Tests.Sbom;

public sealed class PackageUrlTests
{
    private static readonly OsInfo Debian12 = new("debian", "12", null, "bookworm");

    private static InstalledPackage P(string ecosystem, string name, string version) =>
        new(ecosystem, name, version, null, null, "t", "f", null);

    [Theory]
    [InlineData("Debian", "libssl3", "3.0.11-1~deb12u2", "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12")]
    [InlineData("Debian", "bsdutils", "1:2.38.1-5+b1", "pkg:deb/debian/bsdutils@2.38.1-5%2Bb1?distro=debian-12&epoch=1")]
    [InlineData("Debian", "libstdc++6", "12.2.0-14", "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?distro=debian-12")]
    [InlineData("PyPI", "Jinja2", "3.1.2", "pkg:pypi/jinja2@3.1.2")]
    [InlineData("PyPI", "typing_extensions", "4.8.0", "pkg:pypi/typing-extensions@4.8.0")]
    [InlineData("npm", "lodash", "4.17.20", "pkg:npm/lodash@4.17.20")]
    [InlineData("npm", "@babel/traverse", "7.22.0", "pkg:npm/%40babel/traverse@7.22.0")]
    [InlineData("Go", "golang.org/x/net", "v0.17.0", "pkg:golang/golang.org/x/net@v0.17.0")]
    [InlineData("Go", "stdlib", "v1.21.3", "pkg:golang/stdlib@v1.21.3")]
    [InlineData("NuGet", "System.Text.Json", "8.0.0", "pkg:nuget/System.Text.Json@8.0.0")]
    [InlineData("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")]
    [InlineData("Maven", "junit", "4.13", "pkg:maven/junit@4.13")]
    [InlineData("Cargo", "serde", "1.0.0", "pkg:generic/serde@1.0.0")]
    public void For_EachEcosystem(string ecosystem, string name, string version, string expected)
    {
        Assert.Equal(expected, PackageUrl.For(P(ecosystem, name, version), Debian12));
    }

    [Fact]
    public void For_Alpine_DistroIsTheRelease()
    {
        var p = P("Alpine", "musl", "1.2.4-r2");

        Assert.Equal("pkg:apk/alpine/musl@1.2.4-r2?distro=3.19.1", PackageUrl.For(p, new OsInfo("alpine", "3.19.1", null, null)));
    }

    [Theory]
    [InlineData("Rocky Linux", "rocky", "9.3", "pkg:rpm/rocky/openssl-libs@3.0.7-25.el9_3?distro=rocky-9.3&epoch=1")]
    [InlineData("Red Hat", "rhel", "9.3", "pkg:rpm/redhat/openssl-libs@3.0.7-25.el9_3?distro=rhel-9.3&epoch=1")]
    [InlineData("AlmaLinux", "almalinux", "9.3", "pkg:rpm/almalinux/openssl-libs@3.0.7-25.el9_3?distro=almalinux-9.3&epoch=1")]
    public void For_Rpm_EpochBecomesAQualifier(string ecosystem, string osId, string osVersion, string expected)
    {
        Assert.Equal(expected, PackageUrl.For(P(ecosystem, "openssl-libs", "1:3.0.7-25.el9_3"), new OsInfo(osId, osVersion, null, null)));
    }

    [Fact]
    public void For_NoOs_NoDistroQualifier()
    {
        Assert.Equal("pkg:deb/debian/bash@5.2.15-2%2Bb2", PackageUrl.For(P("Debian", "bash", "5.2.15-2+b2"), null));
    }

    [Fact]
    public void For_ColonThatIsNotAnEpoch_StaysInTheVersion()
    {
        Assert.Equal("pkg:deb/debian/x@a:1?distro=debian-12", PackageUrl.For(P("Debian", "x", "a:1"), Debian12));
    }

    [Fact]
    public void Build_PercentEncodesEachPart_SortsAndDropsEmptyQualifiers()
    {
        var purl = PackageUrl.Build("Generic", "my ns/sub", "caf\u00e9 name/x@y", "1.0+local#1",
            [new("Repository_URL", "a b&c=d"), new("arch", "amd64"), new("empty", ""), new("none", null)], "lib/./../x y");

        Assert.Equal("pkg:generic/my%20ns/sub/caf%C3%A9%20name%2Fx%40y@1.0%2Blocal%231?arch=amd64&repository_url=a%20b%26c%3Dd#lib/x%20y", purl);
    }

    [Fact]
    public void Build_EncodedPartsDecodeBackToTheOriginal()
    {
        const string name = "we!rd*'()name%20\u00fc\ud83d\ude00";

        var purl = PackageUrl.Build("generic", null, name, "1");

        var encoded = purl["pkg:generic/".Length..purl.LastIndexOf('@')];
        Assert.DoesNotContain(encoded, c => c > 0x7e || c is '!' or '*' or '\'' or '(' or ')' or ' ');
        Assert.Equal(name, Uri.UnescapeDataString(encoded));
    }

    [Fact]
    public void WithoutVersion_CutsVersionQualifiersAndSubpath()
    {
        Assert.Equal("pkg:deb/debian/openssl", PackageUrl.WithoutVersion("pkg:deb/debian/openssl@3.0.11?distro=debian-12"));
        Assert.Equal("pkg:npm/%40babel/traverse", PackageUrl.WithoutVersion("pkg:npm/%40babel/traverse@7.22.0"));
        Assert.Equal("pkg:npm/left-pad", PackageUrl.WithoutVersion("pkg:npm/left-pad"));
    }
}
