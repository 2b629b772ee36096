using Berth.Oci;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;
using Berth.Scanning.Results;

namespace Berth.Scanning.Tests.Results;

public sealed class ScanDocumentsTests
{
    private static readonly Digest Layer = Digest.Parse("sha256:" + new string('a', 64));
    private static readonly Digest DiffId = Digest.Parse("sha256:" + new string('b', 64));

    private static readonly InstalledPackage OpenSsl = new("Debian", "libssl3", "3.0.11-1~deb12u2", "openssl", null, "debian",
        "var/lib/dpkg/status", Layer.ToString(), ["Apache-2.0"]);

    [Fact]
    public void Inventory_RoundTrips_WithFacts()
    {
        var facts = new ImageFacts(ImageId: DiffId, ManifestDigest: Layer, LayerDigests: [Layer], DiffIds: [DiffId], Os: "linux",
            Architecture: "arm64", Created: new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var inventory = new ImageInventory(new OsInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)", "bookworm"),
            [OpenSsl, new InstalledPackage("PyPI", "requests", "2.31.0", null, null, "python-pkg", "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", null)]);

        var read = ScanDocuments.ReadInventory(ScanDocuments.WriteInventory(facts, inventory));

        Assert.Equal(inventory.Os, read.Inventory.Os);
        Assert.Equal(2, read.Inventory.Packages.Count);
        Assert.Equal(OpenSsl with { Licenses = null }, read.Inventory.Packages[0] with { Licenses = null });
        Assert.Equal(["Apache-2.0"], read.Inventory.Packages[0].Licenses!);
        Assert.Null(read.Inventory.Packages[1].LayerDigest);
        Assert.Equal(DiffId, read.Image.DiffIdOf(Layer.ToString()));
        Assert.Equal("arm64", read.Image.Architecture);
        Assert.Equal(facts.Created, read.Image.Created);
    }

    [Fact]
    public void Findings_RoundTrip()
    {
        var finding = new Finding("CVE-2024-0001", "DSA-1-1", ["DSA-1-1"], OpenSsl, "3.0.13-1~deb12u1", Severity.Critical, "cvss_v3",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "openssl: bad", new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), ["https://example.org/a"]);

        var read = Assert.Single(ScanDocuments.ReadFindings(ScanDocuments.WriteFindings([finding])));

        Assert.Equal(finding.VulnerabilityId, read.VulnerabilityId);
        Assert.Equal(finding.Severity, read.Severity);
        Assert.Equal(finding.FixedVersion, read.FixedVersion);
        Assert.Equal(finding.CvssScore, read.CvssScore);
        Assert.Equal(finding.Aliases, read.Aliases);
        Assert.Equal(finding.References, read.References);
        Assert.Equal("openssl", read.Package.SourceName);
        Assert.Empty(ScanDocuments.ReadFindings(ScanDocuments.WriteFindings([])));
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{\"v\":2,\"findings\":[]}")]
    [InlineData("{\"v\":1,\"findings\":[{\"vulnerabilityId\":\"CVE-1\"}]}")]
    [InlineData("{\"v\":1,\"findings\":[{\"vulnerabilityId\":\"CVE-1\",\"package\":{\"ecosystem\":\"npm\",\"name\":\"a\",\"version\":\"1\"},\"severity\":\"Apocalyptic\"}]}")]
    public void Findings_NotADocument_IsFormatException(string json) =>
        Assert.Throws<FormatException>(() => ScanDocuments.ReadFindings(json));

    [Theory]
    [InlineData("{")]
    [InlineData("{\"v\":1,\"image\":{\"layerDigests\":[\"sha256:nothex\"]}}")]
    [InlineData("{\"v\":1,\"packages\":[{\"name\":\"a\"}]}")]
    public void Inventory_NotADocument_IsFormatException(string json) =>
        Assert.Throws<FormatException>(() => ScanDocuments.ReadInventory(json));

    [Fact]
    public void Inventory_DeepNesting_IsFormatException()
    {
        var json = "{\"v\":1,\"x\":" + new string('[', 5000) + new string(']', 5000) + "}";
        Assert.Throws<FormatException>(() => ScanDocuments.ReadInventory(json));
    }
}
