using System.Text.Json;
using Berth.Scanning.Advisories;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Matching;
using YamlDotNet.Serialization;

namespace Berth.Scanning.Tests.Matching;

/// <summary>npm (GHSA), PyPI (PyPA, YAML) and Go (golang/vulndb) records as published, against chosen installed versions.</summary>
public sealed class LanguageMatchingTests
{
    private static List<OsvRecord> LoadJson(string dir) =>
        Directory.EnumerateFiles(VulnDbTestData.PathOf(dir), "*.json", SearchOption.AllDirectories)
            .Select(f => OsvParser.TryParse(File.ReadAllBytes(f), out var r, out var e) ? r : throw new InvalidDataException(f + ": " + e))
            .ToList();

    /// <summary>The PyPA YAML records converted to JSON text here (the importer's converter is another piece).</summary>
    private static List<OsvRecord> LoadPyPa()
    {
        var yaml = new DeserializerBuilder().Build();
        return Directory.EnumerateFiles(VulnDbTestData.PathOf("pypa"), "*.yaml", SearchOption.AllDirectories)
            .Select(f =>
            {
                var json = JsonSerializer.Serialize(ToJsonable(yaml.Deserialize<object>(File.ReadAllText(f))));
                return OsvParser.TryParse(json, out var r, out var e) ? r : throw new InvalidDataException(f + ": " + e);
            })
            .ToList();
    }

    private static object? ToJsonable(object? node) => node switch
    {
        IDictionary<object, object> map => map.ToDictionary(kv => kv.Key.ToString()!, kv => ToJsonable(kv.Value)),
        IList<object> list => list.Select(ToJsonable).ToList(),
        _ => node,
    };

    private static InstalledPackage Pkg(string ecosystem, string name, string version, string type) =>
        new(ecosystem, name, version, null, null, type, "app/" + name, "sha256:" + new string('b', 64));

    private static async Task<IReadOnlyList<Finding>> Match(IEnumerable<OsvRecord> records, params InstalledPackage[] packages) =>
        await new VulnerabilityMatcher(new InMemoryAdvisorySource(records)).MatchAsync(new ImageInventory(null, packages));

    [Fact]
    public async Task Npm_GhsaRecords()
    {
        var findings = await Match(LoadJson("ghsa"),
            Pkg("npm", "lodash", "4.17.20", "node-pkg"),
            Pkg("npm", "minimist", "1.2.0", "node-pkg"),
            Pkg("npm", "qs", "6.5.2", "node-pkg"),
            Pkg("npm", "semver", "7.5.1", "node-pkg"),
            Pkg("npm", "express", "5.0.0-beta.1", "node-pkg"),
            Pkg("npm", "lodash.trim", "4.5.1", "node-pkg"),
            Pkg("npm", "axios", "0.21.1", "node-pkg"),
            Pkg("npm", "jsonwebtoken", "9.0.0", "node-pkg"),
            Pkg("npm", "Lodash", "4.17.0", "node-pkg")); // npm names are exact: no match

        var got = findings.Select(f => (f.Package.Name, f.VulnerabilityId, f.FixedVersion)).OrderBy(x => x).ToList();
        (string, string, string?)[] expected =
        [
            ("axios", "CVE-2021-3749", "0.21.2"),
            ("axios", "CVE-2023-45857", "1.6.0"), // introduced 0.8.1
            ("express", "CVE-2024-29041", "5.0.0-beta.3"), // prerelease inside 5.0.0-alpha.1 .. 5.0.0-beta.3
            ("express", "CVE-2024-43796", "5.0.0"),
            ("lodash", "CVE-2020-28500", "4.17.21"),
            ("lodash", "CVE-2021-23337", "4.17.21"), // not CVE-2020-8203: fixed in 4.17.20 exactly
            ("lodash.trim", "CVE-2020-28500", null), // last_affected 4.5.1 is inclusive, no fix
            ("minimist", "CVE-2020-7598", "1.2.3"), // and not the withdrawn GHSA-7fhm-mqm4-2wp7
            ("minimist", "CVE-2021-44906", "1.2.6"),
            ("qs", "CVE-2022-24999", "6.5.3"), // one of nine ranges
            ("semver", "CVE-2022-25883", "7.5.2"),
        ];
        Assert.Equal(expected.OrderBy(x => x).ToList(), got);

        var axios = findings.Single(f => f.VulnerabilityId == "CVE-2023-45857");
        Assert.Equal("GHSA-wf5p-g6vw-rhxx", axios.AdvisoryId);
        Assert.Equal((Severity.Medium, "database_specific"), (axios.Severity, axios.SeveritySource)); // no CVSS: MODERATE
        var minimist = findings.Single(f => f.VulnerabilityId == "CVE-2021-44906");
        Assert.Equal("cvss_v3", minimist.SeveritySource);
        Assert.Equal(Severity.Critical, minimist.Severity);
        Assert.NotNull(minimist.Title);
        Assert.NotEmpty(minimist.References);
        Assert.NotNull(minimist.Published);
    }

    [Fact]
    public async Task PyPI_PyPaYamlRecords_NamesNormalised()
    {
        var findings = await Match(LoadPyPa(),
            Pkg("PyPI", "urllib3", "1.26.4", "python-pkg"),
            Pkg("PyPI", "Requests", "2.25.1", "python-pkg"),
            Pkg("PyPI", "Jinja2", "3.1.4", "python-pkg"),
            Pkg("PyPI", "PyYAML", "5.3", "python-pkg"),
            Pkg("PyPI", "setuptools", "not-a-version", "python-pkg"));

        var ids = findings.Select(f => (f.Package.Name, f.VulnerabilityId)).ToHashSet();
        Assert.Contains(("urllib3", "CVE-2021-33503"), ids); // < 1.26.5
        Assert.Contains(("urllib3", "CVE-2023-43804"), ids); // < 1.26.17
        Assert.DoesNotContain(("urllib3", "CVE-2021-28363"), ids); // 1.26.0 <= v < 1.26.4: fixed exactly at 1.26.4
        Assert.Contains(("Requests", "CVE-2023-32681"), ids); // 2.3.0 <= v < 2.31.0
        Assert.DoesNotContain(("Requests", "CVE-2018-18074"), ids); // fixed in 2.20.0
        Assert.Contains(findings, f => f.Package.Name == "PyYAML"); // advisories name it "pyyaml"
        Assert.DoesNotContain(findings, f => f.Package.Name == "setuptools"); // unparsable: only explicit versions could match
        Assert.Equal("1.26.5", findings.Single(f => f.VulnerabilityId == "CVE-2021-33503").FixedVersion);
        Assert.StartsWith("PYSEC-", findings.Single(f => f.VulnerabilityId == "CVE-2023-32681").AdvisoryId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Go_VulnDbRecords_WithVPrefixedVersions()
    {
        var findings = await Match(LoadJson("golang-vulndb"),
            Pkg("Go", "golang.org/x/text", "v0.3.7", "gobinary"),
            Pkg("Go", "github.com/gin-gonic/gin", "v1.9.0", "gobinary"),
            Pkg("Go", "golang.org/x/net", "v0.999.0", "gobinary"));

        var text = findings.Where(f => f.Package.Name == "golang.org/x/text").Select(f => (f.VulnerabilityId, f.FixedVersion)).Order().ToList();
        Assert.Equal([("CVE-2022-32149", "0.3.8"), ("CVE-2026-56852", "0.39.0")], text); // not CVE-2021-38561: fixed at 0.3.7
        var gin = Assert.Single(findings, f => f.Package.Name == "github.com/gin-gonic/gin");
        Assert.Equal(("CVE-2023-29401", "GO-2023-1737", "1.9.1"), (gin.VulnerabilityId, gin.AdvisoryId, gin.FixedVersion));
        Assert.Contains(gin.Aliases, a => a.StartsWith("GHSA-", StringComparison.Ordinal));
    }
}
