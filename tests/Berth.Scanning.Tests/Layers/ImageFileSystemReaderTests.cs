using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Tests.Layers;

public class ImageFileSystemReaderTests
{
    private static readonly Func<string, bool> All = _ => true;

    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    [InlineData(LayerCompression.None)]
    public async Task ReadAsync_EachCompression_ReadsFilesWithTheLayerDigest(LayerCompression compression)
    {
        var layer = new LayerBuilder().Directory("etc").File("etc/hello", "hi").Layer(compression);

        var files = await TestScan.FilesAsync([layer], All);

        Assert.Equal(("hi"), files["etc/hello"].Text);
        Assert.Equal(layer.Digest, files["etc/hello"].Layer);
    }

    [Theory]
    [InlineData(LayerCompression.Zstd, LayerDecompression.OciLayerGzip)]
    [InlineData(LayerCompression.Gzip, LayerDecompression.OciLayerTar)]
    [InlineData(LayerCompression.None, LayerDecompression.DockerLayerGzip)]
    [InlineData(LayerCompression.Gzip, LayerDecompression.OciNonDistributableZstd)]
    public async Task ReadAsync_MediaTypeLies_BytesAreSniffed(LayerCompression actual, string declared)
    {
        var layer = new LayerBuilder().File("a/b", "content").Layer(actual, declared);

        var files = await TestScan.FilesAsync([layer], All);

        Assert.Equal("content", files["a/b"].Text);
    }

    [Theory]
    [InlineData(TarEntryFormat.Pax)]
    [InlineData(TarEntryFormat.Gnu)]
    [InlineData(TarEntryFormat.V7)]
    public async Task ReadAsync_LongNamesInEachTarFormat_AreRead(TarEntryFormat format)
    {
        // V7 only has 100 bytes; PAX and GNU (long-name records) have no limit.
        var deep = format == TarEntryFormat.V7
            ? "usr/lib/python3/dist-packages/x.dist-info/METADATA"
            : string.Join('/', Enumerable.Repeat("a-rather-long-directory-name", 20)) + "/package.json";
        var layer = new LayerBuilder { Format = format }.File(deep, "deep").Layer();

        var files = await TestScan.FilesAsync([layer], All);

        Assert.Equal("deep", Assert.Single(files).Value.Text);
        Assert.True(files.ContainsKey(deep));
    }

    [Fact]
    public async Task ReadAsync_UstarPrefixField_IsJoinedToTheName()
    {
        var prefix = string.Join('/', Enumerable.Repeat("directory-name", 10));
        var tar = new byte[512 * 4];
        var header = new byte[512];
        WriteHeader(header, "node_modules/x/package.json", '0', 2, prefix);
        header.CopyTo(tar, 0);
        "{}"u8.CopyTo(tar.AsSpan(512));

        var files = await TestScan.FilesAsync([LayerBuilder.ToLayer(tar, LayerDecompression.OciLayerTar)], All);

        Assert.Equal(prefix + "/node_modules/x/package.json", Assert.Single(files).Key);
    }

    [Fact]
    public async Task ReadAsync_FileDeletedByUpperWhiteout_IsNotSeen()
    {
        var lower = new LayerBuilder().File("etc/keep", "k").File("etc/gone", "g").Layer();
        var upper = new LayerBuilder().Whiteout("etc/gone").Layer();

        var files = await TestScan.FilesAsync([lower, upper], All);

        Assert.Equal(["etc/keep"], files.Keys);
    }

    [Fact]
    public async Task ReadAsync_DirectoryWhitedOut_HidesEverythingBelowIt()
    {
        var lower = new LayerBuilder().File("opt/app/a", "a").File("opt/app/sub/b", "b").File("opt/other", "o").Layer();
        var upper = new LayerBuilder().Whiteout("opt/app").Layer();

        var files = await TestScan.FilesAsync([lower, upper], All);

        Assert.Equal(["opt/other"], files.Keys);
    }

    [Fact]
    public async Task ReadAsync_OpaqueDirectory_HidesLowerContentButKeepsItsOwn()
    {
        var lower = new LayerBuilder().File("app/old.txt", "old").File("app/sub/deep.txt", "deep").File("other.txt", "x").Layer();
        var middle = new LayerBuilder().Opaque("app").File("app/new.txt", "new").Layer();
        var top = new LayerBuilder().File("app/top.txt", "top").Layer();

        var files = await TestScan.FilesAsync([lower, middle, top], All);

        Assert.Equal(["app/new.txt", "app/top.txt", "other.txt"], files.Keys.Order());
        Assert.Equal(middle.Digest, files["app/new.txt"].Layer);
    }

    [Fact]
    public async Task ReadAsync_FileReAddedAbove_UpperContentAndDigestWin()
    {
        var bottom = new LayerBuilder().File("etc/config", "v1").Layer();
        var middle = new LayerBuilder().Whiteout("etc/config").Layer();
        var top = new LayerBuilder().File("etc/config", "v3").Layer();

        var files = await TestScan.FilesAsync([bottom, middle, top], All);

        Assert.Equal(("v3"), files["etc/config"].Text);
        Assert.Equal(top.Digest, files["etc/config"].Layer);
    }

    [Fact]
    public async Task ReadAsync_DirectoryReplacedByFileAbove_HidesLowerChildren()
    {
        var lower = new LayerBuilder().File("data/inner/file", "x").Layer();
        var upper = new LayerBuilder().File("data/inner", "now a file").Layer();

        var files = await TestScan.FilesAsync([lower, upper], All);

        Assert.Equal(["data/inner"], files.Keys);
    }

    [Fact]
    public async Task ReadAsync_DirectoryOverAFileOverADirectory_HidesTheBottomChildren()
    {
        // Overlay semantics: the middle layer's file replaced the directory, and the top layer's new directory starts empty.
        var bottom = new LayerBuilder().File("data/x", "bottom").Layer();
        var middle = new LayerBuilder().File("data", "a file").Layer();
        var top = new LayerBuilder().Directory("data").File("data/y", "top").Layer();

        var files = await TestScan.FilesAsync([bottom, middle, top], All);

        Assert.Equal(["data/y"], files.Keys);
    }

    [Fact]
    public async Task ReadAsync_ManyFilesInManyDirectoriesBelowWhiteouts_AreSortedOutPerDirectory()
    {
        var lower = new LayerBuilder();
        for (var d = 0; d < 50; d++)
        {
            for (var f = 0; f < 20; f++)
            {
                lower.File($"srv/d{d}/sub/f{f}", $"{d}/{f}");
            }
        }

        var upper = new LayerBuilder();
        for (var d = 0; d < 50; d += 2)
        {
            upper.Whiteout($"srv/d{d}");
        }

        var files = await TestScan.FilesAsync([lower.Layer(), upper.Layer()], All);

        Assert.Equal(25 * 20, files.Count);
        Assert.All(files.Keys, k => Assert.True(int.Parse(k.Split('/')[1][1..], System.Globalization.CultureInfo.InvariantCulture) % 2 == 1, k));
    }

    [Fact]
    public async Task ReadAsync_PathDeeperThanTheCap_IsRefused()
    {
        var deep = string.Join('/', Enumerable.Repeat("d", 300)) + "/file";
        var layer = new LayerBuilder().File(deep, "x").Layer();

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([layer], All));

        Assert.Contains("more than 256 directories deep", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_SameFileInUpperLayerWithoutWhiteout_OnlyUpperIsSeen()
    {
        var lower = new LayerBuilder().File("f", "lower").Layer();
        var upper = new LayerBuilder().File("f", "upper").Layer();
        var seen = new List<string>();

        await new ImageFileSystemReader().ReadAsync([lower, upper], [new FileRequest("t", All, 100)], (file, _) =>
        {
            seen.Add(Encoding.UTF8.GetString(file.Content.Span));
            return ValueTask.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal(["upper"], seen);
    }

    [Fact]
    public async Task ReadAsync_AbsoluteAndDotPaths_AreNormalised()
    {
        var layer = new LayerBuilder().File("/etc/os-release", "ID=x").File("./usr/./lib/a", "a").File("opt/x/../y", "y").Layer();

        var files = await TestScan.FilesAsync([layer], All);

        Assert.Equal(["etc/os-release", "opt/y", "usr/lib/a"], files.Keys.Order());
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("a/../../etc/passwd")]
    [InlineData("/../../root/.ssh/authorized_keys")]
    public async Task ReadAsync_PathTraversal_IsAScanError(string name)
    {
        var layer = new LayerBuilder().File(name, "evil").Layer();

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([layer], All));

        Assert.Contains("path traversal", error.Message, StringComparison.Ordinal);
        Assert.Contains(layer.Digest, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_SymlinkedFixedPath_YieldsTheTargetUnderTheAskedName()
    {
        // Debian: etc/os-release -> ../usr/lib/os-release. Here the target is not itself wanted, so a second pass reads it.
        var lower = new LayerBuilder().File("usr/share/real-os-release", "ID=debian").Layer();
        var upper = new LayerBuilder().Symlink("etc/os-release", "../usr/share/real-os-release").Layer();

        var files = await TestScan.FilesAsync([lower, upper], p => p == "etc/os-release", exactPaths: ["etc/os-release"]);

        Assert.Equal(("ID=debian"), files["etc/os-release"].Text);
        Assert.Equal(lower.Digest, files["etc/os-release"].Layer);
    }

    [Fact]
    public async Task ReadAsync_SymlinkedDirectoryInThePath_IsFollowed()
    {
        // RHEL 9: var/lib/rpm -> ../../usr/lib/sysimage/rpm (absolute target here).
        var layer = new LayerBuilder()
            .Symlink("var/lib/rpm", "/usr/lib/sysimage/rpm")
            .File("usr/lib/sysimage/rpm/db", "rows")
            .Layer();

        var files = await TestScan.FilesAsync([layer], p => p == "var/lib/rpm/db", exactPaths: ["var/lib/rpm/db"]);

        Assert.Equal(("rows"), files["var/lib/rpm/db"].Text);
    }

    [Fact]
    public async Task ReadAsync_SymlinkDeletedAbove_IsNotFollowed()
    {
        var lower = new LayerBuilder().File("real", "x").Symlink("etc/wanted", "../real").Layer();
        var upper = new LayerBuilder().Whiteout("etc/wanted").Layer();

        var files = await TestScan.FilesAsync([lower, upper], p => p == "etc/wanted", exactPaths: ["etc/wanted"]);

        Assert.Empty(files);
    }

    [Fact]
    public async Task ReadAsync_SymlinkLoop_IsAScanErrorNotAHang()
    {
        var layer = new LayerBuilder().Symlink("etc/os-release", "loop-a").Symlink("etc/loop-a", "loop-b").Symlink("etc/loop-b", "os-release").Layer();

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([layer], p => p == "etc/os-release", exactPaths: ["etc/os-release"]));

        Assert.Contains("symlink loop", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_HardLinkToUnwantedFile_YieldsItsContent()
    {
        var layer = new LayerBuilder().File("var/backups/status.bak", "Package: x").HardLink("var/lib/dpkg/status", "var/backups/status.bak").Layer();

        var files = await TestScan.FilesAsync([layer], p => p == "var/lib/dpkg/status");

        Assert.Equal(("Package: x"), files["var/lib/dpkg/status"].Text);
        Assert.Equal(layer.Digest, files["var/lib/dpkg/status"].Layer);
    }

    [Fact]
    public async Task ReadAsync_HardLinkWhoseTargetIsReplacedAbove_KeepsItsOwnLayersContent()
    {
        // A hard link shares its layer's inode: replacing the other name in an upper layer does not change it.
        var lower = new LayerBuilder().File("var/backups/s", "old").HardLink("var/lib/dpkg/status", "var/backups/s").Layer();
        var upper = new LayerBuilder().File("var/backups/s", "new").Layer();

        var files = await TestScan.FilesAsync([lower, upper], p => p == "var/lib/dpkg/status");

        Assert.Equal(("old", lower.Digest), (files["var/lib/dpkg/status"].Text, files["var/lib/dpkg/status"].Layer));
    }

    [Fact]
    public async Task ReadAsync_FileOverItsCap_IsSkippedWithAWarning()
    {
        var layer = new LayerBuilder().File("big", new byte[5000]).File("small", "s").Layer();
        var seen = new List<string>();

        var warnings = await new ImageFileSystemReader().ReadAsync([layer], [new FileRequest("t", All, 1000)], (file, _) =>
        {
            seen.Add(file.Path);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal(["small"], seen);
        Assert.Equal("big", Assert.Single(warnings).Path);
    }

    [Fact]
    public async Task ReadAsync_EmptyLayer_IsAnEmptyFileSystem()
    {
        var empty = LayerBuilder.ToLayer([], LayerDecompression.OciLayerTar);
        var other = new LayerBuilder().File("x", "1").Layer();

        var files = await TestScan.FilesAsync([other, empty], All);

        Assert.Equal(["x"], files.Keys);
    }

    [Fact]
    public async Task ReadAsync_GzipBomb_IsRefusedPastTheLayerCap()
    {
        // 1 GiB of zeros compresses to about 1 MB; the cap stops the read after 64 MiB.
        var bomb = LayerBuilder.ToLayer(GzipBomb(1L << 30), LayerDecompression.OciLayerGzip);
        var limits = new ScanLimits { MaxLayerUncompressedBytes = 64L << 20 };
        var before = GC.GetTotalAllocatedBytes(precise: false);

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([bomb], All, limits));

        Assert.Contains("limit per layer", error.Message, StringComparison.Ordinal);
        Assert.True(bomb.Digest.Length > 0);
        Assert.True(GC.GetTotalAllocatedBytes(precise: false) - before < 256L << 20, "the bomb must not be held in memory");
    }

    [Fact]
    public async Task ReadAsync_LayersTogetherOverTheImageCap_AreRefused()
    {
        var one = LayerBuilder.ToLayer(GzipBomb(40L << 20), LayerDecompression.OciLayerGzip);
        var two = LayerBuilder.ToLayer(GzipBomb(40L << 20), LayerDecompression.OciLayerGzip);
        var limits = new ScanLimits { MaxLayerUncompressedBytes = 64L << 20, MaxImageUncompressedBytes = 64L << 20 };

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([one, two], All, limits));

        Assert.Contains("the image's layers pass", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    [InlineData(LayerCompression.None)]
    public async Task ReadAsync_TruncatedLayer_IsAScanError(LayerCompression compression)
    {
        var random = new Random(7);
        var payload = new byte[200_000];
        random.NextBytes(payload);
        var whole = new LayerBuilder().File("a", payload).File("b", "after").Build(compression);
        var truncated = LayerBuilder.ToLayer(whole[..(whole.Length / 2)], LayerDecompression.OciLayerGzip);

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([truncated], All));

        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_NotATar_IsAScanError()
    {
        var garbage = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("this is not a tar archive at all. ", 40)));

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([LayerBuilder.ToLayer(garbage, LayerDecompression.OciLayerTar)], All));

        Assert.Contains("not a tar archive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_HeaderOnlyEntriesWithASizeField_AreFollowedByTheNextHeader()
    {
        // Some writers set the size of hard links and devices; no data follows them (as POSIX and GNU tar read it).
        var tar = new byte[512 * 6];
        var header = new byte[512];
        WriteHeader(header, "dev/null", '3', 4096);
        header.CopyTo(tar, 0);
        WriteHeader(header, "etc/link", '1', 100);
        header.CopyTo(tar, 512);
        WriteHeader(header, "etc/next", '0', 3);
        header.CopyTo(tar, 1024);
        "abc"u8.CopyTo(tar.AsSpan(1536));

        var files = await TestScan.FilesAsync([LayerBuilder.ToLayer(tar, LayerDecompression.OciLayerTar)], All);

        Assert.Equal("abc", files["etc/next"].Text);
    }

    [Fact]
    public async Task ReadAsync_HugePaxHeader_IsRefusedBeforeAllocating()
    {
        var tar = new byte[1024];
        WriteHeader(tar, "PaxHeaders/x", 'x', 1L << 32);

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([LayerBuilder.ToLayer(tar, LayerDecompression.OciLayerTar)], All));

        Assert.Contains("PAX or GNU long-name header", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_MoreEntriesThanTheCap_IsRefused()
    {
        var builder = new LayerBuilder();
        for (var i = 0; i <= 100; i++)
        {
            builder.File($"f{i}", string.Empty);
        }

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([builder.Layer()], All, new ScanLimits { MaxEntriesPerLayer = 100 }));

        Assert.Contains("more than 100 entries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_EntriesOfAllLayersOverTheImageCap_AreRefused()
    {
        var one = new LayerBuilder();
        var two = new LayerBuilder();
        for (var i = 0; i < 60; i++)
        {
            one.File($"a{i}", string.Empty);
            two.File($"b{i}", string.Empty);
        }

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([one.Layer(), two.Layer()], All, new ScanLimits { MaxEntriesPerImage = 100 }));

        Assert.Contains("more than 100 entries in all", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_Cancelled_StopsWithOperationCanceled()
    {
        var layer = new LayerBuilder().File("a", "x").Layer();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new ImageFileSystemReader().ReadAsync([layer], [new FileRequest("t", All, 10)], (_, _) => ValueTask.CompletedTask, cancelled.Token));
    }

    [Fact]
    public async Task ReadAsync_AMillionTinyEntries_IsRefusedWithTheDefaultCap()
    {
        // 1,000,001 empty files, streamed as generated (about 0.5 GB of tar); the default cap is 1,000,000 per layer.
        var layer = LayerBuilder.ToLayer(ManyEntries(1_000_001), LayerDecompression.OciLayerGzip);
        var upper = new LayerBuilder().File("top", "t").Layer();

        var error = await Assert.ThrowsAsync<ScanException>(() => TestScan.FilesAsync([layer, upper], p => p == "nothing"));

        Assert.Contains("more than 1000000 entries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_ManyEntriesInAnUpperLayer_ApplyWhiteoutsBelow()
    {
        // 200,000 entries above are recorded compactly; the one file they shadow below is hidden, the others are seen.
        var lower = new LayerBuilder().File("d/00000042", "lower").File("d/keep", "k").Layer();
        var upper = LayerBuilder.ToLayer(ManyEntries(200_000), LayerDecompression.OciLayerGzip);

        var files = await TestScan.FilesAsync([lower, upper], p => p is "d/00000042" or "d/keep");

        Assert.Equal("", files["d/00000042"].Text);
        Assert.Equal(upper.Digest, files["d/00000042"].Layer);
        Assert.Equal("k", files["d/keep"].Text);
    }

    internal static byte[] GzipBomb(long zeros)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            var header = new byte[512];
            WriteHeader(header, "zeros", '0', zeros);
            gzip.Write(header);
            var chunk = new byte[1 << 20];
            for (long written = 0; written < zeros; written += chunk.Length)
            {
                gzip.Write(chunk, 0, (int)Math.Min(chunk.Length, zeros - written));
            }

            gzip.Write(new byte[1024]);
        }

        return output.ToArray();
    }

    private static byte[] ManyEntries(int count)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            var header = new byte[512];
            WriteHeader(header, "d", '5', 0);
            gzip.Write(header);
            for (var i = 0; i < count; i++)
            {
                WriteHeader(header, $"d/{i:D8}", '0', 0);
                gzip.Write(header);
            }

            gzip.Write(new byte[1024]);
        }

        return output.ToArray();
    }

    /// <summary>Writes a ustar header by hand (so the tests can write sizes and names that TarWriter would refuse).</summary>
    internal static void WriteHeader(byte[] block, string name, char type, long size, string prefix = "")
    {
        Array.Clear(block, 0, 512);
        Encoding.ASCII.GetBytes(prefix).CopyTo(block, 345);
        Encoding.ASCII.GetBytes(name).CopyTo(block, 0);
        Encoding.ASCII.GetBytes("0000644\0").CopyTo(block, 100);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(block, 108);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(block, 116);
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(block, 124);
        Encoding.ASCII.GetBytes("00000000000\0").CopyTo(block, 136);
        block[156] = (byte)type;
        Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(block, 257);
        for (var i = 148; i < 156; i++)
        {
            block[i] = (byte)' ';
        }

        var sum = 0;
        for (var i = 0; i < 512; i++)
        {
            sum += block[i];
        }

        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(block, 148);
    }
}
