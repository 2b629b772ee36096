using System.Text;
using Berth.Core.Scanning;

namespace Berth.Core.Tests.Scanning;

public sealed class AdvisoryRecordReaderTests
{
    private static AdvisoryRecord Read(string json) => AdvisoryRecordReader.Read(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Read_OsvRecord_CompactsKeepsStringsAndCollectsDistinctPackages()
    {
        var record = Read("""
            {
              "id": "CVE-2023-6129", "modified": "2025-01-15T04:15:28.769216Z", "withdrawn": null,
              "affected": [
                {"package": {"ecosystem": "Debian:12", "name": "openssl"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}], "versions": ["1.10", "2.0"]},
                {"package": {"ecosystem": "Debian:12", "name": "openssl"}},
                {"package": {"ecosystem": "Alpine:v3.19", "name": "openssl"}},
                {"ranges": [{"type": "GIT", "repo": "https://example.org/openssl.git", "events": [{"introduced": "0"}]}]},
                {"package": {"name": "no-ecosystem"}}
              ]
            }
            """);

        Assert.Equal("CVE-2023-6129", record.Id);
        Assert.Equal(new DateTimeOffset(2025, 1, 15, 4, 15, 28, TimeSpan.Zero).AddTicks(7692160), record.Modified);
        Assert.Null(record.Withdrawn);
        Assert.Equal([new AdvisoryPackage("Debian:12", "openssl"), new AdvisoryPackage("Alpine:v3.19", "openssl")], record.Packages);
        Assert.DoesNotContain('\n', record.Json);
        Assert.Contains("\"versions\":[\"1.10\",\"2.0\"]", record.Json, StringComparison.Ordinal);
        Assert.Contains("\"fixed\":\"3.0.13-1~deb12u1\"", record.Json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]", "a record must be a JSON object")]
    [InlineData("{\"modified\":\"2024-01-01T00:00:00Z\"}", "a record must have a string \"id\"")]
    [InlineData("{\"id\":7,\"modified\":\"2024-01-01T00:00:00Z\"}", "a record must have a string \"id\"")]
    [InlineData("{\"id\":\"  \",\"modified\":\"2024-01-01T00:00:00Z\"}", "a record must have a string \"id\"")]
    [InlineData("{\"id\":\"A B\\u0001\",\"modified\":\"2024-01-01T00:00:00Z\"}", "control characters")]
    [InlineData("{\"id\":\" X\",\"modified\":\"2024-01-01T00:00:00Z\"}", "spaces")]
    [InlineData("{\"id\":\"X\"}", "record X: \"modified\" is missing")]
    [InlineData("{\"id\":\"X\",\"modified\":\"last week\"}", "record X: \"modified\" is not an RFC 3339 time")]
    [InlineData("{\"id\":\"X\",\"modified\":20240101}", "record X: \"modified\" is not an RFC 3339 time")]
    [InlineData("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"withdrawn\":true}", "record X: \"withdrawn\" is not an RFC 3339 time")]
    [InlineData("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":{}}", "record X: \"affected\" is not an array")]
    [InlineData("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"a\\u0000b\"}}]}", "U+0000")]
    [InlineData("{\"id\":\"X\",", "not valid JSON")]
    public void Read_BadRecord_FormatExceptionSaysWhy(string json, string message)
    {
        var error = Assert.Throws<FormatException>(() => Read(json));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_HostileSizes_AreRefused()
    {
        Assert.Throws<FormatException>(() => Read(new string('[', 1000) + new string(']', 1000)));
        Assert.Throws<FormatException>(() => Read($$"""{"id":"{{new string('I', AdvisoryLimits.MaxIdLength + 1)}}","modified":"2024-01-01T00:00:00Z"}"""));
        Assert.Throws<FormatException>(() => Read($$"""{"id":"X","modified":"2024-01-01T00:00:00Z","details":"{{new string('d', AdvisoryLimits.MaxRecordBytes)}}"}"""));
        Assert.Throws<FormatException>(() => Read("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\""
            + new string('n', AdvisoryLimits.MaxNameLength + 1) + "\"}}]}"));
        var many = string.Join(",", Enumerable.Range(0, AdvisoryLimits.MaxPackagesPerRecord + 1).Select(i => "{\"package\":{\"ecosystem\":\"npm\",\"name\":\"p" + i + "\"}}"));
        Assert.Throws<FormatException>(() => Read($$"""{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{{many}}]}"""));
    }

    [Theory]
    [InlineData("PyPI", "Zope.Interface", "zope-interface")]
    [InlineData("PyPI", "ruamel__yaml", "ruamel-yaml")]
    [InlineData("PyPI", "a-._b", "a-b")]
    [InlineData("NuGet", "Newtonsoft.Json", "newtonsoft.json")]
    [InlineData("Debian:12", "OpenSSL", "OpenSSL")]
    [InlineData("npm", "@Scope/Pkg", "@Scope/Pkg")]
    [InlineData("Go", "github.com/Foo/Bar", "github.com/Foo/Bar")]
    public void Lookup_FoldsPyPiAndNuGetOnly(string ecosystem, string name, string expected) =>
        Assert.Equal(expected, AdvisoryNames.Lookup(ecosystem, name));

    [Theory]
    [InlineData(null, BlockSeverity.None)]
    [InlineData("none", BlockSeverity.None)]
    [InlineData("critical", BlockSeverity.Critical)]
    [InlineData("High", BlockSeverity.High)]
    [InlineData("MEDIUM", BlockSeverity.Medium)]
    [InlineData("low", BlockSeverity.Low)]
    public void TryParseBlockSeverity_AnyCase(string? word, BlockSeverity expected)
    {
        Assert.True(ScanWords.TryParseBlockSeverity(word, out var severity));
        Assert.Equal(expected, severity);
        Assert.Equal(expected, ScanWords.TryParseBlockSeverity(ScanWords.Of(expected), out var back) ? back : (BlockSeverity)(-1));
    }

    [Theory]
    [InlineData("")]
    [InlineData("unknown")]
    [InlineData("CRIT")]
    public void TryParseBlockSeverity_Other_False(string word) => Assert.False(ScanWords.TryParseBlockSeverity(word, out _));

    [Theory]
    [InlineData("CVE-2024-1234", true)]
    [InlineData("GHSA-jfh8-c2jp-5v3q", true)]
    [InlineData("DSA-5514-1", true)]
    [InlineData("", false)]
    [InlineData("CVE 2024", false)]
    [InlineData("CVE-2024-1234\n", false)]
    [InlineData("../etc/passwd", false)]
    public void CveAllowId_LettersDigitsAndSeparatorsOnly(string id, bool valid) => Assert.Equal(valid, CveAllowLimits.IsValidId(id));
}
