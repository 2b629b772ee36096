using System.Text.Json;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;
using Berth.Scanning.Tests.Reports;
using static Berth.Scanning.Tests.Reports.ReportFixture;

namespace Berth.Scanning.Tests.Sbom;

public sealed class CycloneDxWriterTests
{
    private static byte[] Write(ScanReport report, bool vulnerabilities = true)
    {
        using var stream = new MemoryStream();
        CycloneDxWriter.Write(report, stream, new SbomOptions(Serial, "1.2.3"), vulnerabilities);
        return stream.ToArray();
    }

    [Fact]
    public void Write_ValidAgainstTheCycloneDx16Schema()
    {
        Assert.Empty(Schemas.CycloneDxErrors(Write(Report())));
        Assert.Empty(Schemas.CycloneDxErrors(Write(Report([]))));
        Assert.Empty(Schemas.CycloneDxErrors(Write(new ScanReport("image.tar", ImageFacts.None, new ImageInventory(null, []), [], Now))));
    }

    [Fact]
    public void SchemaCheck_CatchesABrokenDocument()
    {
        var broken = """{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"libary","name":"x"}]}"""u8.ToArray();

        Assert.NotEmpty(Schemas.CycloneDxErrors(broken));

        // The licence id enum lives in the referenced spdx.schema.json: an unknown id fails only if that reference resolves.
        var badLicence = """{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"x","licenses":[{"license":{"id":"NOT-A-LICENCE"}}]}]}"""u8.ToArray();
        var goodLicence = """{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"x","licenses":[{"license":{"id":"MIT"}}]}]}"""u8.ToArray();
        Assert.NotEmpty(Schemas.CycloneDxErrors(badLicence));
        Assert.Empty(Schemas.CycloneDxErrors(goodLicence));

        var badTimestamp = """{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"timestamp":"yesterday"}}"""u8.ToArray();
        Assert.NotEmpty(Schemas.CycloneDxErrors(badTimestamp));
    }

    [Fact]
    public void Write_HeaderAndMetadata()
    {
        using var doc = JsonDocument.Parse(Write(Report()));
        var root = doc.RootElement;

        Assert.Equal("CycloneDX", root.GetProperty("bomFormat").GetString());
        Assert.Equal("1.6", root.GetProperty("specVersion").GetString());
        Assert.Equal("urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301", root.GetProperty("serialNumber").GetString());
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        var metadata = root.GetProperty("metadata");
        Assert.Equal("2026-03-14T15:09:26Z", metadata.GetProperty("timestamp").GetString());
        var tool = metadata.GetProperty("tools").GetProperty("components")[0];
        Assert.Equal("berth", tool.GetProperty("name").GetString());
        Assert.Equal("1.2.3", tool.GetProperty("version").GetString());
        var image = metadata.GetProperty("component");
        Assert.Equal("container", image.GetProperty("type").GetString());
        Assert.Equal(Artifact, image.GetProperty("name").GetString());
        Assert.Equal(Manifest.ToString(), image.GetProperty("version").GetString());
        Assert.Equal(Manifest.Hex, image.GetProperty("hashes")[0].GetProperty("content").GetString());
        Assert.Equal($"pkg:oci/api@sha256:{Manifest.Hex}?repository_url=localhost:5000%2Fshop%2Fapi", image.GetProperty("purl").GetString());
        Assert.Equal(image.GetProperty("purl").GetString(), image.GetProperty("bom-ref").GetString());
    }

    [Fact]
    public void Write_Components_OsAndOneLibraryPerPackage()
    {
        using var doc = JsonDocument.Parse(Write(Report()));
        var components = doc.RootElement.GetProperty("components").EnumerateArray().ToList();

        var os = components[0];
        Assert.Equal("operating-system", os.GetProperty("type").GetString());
        Assert.Equal("debian", os.GetProperty("name").GetString());
        Assert.Equal("12", os.GetProperty("version").GetString());
        var libraries = components.Skip(1).ToList();
        Assert.Equal(ReportFixture.Inventory.Packages.Count, libraries.Count);
        Assert.All(libraries, c => Assert.Equal("library", c.GetProperty("type").GetString()));
        Assert.Equal(["bsdutils", "libc6", "libssl3", "openssl"], libraries.Take(4).Select(c => c.GetProperty("name").GetString()));

        var log4j = libraries.Single(c => c.GetProperty("name").GetString() == Log4j.Name);
        Assert.Equal("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", log4j.GetProperty("purl").GetString());
        Assert.Equal("Apache-2.0", log4j.GetProperty("licenses")[0].GetProperty("license").GetProperty("id").GetString());
        var properties = log4j.GetProperty("properties").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("value").GetString());
        Assert.Equal(Layer2.ToString(), properties["berth:package:layer_digest"]);
        Assert.Equal("app/lib/app.jar", properties["berth:package:file_path"]);

        var libc = libraries.Single(c => c.GetProperty("name").GetString() == "libc6");
        Assert.Equal("GPL-2+ with linking exception", libc.GetProperty("licenses")[0].GetProperty("license").GetProperty("name").GetString());
        var bsdutils = libraries.Single(c => c.GetProperty("name").GetString() == "bsdutils");
        Assert.Equal("pkg:deb/debian/bsdutils@2.38.1-5%2Bb1?distro=debian-12&epoch=1", bsdutils.GetProperty("purl").GetString());
        var sourceProps = bsdutils.GetProperty("properties").EnumerateArray().Select(p => (p.GetProperty("name").GetString(), p.GetProperty("value").GetString())).ToList();
        Assert.Contains(("berth:package:source_name", "util-linux"), sourceProps);
        Assert.Contains(("berth:package:source_version", "2.38.1-5"), sourceProps);
    }

    [Fact]
    public void Write_Dependencies_ImageHoldsOsAndLanguagePackages_OsHoldsItsPackages()
    {
        using var doc = JsonDocument.Parse(Write(Report()));
        var root = doc.RootElement;
        var imageRef = root.GetProperty("metadata").GetProperty("component").GetProperty("bom-ref").GetString();
        var refs = root.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("bom-ref").GetString()!).ToList();
        var dependencies = root.GetProperty("dependencies").EnumerateArray()
            .ToDictionary(d => d.GetProperty("ref").GetString()!, d => d.GetProperty("dependsOn").EnumerateArray().Select(e => e.GetString()!).ToList());

        Assert.Equal(refs.Count, refs.Distinct().Count());
        Assert.Equal(7, dependencies[imageRef!].Count); // the OS and six language packages
        Assert.Equal(refs[0], dependencies[imageRef!][0]);
        Assert.Equal(4, dependencies[refs[0]].Count);
        Assert.All(dependencies.Values.SelectMany(v => v), r => Assert.Contains(r, refs));
    }

    [Fact]
    public void Write_Vulnerabilities_RatingsAdvisoriesAndAffects()
    {
        using var doc = JsonDocument.Parse(Write(Report()));
        var root = doc.RootElement;
        var refs = root.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("bom-ref").GetString()).ToHashSet();
        var vulnerabilities = root.GetProperty("vulnerabilities").EnumerateArray().ToList();

        Assert.Equal(AllFindings.Select(f => f.VulnerabilityId).Distinct().Count(), vulnerabilities.Count);
        var log4shell = vulnerabilities.Single(v => v.GetProperty("id").GetString() == "CVE-2021-44228");
        var rating = log4shell.GetProperty("ratings")[0];
        Assert.Equal("critical", rating.GetProperty("severity").GetString());
        Assert.Equal(10.0, rating.GetProperty("score").GetDouble());
        Assert.Equal("CVSSv31", rating.GetProperty("method").GetString());
        Assert.Equal("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", rating.GetProperty("vector").GetString());
        Assert.Equal("GHSA-jfh8-c2jp-5v3q", log4shell.GetProperty("references")[0].GetProperty("id").GetString());
        Assert.Equal("https://nvd.nist.gov/vuln/detail/CVE-2021-44228", log4shell.GetProperty("advisories")[0].GetProperty("url").GetString());
        Assert.Equal("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", log4shell.GetProperty("affects")[0].GetProperty("ref").GetString());

        var shared = vulnerabilities.Single(v => v.GetProperty("id").GetString() == "CVE-2024-0727");
        Assert.Equal(2, shared.GetProperty("affects").GetArrayLength()); // libssl3 and openssl
        var unknown = vulnerabilities.Single(v => v.GetProperty("id").GetString() == "CVE-2010-4756");
        Assert.Equal("unknown", unknown.GetProperty("ratings")[0].GetProperty("severity").GetString());
        Assert.False(unknown.GetProperty("ratings")[0].TryGetProperty("score", out _));
        Assert.All(vulnerabilities.SelectMany(v => v.GetProperty("affects").EnumerateArray()),
            a => Assert.Contains(a.GetProperty("ref").GetString(), refs));
    }

    [Fact]
    public void Write_WithoutVulnerabilities_NoSection()
    {
        using var doc = JsonDocument.Parse(Write(Report(), vulnerabilities: false));

        Assert.False(doc.RootElement.TryGetProperty("vulnerabilities", out _));
    }

    [Fact]
    public void Write_DuplicatePackagesAndHostileNames_UniqueRefsStillValid()
    {
        var copy = Lodash with { FilePath = "other/node_modules/lodash/package.json" };
        var evil = Lodash with { Name = "ev\u001b[31mil\u0000\"<x>", FilePath = "x" };
        var orphan = Traverse with { Version = "0.0.1" }; // named by a finding only
        var report = Report([LodashHigh, LodashHigh with { Package = copy }, LodashHigh with { Package = orphan }],
            new ImageInventory(Debian, [Lodash, copy, evil]));

        var bytes = Write(report);

        Assert.Empty(Schemas.CycloneDxErrors(bytes));
        using var doc = JsonDocument.Parse(bytes);
        var refs = doc.RootElement.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("bom-ref").GetString()).ToList();
        Assert.Equal(refs.Count, refs.Distinct().Count());
        Assert.Contains(doc.RootElement.GetProperty("components").EnumerateArray(), c => c.GetProperty("name").GetString() == evil.Name);
        var affects = doc.RootElement.GetProperty("vulnerabilities")[0].GetProperty("affects").EnumerateArray().Select(a => a.GetProperty("ref").GetString()).ToList();
        Assert.Equal(3, affects.Count);
        Assert.All(affects, a => Assert.Contains(a, refs));
    }

    [Fact]
    public void KnownLicenceIds_AreAllInTheSpdxList()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Schemas.PathOf("spdx.schema.json")));
        var ids = doc.RootElement.GetProperty("enum").EnumerateArray().Select(e => e.GetString()).ToHashSet(StringComparer.Ordinal);

        Assert.All(Licenses.KnownIds.Values, id => Assert.Contains(id, ids));
    }
}
