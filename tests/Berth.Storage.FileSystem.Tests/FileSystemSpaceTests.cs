using Berth.Core.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem.Tests;

public sealed class FileSystemSpaceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-space-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private FileSystemSpace Space(long? reserve) => new(Options.Create(new FileSystemStorageOptions { RootPath = _root, ReserveBytes = reserve }));

    [Theory]
    [InlineData(48L << 20, 12L << 20)] // a small file system: a quarter of it, not 1 GiB
    [InlineData(10L << 30, 1L << 30)] // 1 GiB is more than 2 %
    [InlineData(1000L << 30, 20L << 30)] // 2 % is more than 1 GiB
    public void DefaultReserve_LargerOf1GiBAnd2PercentAtMostAQuarter(long total, long expected) =>
        Assert.Equal(expected, FileSystemSpace.DefaultReserve(total));

    [Fact]
    public void Report_MeasuresTheFolder()
    {
        var report = Space(4096).Report();
        var drive = new DriveInfo(_root);

        Assert.Equal(drive.TotalSize, report.TotalBytes);
        Assert.InRange(report.FreeBytes, 1, report.TotalBytes);
        Assert.Equal(4096, report.ReserveBytes);
        Assert.False(report.ReserveReached);
    }

    [Fact]
    public void EnsureRoomAndClaim_ReserveLargerThanTheFreeSpace_Refused()
    {
        var space = Space(long.MaxValue / 2);

        Assert.True(space.Report().ReserveReached);
        Assert.Throws<StorageFullException>(space.EnsureRoom);
        Assert.Throws<StorageFullException>(() => space.Claim(1));
    }

    [Fact]
    public void Claim_WritesCountAgainstTheFreeSpaceUntilTheReserve()
    {
        var free = Space(0).Report().FreeBytes;
        var space = Space(free / 2);

        space.Claim(free / 4); // still above the reserve
        Assert.Throws<StorageFullException>(() => space.Claim(free / 2)); // would reach into it: refused, not counted
        space.Claim(free / 8);
    }

    [Fact]
    public void ZeroReserve_NeverRefuses()
    {
        var space = Space(0);

        space.EnsureRoom();
        space.Claim(long.MaxValue / 4);
        Assert.Equal(0, space.Report().ReserveBytes);
    }

    [Fact]
    public async Task Store_ReserveReached_RefusesNewUploadsAndChunksButNotReads()
    {
        var open = new FileSystemBlobStore(Options.Create(new FileSystemStorageOptions { RootPath = _root }));
        await open.CreateAsync("before", CancellationToken.None);
        var store = new FileSystemBlobStore(Options.Create(new FileSystemStorageOptions { RootPath = _root }), Space(long.MaxValue / 2));

        await Assert.ThrowsAsync<StorageFullException>(() => store.CreateAsync("new", CancellationToken.None));
        await Assert.ThrowsAsync<StorageFullException>(() => store.OpenWriterAsync("before", 0, null, CancellationToken.None));
        Assert.Equal(0, await store.GetLengthAsync("before", null, CancellationToken.None));
        Assert.False(File.Exists(Path.Combine(_root, "uploads", "new")));
    }
}
