using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Berth.Scanning.Advisories;
using Berth.Scanning.Tests.Matching;

namespace Berth.Scanning.Tests.Advisories;

/// <summary>Reading OSV records from a folder or zip as published: JSON as is, YAML converted, everything else skipped or reported.</summary>
public sealed class OsvFilesTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "berth-osvfiles-" + Guid.NewGuid().ToString("N"));

    public OsvFilesTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RealPyPaYaml_BecomesJsonTheParserReads_WithVersionsKeptAsText()
    {
        var files = OsvFiles.Read(VulnDbTestData.PathOf("pypa")).ToList();
        Assert.NotEmpty(files);
        Assert.All(files, f =>
        {
            Assert.Null(f.Error);
            Assert.True(OsvParser.TryParse(f.Json.Span, out var record, out var error), f.Path + ": " + error);
            Assert.StartsWith("PYSEC-", record!.Id, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Yaml_ScalarsStayStrings_ExceptPlainBooleansAndNull()
    {
        var json = OsvFiles.YamlToJson(Encoding.UTF8.GetBytes("id: X-1\nversions:\n- 1.10\n- '2.0'\n- 010\nwithdrawn:\nflag: true\nquoted: 'true'\n"));
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(["1.10", "2.0", "010"], root.GetProperty("versions").EnumerateArray().Select(v => v.GetString()!));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("withdrawn").ValueKind);
        Assert.True(root.GetProperty("flag").GetBoolean());
        Assert.Equal("true", root.GetProperty("quoted").GetString());
    }

    [Theory]
    [InlineData("a: &x [1, 2]\nb: *x\n", "aliases")]
    [InlineData("a: 1\n---\nb: 2\n", "more than one document")]
    [InlineData("a: [unclosed\n", "not valid YAML")]
    [InlineData("- a\n- b\n", "one YAML mapping")]
    [InlineData("a: 1\na: 2\n", "appears twice")]
    public void HostileOrBrokenYaml_IsReportedNotThrown(string yaml, string why)
    {
        File.WriteAllText(Path.Combine(_dir, "bad.yaml"), yaml);
        var file = Assert.Single(OsvFiles.Read(_dir));
        Assert.Contains(why, file.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void DeepNesting_IsRefused()
    {
        File.WriteAllText(Path.Combine(_dir, "deep.yaml"), "a: " + new string('[', 200) + new string(']', 200) + "\n");
        var file = Assert.Single(OsvFiles.Read(_dir));
        Assert.Contains("deeper", file.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Folder_OtherFilesSkippedAndCounted_OversizeReported()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        File.WriteAllText(Path.Combine(_dir, "sub", "A-1.json"), """{"id":"A-1"}""");
        File.WriteAllText(Path.Combine(_dir, "README.md"), "not a record");
        File.WriteAllText(Path.Combine(_dir, "B-1.yml"), "id: B-1\n");
        File.WriteAllBytes(Path.Combine(_dir, "huge.json"), new byte[OsvFiles.MaxFileBytes + 1]);
        var walk = new OsvFiles.Walk();

        var files = OsvFiles.Read(_dir, walk).ToList();

        Assert.Equal(1, walk.Skipped);
        Assert.Equal(["B-1.yml", "huge.json", Path.Combine("sub", "A-1.json")], files.Select(f => f.Path));
        Assert.Contains("larger than", files[1].Error, StringComparison.Ordinal);
        Assert.Null(files[0].Error);
    }

    [Fact]
    public void Zip_EntriesRead_SizesNotTrusted()
    {
        var zip = Path.Combine(_dir, "db.zip");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            using (var w = new StreamWriter(archive.CreateEntry("GHSA-1.json").Open()))
            {
                w.Write("""{"id":"GHSA-1"}""");
            }

            using (var w = new StreamWriter(archive.CreateEntry("x/PYSEC-1.yaml").Open()))
            {
                w.Write("id: PYSEC-1\n");
            }

            using (var s = archive.CreateEntry("bomb.json", CompressionLevel.Optimal).Open())
            {
                s.Write(new byte[OsvFiles.MaxFileBytes + 100]);
            }

            archive.CreateEntry("notes.txt");
        }

        var walk = new OsvFiles.Walk();
        var files = OsvFiles.Read(zip, walk).ToList();
        Assert.Equal(["GHSA-1.json", "bomb.json", "x/PYSEC-1.yaml"], files.Select(f => f.Path));
        Assert.Contains("larger than", files[1].Error, StringComparison.Ordinal);
        Assert.Equal("PYSEC-1", JsonDocument.Parse(files[2].Json).RootElement.GetProperty("id").GetString());
        Assert.Equal(1, walk.Skipped);
    }

    [Fact]
    public void MissingPath_IsAClearError()
    {
        var error = Assert.Throws<FileNotFoundException>(() => OsvFiles.Read(Path.Combine(_dir, "nope")).ToList());
        Assert.Contains("no such file or folder", error.Message, StringComparison.Ordinal);
    }
}
