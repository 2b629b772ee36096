using Berth.Scanning.Extractors;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;
using Berth.Scanning.Tests.Layers;

namespace Berth.Scanning.Tests.Extractors;

public class OsPackageExtractorTests
{
    [Fact]
    public async Task Debian12_DpkgStatus_YieldsExactlyThePackagesDpkgQueryListed()
    {
        var status = await File.ReadAllBytesAsync(TestScan.TestData("debian12/bookworm-dpkg-status"));
        var osRelease = await File.ReadAllBytesAsync(TestScan.TestData("debian12/bookworm-os-release"));
        var expected = File.ReadAllLines(TestScan.TestData("debian12/bookworm-packages.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .Select(f => (Name: f[0], Version: f[1], Source: f[3], SourceVersion: f[4]))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ToList();

        // As in Debian: etc/os-release is a symlink to ../usr/lib/os-release.
        var layer = new LayerBuilder()
            .File("usr/lib/os-release", osRelease)
            .Symlink("etc/os-release", "../usr/lib/os-release")
            .File("var/lib/dpkg/status", status)
            .Layer();

        var inventory = await TestScan.InventoryAsync(layer);

        Assert.Equal(new OsInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)", "bookworm"), inventory.Os);
        var actual = inventory.Packages
            .Select(p => (p.Name, p.Version, Source: p.SourceName ?? p.Name, SourceVersion: p.SourceVersion ?? p.Version))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
        Assert.Equal(131, expected.Count);
        Assert.Equal(expected, actual);
        Assert.All(inventory.Packages, p =>
        {
            Assert.Equal(Ecosystems.Debian, p.Ecosystem);
            Assert.Equal("debian", p.Type);
            Assert.Equal("var/lib/dpkg/status", p.FilePath);
            Assert.Equal(layer.Digest, p.LayerDigest);
        });
        var bsdutils = inventory.Packages.Single(p => p.Name == "bsdutils");
        var bsdutilsRow = expected.Single(p => p.Name == "bsdutils");
        Assert.Equal(("util-linux", bsdutilsRow.SourceVersion), (bsdutils.MatchName, bsdutils.MatchVersion));
        Assert.NotEqual(bsdutils.Version, bsdutils.MatchVersion);
    }

    [Fact]
    public async Task Dpkg_OnlyInstalledPackagesCount()
    {
        const string status = """
            Package: kept
            Status: install ok installed
            Version: 1.0-1

            Package: removed
            Status: deinstall ok config-files
            Version: 2.0-1

            Package: half
            Status: install ok half-configured
            Version: 3.0-1

            Package: binnmu
            Status: install ok installed
            Source: srcpkg (4.0-2)
            Version: 4.0-2+b1
            Description: a description
             with a continuation line: Version: 9
            """;
        var layer = new LayerBuilder().File("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n").File("var/lib/dpkg/status", status).Layer();

        var inventory = await TestScan.InventoryAsync(layer);

        Assert.Equal(["binnmu", "kept"], inventory.Packages.Select(p => p.Name));
        var binnmu = inventory.Packages[0];
        Assert.Equal(("srcpkg", "4.0-2", "4.0-2+b1"), (binnmu.SourceName, binnmu.SourceVersion, binnmu.Version));
    }

    [Fact]
    public async Task Dpkg_DistrolessStatusDirectory_IsRead()
    {
        var layer = new LayerBuilder()
            .File("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
            .File("var/lib/dpkg/status.d/base-files", "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n")
            .File("var/lib/dpkg/status.d/libssl3", "Package: libssl3\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n")
            .File("var/lib/dpkg/status.d/libssl3.md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/lib/x\n")
            .Layer();

        var inventory = await TestScan.InventoryAsync(layer);

        Assert.Equal([("base-files", (string?)null), ("libssl3", "openssl")], inventory.Packages.Select(p => (p.Name, p.SourceName)));
        Assert.Equal("var/lib/dpkg/status.d/libssl3", inventory.Packages[1].FilePath);
    }

    [Fact]
    public async Task Dpkg_OnUbuntu_IsTheUbuntuEcosystem()
    {
        var layer = new LayerBuilder()
            .File("etc/os-release", "NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\n")
            .File("var/lib/dpkg/status", "Package: bash\nStatus: install ok installed\nVersion: 5.1-6ubuntu1\n")
            .Layer();

        var inventory = await TestScan.InventoryAsync(layer);

        var bash = Assert.Single(inventory.Packages);
        Assert.Equal((Ecosystems.Ubuntu, "ubuntu"), (bash.Ecosystem, bash.Type));
        Assert.Equal("22.04", inventory.Os!.VersionId);
    }

    [Fact]
    public async Task Dpkg_StatusReplacedInAnUpperLayer_UpperVersionAndDigestWin()
    {
        var lower = new LayerBuilder().File("var/lib/dpkg/status", "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10\n").Layer();
        var upper = new LayerBuilder().File("var/lib/dpkg/status", "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10+deb12u5\n").Layer();

        var inventory = await TestScan.InventoryAsync(lower, upper);

        var curl = Assert.Single(inventory.Packages);
        Assert.Equal(("7.88.1-10+deb12u5", upper.Digest), (curl.Version, curl.LayerDigest));
    }

    [Fact]
    public async Task Apk_HandBuiltDatabase_YieldsPackagesWithOriginAndLicence()
    {
        const string installed = """
            C:Q1abc=
            P:musl
            V:1.2.4-r2
            A:x86_64
            L:MIT
            o:musl
            T:the musl c library

            C:Q1def=
            P:libcrypto3
            V:3.1.4-r5
            L:Apache-2.0
            o:openssl

            """;
        var layer = new LayerBuilder()
            .File("etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n")
            .File("lib/apk/db/installed", installed)
            .Layer(LayerCompression.Zstd);

        var inventory = await TestScan.InventoryAsync(layer);

        Assert.Equal("alpine", inventory.Os!.Id);
        Assert.Equal(
            [("libcrypto3", "3.1.4-r5", "openssl", "Apache-2.0"), ("musl", "1.2.4-r2", "musl", "MIT")],
            inventory.Packages.Select(p => (p.Name, p.Version, p.MatchName, p.Licenses![0])));
        Assert.All(inventory.Packages, p => Assert.Equal((Ecosystems.Alpine, "alpine", "lib/apk/db/installed"), (p.Ecosystem, p.Type, p.FilePath)));
    }

    [Fact]
    public async Task Rpm_SqliteDatabaseMadeByRpm_YieldsPackagesForRocky()
    {
        var database = RpmDatabase.Build();
        if (database is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") is { Length: > 0 }, "rpm/rpmbuild are not installed; CI must install them (apt-get install -y rpm)");
            return;
        }

        // RHEL 9 layout: var/lib/rpm is a symlink to the database's real home.
        var layer = new LayerBuilder()
            .File("etc/os-release", "NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\n")
            .Symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm")
            .File("usr/lib/sysimage/rpm/rpmdb.sqlite", database)
            .Layer();

        var inventory = await TestScan.InventoryAsync(layer);

        Assert.Equal(
            [
                ("berth-test", "2:1.2.3-4.el9", (string?)null, "MIT and BSD"),
                ("libberth", "2:1.2.3-4.el9", "berth-test", "Apache-2.0"),
            ],
            inventory.Packages.Select(p => (p.Name, p.Version, p.SourceName, p.Licenses![0])));
        Assert.All(inventory.Packages, p => Assert.Equal((Ecosystems.Rocky, "rocky", layer.Digest), (p.Ecosystem, p.Type, p.LayerDigest)));
        Assert.Equal("usr/lib/sysimage/rpm/rpmdb.sqlite", inventory.Packages[0].FilePath);
    }

    [Theory]
    [InlineData("almalinux", Ecosystems.Alma)]
    [InlineData("rhel", Ecosystems.RedHat)]
    [InlineData("centos", Ecosystems.RedHat)]
    [InlineData("opensuse-leap", Ecosystems.OpenSuse)]
    public void RpmEcosystem_FollowsTheOsId(string id, string ecosystem) => Assert.Equal(ecosystem, OsEcosystems.RpmEcosystem(id));

    [Fact]
    public async Task Rpm_CorruptDatabase_IsAWarningNotACrash()
    {
        var layer = new LayerBuilder().File("var/lib/rpm/rpmdb.sqlite", "SQLite format 3\0 but not really").Layer();

        var result = await new InventoryScanner().ScanAsync([layer], CancellationToken.None);

        Assert.Empty(result.Inventory.Packages);
        Assert.Contains(result.Warnings, w => w.Path == "var/lib/rpm/rpmdb.sqlite");
    }

    [Fact]
    public async Task Rpm_BerkeleyDbFormat_IsReportedAsNotRead()
    {
        var layer = new LayerBuilder().File("var/lib/rpm/Packages", new byte[4096]).Layer();

        var result = await new InventoryScanner().ScanAsync([layer], CancellationToken.None);

        Assert.Contains(result.Warnings, w => w.Path == "var/lib/rpm/Packages" && w.Message.Contains("not supported", StringComparison.Ordinal));
    }

    [Fact]
    public void RpmHeader_Malformed_IsInvalidData()
    {
        Assert.Throws<InvalidDataException>(() => RpmExtractor.ParseHeader([0, 0, 0, 100, 0, 0, 0, 100, 1, 2, 3]));
        Assert.Throws<InvalidDataException>(() => RpmExtractor.ParseHeader([1, 2]));
    }

    [Fact]
    public void OsRelease_QuotesAndComments_AreParsed()
    {
        var os = OsReleaseExtractor.Parse("# comment\nID='rocky'\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky \\\"Blue\\\" Onyx\"\n");

        Assert.Equal(new OsInfo("rocky", "9.3", "Rocky \"Blue\" Onyx", null), os);
        Assert.Null(OsReleaseExtractor.Parse("NAME=nothing\n"));
    }

    [Fact]
    public async Task OsRelease_EtcWinsOverUsrLib()
    {
        var layer = new LayerBuilder().File("usr/lib/os-release", "ID=debian\nVERSION_ID=11\n").File("etc/os-release", "ID=debian\nVERSION_ID=12\n").Layer();

        var inventory = await TestScan.InventoryAsync(layer);

        Assert.Equal("12", inventory.Os!.VersionId);
    }
}
