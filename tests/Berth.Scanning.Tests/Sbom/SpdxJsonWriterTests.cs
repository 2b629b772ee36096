using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;
using Berth.Scanning.Tests.Reports;
using static Berth.Scanning.Tests.Reports.ReportFixture;

namespace Berth.Scanning.Tests.Sbom;

public sealed class SpdxJsonWriterTests
{
    private static byte[] Write(ScanReport report, Guid? serial = null)
    {
        using var stream = new MemoryStream();
        SpdxJsonWriter.Write(report, stream, new SbomOptions(serial ?? Serial, "1.2.3"));
        return stream.ToArray();
    }

    [Fact]
    public void Write_ValidAgainstTheSpdx23Schema()
    {
        Assert.Empty(Schemas.SpdxErrors(Write(Report())));
        Assert.Empty(Schemas.SpdxErrors(Write(new ScanReport("image.tar", ImageFacts.None, new ImageInventory(null, []), [], Now))));
    }

    [Fact]
    public void SchemaCheck_CatchesABrokenDocument()
    {
        var broken = """{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[{"name":"x"}]}"""u8.ToArray();

        Assert.NotEmpty(Schemas.SpdxErrors(broken));
    }

    [Fact]
    public void Write_DocumentFields()
    {
        using var doc = JsonDocument.Parse(Write(Report()));
        var root = doc.RootElement;

        Assert.Equal("SPDX-2.3", root.GetProperty("spdxVersion").GetString());
        Assert.Equal("CC0-1.0", root.GetProperty("dataLicense").GetString());
        Assert.Equal("SPDXRef-DOCUMENT", root.GetProperty("SPDXID").GetString());
        Assert.Equal(Artifact, root.GetProperty("name").GetString());
        var ns = root.GetProperty("documentNamespace").GetString()!;
        Assert.True(Uri.IsWellFormedUriString(ns, UriKind.Absolute), ns);
        Assert.DoesNotContain('#', ns);
        Assert.EndsWith(Serial.ToString(), ns, StringComparison.Ordinal);
        Assert.Equal("2026-03-14T15:09:26Z", root.GetProperty("creationInfo").GetProperty("created").GetString());
        Assert.Equal(["Tool: berth-1.2.3"], root.GetProperty("creationInfo").GetProperty("creators").EnumerateArray().Select(e => e.GetString()));

        using var other = JsonDocument.Parse(Write(Report(), Guid.NewGuid()));
        Assert.NotEqual(ns, other.RootElement.GetProperty("documentNamespace").GetString());
    }

    [Fact]
    public void Write_Packages_IdsPurlsLicencesAndRelationships()
    {
        using var doc = JsonDocument.Parse(Write(Report()));
        var root = doc.RootElement;
        var packages = root.GetProperty("packages").EnumerateArray().ToList();
        var ids = packages.Select(p => p.GetProperty("SPDXID").GetString()!).ToList();

        Assert.Equal(ReportFixture.Inventory.Packages.Count + 2, packages.Count);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches(new Regex("^SPDXRef-[A-Za-z0-9.-]+$"), id));
        Assert.Equal("CONTAINER", packages[0].GetProperty("primaryPackagePurpose").GetString());
        Assert.Equal("OPERATING_SYSTEM", packages[1].GetProperty("primaryPackagePurpose").GetString());
        Assert.All(packages, p =>
        {
            Assert.Equal("NOASSERTION", p.GetProperty("downloadLocation").GetString());
            Assert.Equal("NOASSERTION", p.GetProperty("licenseConcluded").GetString());
        });

        var lodash = packages.Single(p => p.GetProperty("name").GetString() == "lodash");
        Assert.Equal("4.17.20", lodash.GetProperty("versionInfo").GetString());
        Assert.Equal("MIT", lodash.GetProperty("licenseDeclared").GetString());
        var purl = lodash.GetProperty("externalRefs")[0];
        Assert.Equal("PACKAGE-MANAGER", purl.GetProperty("referenceCategory").GetString());
        Assert.Equal("purl", purl.GetProperty("referenceType").GetString());
        Assert.Equal("pkg:npm/lodash@4.17.20", purl.GetProperty("referenceLocator").GetString());

        var libc = packages.Single(p => p.GetProperty("name").GetString() == "libc6");
        var declared = libc.GetProperty("licenseDeclared").GetString();
        Assert.Equal("LicenseRef-GPL-2--with-linking-exception", declared);
        var extracted = root.GetProperty("hasExtractedLicensingInfos").EnumerateArray().Single();
        Assert.Equal(declared, extracted.GetProperty("licenseId").GetString());
        Assert.Equal("GPL-2+ with linking exception", extracted.GetProperty("extractedText").GetString());
        Assert.Equal("built package from: glibc 2.36-9+deb12u4", libc.GetProperty("sourceInfo").GetString());
        Assert.Equal("NOASSERTION", packages.Single(p => p.GetProperty("name").GetString() == "bsdutils").GetProperty("licenseDeclared").GetString());

        var relationships = root.GetProperty("relationships").EnumerateArray()
            .Select(r => (r.GetProperty("spdxElementId").GetString(), r.GetProperty("relationshipType").GetString(), r.GetProperty("relatedSpdxElement").GetString()))
            .ToList();
        Assert.Contains(("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-ContainerImage"), relationships);
        Assert.Contains(("SPDXRef-ContainerImage", "CONTAINS", "SPDXRef-OperatingSystem"), relationships);
        var libcId = libc.GetProperty("SPDXID").GetString();
        var lodashId = lodash.GetProperty("SPDXID").GetString();
        Assert.Contains(("SPDXRef-OperatingSystem", "CONTAINS", libcId), relationships);
        Assert.Contains(("SPDXRef-ContainerImage", "CONTAINS", lodashId), relationships);
        Assert.All(relationships, r => Assert.Contains(r.Item3, ids));
        Assert.Equal(packages.Count, relationships.Count); // DESCRIBES + one CONTAINS for every other package
    }

    [Fact]
    public void Write_CollidingLicenceTexts_GetDistinctRefs()
    {
        var a = Lodash with { Licenses = ["GPL 2"] };
        var b = Jinja with { Licenses = ["GPL/2"] };

        var bytes = Write(Report([], new ImageInventory(null, [a, b])));

        Assert.Empty(Schemas.SpdxErrors(bytes));
        using var doc = JsonDocument.Parse(bytes);
        var refs = doc.RootElement.GetProperty("hasExtractedLicensingInfos").EnumerateArray().Select(e => e.GetProperty("licenseId").GetString()).ToList();
        Assert.Equal(["LicenseRef-GPL-2", "LicenseRef-GPL-2-2"], refs);
    }
}
