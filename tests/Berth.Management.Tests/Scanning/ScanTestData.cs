using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Berth.Core.Scanning;
using Berth.Testing;

namespace Berth.Management.Tests.Scanning;

/// <summary>The scanning tests' image (a real Debian 12 package database in one layer) and advisories (real Debian OSV records).</summary>
internal static class ScanTestData
{
    /// <summary>
    /// The 25 Debian:12 records for sources zlib (installed 1:1.2.13.dfsg-1) and tar (1.34+dfsg-1.2+deb12u1) in the test
    /// data: all have a fixed version below the installed one (dpkg --compare-versions lt is false) except these two,
    /// which have no fix in bookworm.
    /// </summary>
    public static readonly string[] ExpectedIds = ["CVE-2005-2541", "CVE-2023-45853"];

    public static readonly string[] RecordFiles =
    [
        "CVE/2002/CVE-2002-1216", "CVE/2003/CVE-2003-0107", "CVE/2004/CVE-2004-0797", "CVE/2005/CVE-2005-1849", "CVE/2005/CVE-2005-1918",
        "CVE/2005/CVE-2005-2096", "CVE/2005/CVE-2005-2541", "CVE/2006/CVE-2006-0300", "CVE/2006/CVE-2006-6097", "CVE/2007/CVE-2007-4131",
        "CVE/2007/CVE-2007-4476", "CVE/2010/CVE-2010-0624", "CVE/2016/CVE-2016-6321", "CVE/2017/CVE-2016-9840", "CVE/2017/CVE-2016-9841",
        "CVE/2017/CVE-2016-9842", "CVE/2017/CVE-2016-9843", "CVE/2018/CVE-2018-20482", "CVE/2019/CVE-2019-9923", "CVE/2021/CVE-2021-20193",
        "CVE/2022/CVE-2018-25032", "CVE/2022/CVE-2022-37434", "CVE/2023/CVE-2022-48303", "CVE/2023/CVE-2023-45853", "CVE/2024/CVE-2023-39804",
    ];

    /// <summary>Imports <see cref="RecordFiles"/> into the advisory store and finishes the import; answers the new version.</summary>
    public static async Task<long> ImportAsync(ManagementApp app)
    {
        var store = app.Service<IAdvisoryStore>();
        var now = app.App.Clock.GetUtcNow();
        var start = await store.BeginImportAsync("osv-debian", "test", now, TimeSpan.FromMinutes(5), CancellationToken.None);
        Assert.Equal(AdvisoryImportStartStatus.Started, start.Status);
        var records = RecordFiles.Select(f => AdvisoryRecordReader.Read(File.ReadAllBytes(Path.Combine(TestData("vulndb"), "debian", "osv", f + ".json")))).ToList();
        await store.AddBatchAsync(start.Import.Id, records, now, CancellationToken.None);
        var finished = await store.FinishImportAsync(start.Import.Id, now, CancellationToken.None);
        return finished.Import!.Version!.Value;
    }

    public sealed record Layer(byte[] Compressed, string DiffId);

    public static Layer DebianLayer()
    {
        var tar = Tar(
            ("etc/os-release", File.ReadAllBytes(Path.Combine(TestData("debian12"), "bookworm-os-release"))),
            ("var/lib/dpkg/status", File.ReadAllBytes(Path.Combine(TestData("debian12"), "bookworm-dpkg-status"))));
        return new Layer(Gzip(tar), TestImages.Sha256(tar));
    }

    public static TestManifest DebianImage(out string layerDigest)
    {
        var layer = DebianLayer();
        layerDigest = TestImages.Sha256(layer.Compressed);
        return Image(layer.Compressed, layer.DiffId);
    }

    public static TestManifest Image(byte[] layer, string? diffId)
    {
        var diffIds = diffId is null ? string.Empty : "\"" + diffId + "\"";
        var config = Encoding.UTF8.GetBytes("""{"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z","rootfs":{"type":"layers","diff_ids":[""" + diffIds + """]},"config":{}}""");
        var body = TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, config), [TestDescriptor.Of(TestImages.OciLayer, layer)]);
        return new TestManifest(TestImages.OciManifest, body, [config, layer], []);
    }

    public static byte[] Tar(params (string Name, byte[] Content)[] files)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }

        return buffer.ToArray();
    }

    public static byte[] Gzip(byte[] content)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return buffer.ToArray();
    }

    public static string TestData(string folder)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "testdata", folder);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"tests/testdata/{folder} not found above {AppContext.BaseDirectory}");
    }
}
