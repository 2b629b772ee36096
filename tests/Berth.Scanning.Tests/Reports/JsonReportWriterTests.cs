using System.Text;
using System.Text.Json;
using Berth.Scanning.Reports;
using static Berth.Scanning.Tests.Reports.ReportFixture;

namespace Berth.Scanning.Tests.Reports;

public sealed class JsonReportWriterTests
{
    private static byte[] Write(ScanReport report)
    {
        using var stream = new MemoryStream();
        JsonReportWriter.Write(report, stream);
        return stream.ToArray();
    }

    [Fact]
    public void Write_TopLevelAndMetadata_InTrivysLayout()
    {
        using var doc = JsonDocument.Parse(Write(Report()));
        var root = doc.RootElement;

        Assert.Equal(2, root.GetProperty("SchemaVersion").GetInt32());
        Assert.Equal("2026-03-14T15:09:26Z", root.GetProperty("CreatedAt").GetString());
        Assert.Equal(Artifact, root.GetProperty("ArtifactName").GetString());
        Assert.Equal("container_image", root.GetProperty("ArtifactType").GetString());
        var metadata = root.GetProperty("Metadata");
        Assert.Equal("debian", metadata.GetProperty("OS").GetProperty("Family").GetString());
        Assert.Equal("12", metadata.GetProperty("OS").GetProperty("Name").GetString());
        Assert.Equal(Config.ToString(), metadata.GetProperty("ImageID").GetString());
        Assert.Equal([Diff1.ToString(), Diff2.ToString()], metadata.GetProperty("DiffIDs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([Artifact], metadata.GetProperty("RepoTags").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["localhost:5000/shop/api@" + Manifest], metadata.GetProperty("RepoDigests").EnumerateArray().Select(e => e.GetString()));
        var config = metadata.GetProperty("ImageConfig");
        Assert.Equal("amd64", config.GetProperty("architecture").GetString());
        Assert.Equal("linux", config.GetProperty("os").GetString());
        Assert.Equal("2026-03-01T08:00:00Z", config.GetProperty("created").GetString());
    }

    [Fact]
    public void Write_Results_OsFirst_EveryResultKept_EmptyOnesWithoutVulnerabilities()
    {
        using var doc = JsonDocument.Parse(Write(Report()));
        var results = doc.RootElement.GetProperty("Results").EnumerateArray().ToList();

        Assert.Equal(
            [(OsTarget, "os-pkgs", "debian"), ("Java", "lang-pkgs", "jar"), ("Node.js", "lang-pkgs", "node-pkg"), ("Python", "lang-pkgs", "python-pkg"),
             ("app/app.deps.json", "lang-pkgs", "dotnet-core"), ("usr/local/bin/app", "lang-pkgs", "gobinary")],
            results.Select(r => (r.GetProperty("Target").GetString(), r.GetProperty("Class").GetString(), r.GetProperty("Type").GetString())));
        Assert.False(results[4].TryGetProperty("Vulnerabilities", out _));

        using var empty = JsonDocument.Parse(Write(Report([])));
        var os = empty.RootElement.GetProperty("Results")[0];
        Assert.Equal(OsTarget, os.GetProperty("Target").GetString());
    }

    [Fact]
    public void Write_Vulnerability_AllFields()
    {
        using var doc = JsonDocument.Parse(Write(Report()));
        var java = doc.RootElement.GetProperty("Results")[1].GetProperty("Vulnerabilities")[0];

        Assert.Equal("CVE-2021-44228", java.GetProperty("VulnerabilityID").GetString());
        Assert.Equal(["GHSA-jfh8-c2jp-5v3q"], java.GetProperty("VendorIDs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("org.apache.logging.log4j:log4j-core@2.14.1", java.GetProperty("PkgID").GetString());
        Assert.Equal("org.apache.logging.log4j:log4j-core", java.GetProperty("PkgName").GetString());
        Assert.Equal("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", java.GetProperty("PkgIdentifier").GetProperty("PURL").GetString());
        Assert.Equal("2.14.1", java.GetProperty("InstalledVersion").GetString());
        Assert.Equal("2.15.0", java.GetProperty("FixedVersion").GetString());
        Assert.Equal("fixed", java.GetProperty("Status").GetString());
        Assert.Equal(Layer2.ToString(), java.GetProperty("Layer").GetProperty("Digest").GetString());
        Assert.Equal(Diff2.ToString(), java.GetProperty("Layer").GetProperty("DiffID").GetString());
        Assert.Equal("cvss_v3", java.GetProperty("SeveritySource").GetString());
        Assert.Equal("https://nvd.nist.gov/vuln/detail/CVE-2021-44228", java.GetProperty("PrimaryURL").GetString());
        Assert.Equal("Remote code injection in Log4j", java.GetProperty("Title").GetString());
        Assert.Equal("CRITICAL", java.GetProperty("Severity").GetString());
        var cvss = java.GetProperty("CVSS").GetProperty("osv");
        Assert.Equal("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", cvss.GetProperty("V3Vector").GetString());
        Assert.Equal(10.0, cvss.GetProperty("V3Score").GetDouble());
        Assert.Equal(2, java.GetProperty("References").GetArrayLength());
        Assert.Equal("2021-12-10T00:00:00Z", java.GetProperty("PublishedDate").GetString());

        var os = doc.RootElement.GetProperty("Results")[0].GetProperty("Vulnerabilities");
        var unfixed = os.EnumerateArray().Single(v => v.GetProperty("VulnerabilityID").GetString() == "CVE-2023-5678");
        Assert.Equal("affected", unfixed.GetProperty("Status").GetString());
        Assert.Equal(string.Empty, unfixed.GetProperty("FixedVersion").GetString());
        Assert.False(unfixed.TryGetProperty("CVSS", out _));
        Assert.Equal(
            ["CVE-2010-4756", "CVE-2024-2511", "CVE-2024-0727", "CVE-2023-5678", "CVE-2024-0727"],
            os.EnumerateArray().Select(v => v.GetProperty("VulnerabilityID").GetString()));
    }

    // The shape a program reading Trivy's reports binds to: exact names, case-sensitive.
    private sealed record TrivyReport(int SchemaVersion, string ArtifactName, string ArtifactType, TrivyMetadata Metadata, List<TrivyResult> Results);

    private sealed record TrivyMetadata(TrivyOs OS, string ImageID, List<string> DiffIDs, List<string> RepoTags, List<string> RepoDigests);

    private sealed record TrivyOs(string Family, string Name);

    private sealed record TrivyResult(string Target, string Class, string Type, List<TrivyVulnerability>? Vulnerabilities);

    private sealed record TrivyVulnerability(
        string VulnerabilityID, string PkgID, string PkgName, string InstalledVersion, string FixedVersion, string Status,
        TrivyLayer Layer, string? SeveritySource, string? PrimaryURL, string? Title, string Severity, List<string> References);

    private sealed record TrivyLayer(string Digest, string? DiffID);

    [Fact]
    public void Write_ReadByATrivyReportShape_CaseSensitive()
    {
        var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = false, UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip };

        var report = JsonSerializer.Deserialize<TrivyReport>(Write(Report()), options)!;

        Assert.Equal(2, report.SchemaVersion);
        Assert.Equal("debian", report.Metadata.OS.Family);
        Assert.Equal(6, report.Results.Count);
        var all = report.Results.SelectMany(r => r.Vulnerabilities ?? []).ToList();
        Assert.Equal(AllFindings.Count, all.Count);
        Assert.All(all, v =>
        {
            Assert.False(string.IsNullOrEmpty(v.VulnerabilityID));
            Assert.False(string.IsNullOrEmpty(v.PkgName));
            Assert.False(string.IsNullOrEmpty(v.InstalledVersion));
            Assert.NotNull(v.FixedVersion);
            Assert.Contains(v.Severity, new[] { "UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL" });
            Assert.StartsWith("sha256:", v.Layer.Digest, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Write_Deterministic_AndNoFactsMeansFieldsLeftOut()
    {
        Assert.Equal(Write(Report()), Write(Report(AllFindings.Reverse().ToList())));

        var bare = new ScanReport("image.tar", ImageFacts.None, new Inventory.ImageInventory(null, []), [], Now);
        using var doc = JsonDocument.Parse(Write(bare));
        var metadata = doc.RootElement.GetProperty("Metadata");
        Assert.Empty(metadata.EnumerateObject());
        Assert.Empty(doc.RootElement.GetProperty("Results").EnumerateArray());
    }

    [Fact]
    public void Write_VersionsStayGreppable_PlusNotEscaped()
    {
        var text = Encoding.UTF8.GetString(Write(Report()));

        Assert.Contains("\"InstalledVersion\": \"2.36-9+deb12u4\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_ControlCharactersInStrings_AreEscapedJson()
    {
        var finding = LodashHigh with { Title = "a\u001b[31mb\u0000c\"d" };

        var bytes = Write(Report([finding]));

        Assert.DoesNotContain(bytes, b => b < 0x20 && b is not (byte)'\n' and not (byte)'\r' and not (byte)' ');
        using var doc = JsonDocument.Parse(bytes);
        var title = doc.RootElement.GetProperty("Results")[2].GetProperty("Vulnerabilities")[0].GetProperty("Title").GetString();
        Assert.Equal("a\u001b[31mb\u0000c\"d", title);
        Assert.DoesNotContain("\u001b", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }
}
