using Berth.Scanning.Inventory;

namespace Berth.Scanning.Tests;

public sealed class ModelTests
{
    [Fact]
    public void OsPackage_IsMatchedBySourceNameAndVersion()
    {
        var p = new InstalledPackage(Ecosystems.Debian, "libssl3", "3.0.15-1~deb12u1", "openssl", null, "debian", "var/lib/dpkg/status", null);
        Assert.Equal("openssl", p.MatchName);
        Assert.Equal("3.0.15-1~deb12u1", p.MatchVersion);

        var binNmu = new InstalledPackage(Ecosystems.Debian, "bash", "5.2.15-2+b13", "bash", "5.2.15-2", "debian", "var/lib/dpkg/status", null);
        Assert.Equal("5.2.15-2", binNmu.MatchVersion);
    }

    [Fact]
    public void LibraryPackage_IsMatchedByItsOwnName()
    {
        var p = new InstalledPackage(Ecosystems.Npm, "lodash", "4.17.20", null, null, "node-pkg", "app/node_modules/lodash/package.json", null);
        Assert.Equal("lodash", p.MatchName);
        Assert.Equal("4.17.20", p.MatchVersion);
    }
}
