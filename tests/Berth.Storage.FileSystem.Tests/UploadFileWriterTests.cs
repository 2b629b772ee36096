using Berth.Core.Storage;
using Berth.Storage.FileSystem;
using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem.Tests;

/// <summary>
/// The file store's upload writer asks for a background fsync each time the file grows past another 8 MiB boundary,
/// at most one at a time, and the bytes it writes are exactly the bytes committed.
/// </summary>
public sealed class UploadFileWriterTests : IDisposable
{
    private const int MiB = 1 << 20;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "berth-ufs-" + Guid.NewGuid().ToString("N"));
    private readonly FileSystemBlobStore _store;

    public UploadFileWriterTests() =>
        _store = new FileSystemBlobStore(Options.Create(new FileSystemStorageOptions { RootPath = _root }));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task Append_UnderEightMiB_AsksForNoFlush()
    {
        var id = await CreateAsync();
        await using var stream = await OpenAsync(id, 0);

        await WriteInPiecesAsync(stream, Content(0, 8 * MiB - 1), MiB);

        Assert.Equal(0, stream.FlushesRequested);
    }

    [Fact]
    public async Task Append_TwentyMiB_FlushesAtEightAndSixteen_AndCommitsTheExactBytes()
    {
        var id = await CreateAsync();
        var content = Content(0, 20 * MiB);
        await using (var stream = await OpenAsync(id, 0))
        {
            // Waiting for each flush makes the count exact; without waiting a boundary crossed while one runs is skipped.
            await WriteInPiecesAsync(stream, content, MiB, waitForFlush: true);

            Assert.Equal(2, stream.FlushesRequested);
            Assert.Equal(2, stream.FlushesCompleted);
            Assert.Equal("20971520", await stream.CommitAsync(CancellationToken.None)); // the file store's state: the length acknowledged
        }

        var digest = Berth.Oci.Digest.Compute(Berth.Oci.DigestAlgorithm.Sha256, content);
        Assert.Equal(UploadCommitResult.Committed, await _store.CommitAsync(id, digest, null, CancellationToken.None));
        Assert.Equal(content, await File.ReadAllBytesAsync(Assert.IsType<BlobRead.LocalFile>(await _store.OpenAsync(digest, null, default, CancellationToken.None)).Path));
    }

    [Fact]
    public async Task Append_ResumedAtSevenMiB_FlushesWhenItCrossesEight()
    {
        var id = await CreateAsync();
        await using (var first = await OpenAsync(id, 0))
        {
            await first.WriteAsync(Content(0, 7 * MiB), CancellationToken.None);
            Assert.Equal(0, first.FlushesRequested);
            await first.CommitAsync(CancellationToken.None);
        }

        await using var second = await OpenAsync(id, 7 * MiB);
        await WriteInPiecesAsync(second, Content(1, 2 * MiB), 512 * 1024, waitForFlush: true);

        Assert.Equal(1, second.FlushesRequested);
        Assert.Equal(1, second.FlushesCompleted);
        await second.CommitAsync(CancellationToken.None);
        Assert.Equal(9L * MiB, await _store.GetLengthAsync(id, null, CancellationToken.None));
    }

    [Fact]
    public async Task Flush_OfAStreamClosedBeforeItsTurn_IsSkipped_AndTheFlusherKeepsWorking()
    {
        var id = await CreateAsync();
        var closed = await OpenAsync(id, 0);
        await closed.WriteAsync(Content(0, 8 * MiB), CancellationToken.None);
        await closed.CommitAsync(CancellationToken.None);
        await closed.DisposeAsync(); // the flush it asked for may find its file closed: nothing to do, no error

        await WaitUntilAsync(() => !closed.FlushPending);

        await using var next = await OpenAsync(id, 8 * MiB);
        await next.WriteAsync(Content(1, 8 * MiB), CancellationToken.None);
        await WaitUntilAsync(() => !next.FlushPending);
        Assert.Equal(1, next.FlushesCompleted);
        await next.CommitAsync(CancellationToken.None);
        Assert.Equal(16L * MiB, await _store.GetLengthAsync(id, null, CancellationToken.None));
    }

    [Fact]
    public async Task Dispose_WhileItsBackgroundFlushRuns_ReleasesTheUploadAtOnce_ForTheNextChunkAndTheCommit()
    {
        // A background fsync holds a reference on the writer's handle; dispose must not return before the descriptor,
        // and with it the writer's lock, is closed, or the next PATCH is refused as concurrent and the PUT fails.
        for (var round = 0; round < 8; round++)
        {
            var id = await CreateAsync();
            var content = Content(round, 9 * MiB);
            await using (var first = await OpenAsync(id, 0))
            {
                await first.WriteAsync(content.AsMemory(0, 8 * MiB + 1), CancellationToken.None);
                Assert.Equal(1, first.FlushesRequested);
                await first.CommitAsync(CancellationToken.None);
            }

            await using (var second = await OpenAsync(id, 8 * MiB + 1))
            {
                await second.WriteAsync(content.AsMemory(8 * MiB + 1), CancellationToken.None);
                await second.CommitAsync(CancellationToken.None);
            }

            var digest = Berth.Oci.Digest.Compute(Berth.Oci.DigestAlgorithm.Sha256, content);
            Assert.Equal(UploadCommitResult.Committed, await _store.CommitAsync(id, digest, null, CancellationToken.None));
        }
    }

    private async Task<string> CreateAsync()
    {
        var id = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        await _store.CreateAsync(id, CancellationToken.None);
        return id;
    }

    private async Task<UploadFileWriter> OpenAsync(string id, long offset)
    {
        var (status, writer) = await _store.OpenWriterAsync(id, offset, null, CancellationToken.None);
        Assert.Equal(UploadAppendStatus.Opened, status);
        return Assert.IsType<UploadFileWriter>(writer);
    }

    private static async Task WriteInPiecesAsync(UploadFileWriter stream, byte[] content, int piece, bool waitForFlush = false)
    {
        for (var offset = 0; offset < content.Length; offset += piece)
        {
            await stream.WriteAsync(content.AsMemory(offset, Math.Min(piece, content.Length - offset)), CancellationToken.None);
            if (waitForFlush)
            {
                await WaitUntilAsync(() => !stream.FlushPending);
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "the background flush did not finish within 10 s");
    }

    private static byte[] Content(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
