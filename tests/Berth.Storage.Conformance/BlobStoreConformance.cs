using System.Security.Cryptography;
using Berth.Core.Storage;
using Berth.Oci;

namespace Berth.Storage.Conformance;

/// <summary>
/// The contract of <see cref="IBlobStore"/> and <see cref="IUploadStore"/> (see their doc comments), for every provider.
/// A provider subclasses this once and supplies a fresh, empty store per test.
/// </summary>
public abstract class BlobStoreConformance : IAsyncLifetime
{
    private Stores? _stores;

    /// <summary>The committed-blob side of the store under test.</summary>
    protected IBlobStore Blobs => (_stores ?? throw new InvalidOperationException("not initialised")).Blobs;

    /// <summary>The upload side of the store under test.</summary>
    protected IUploadStore Uploads => _stores!.Uploads;

    protected static CancellationToken None => CancellationToken.None;

    /// <summary>A store and its upload side, both over the same backing storage (often one object).</summary>
    protected sealed record Stores(IBlobStore Blobs, IUploadStore Uploads);

    /// <summary>Creates a new, empty store for one test.</summary>
    protected abstract Task<Stores> CreateStoresAsync();

    /// <summary>
    /// Opens another instance over the same backing storage, as a restarted process (or another node) would.
    /// </summary>
    protected abstract Task<Stores> ReopenStoresAsync();

    /// <summary>Removes what the test stored.</summary>
    protected abstract Task DeleteStoresAsync();

    public async Task InitializeAsync() => _stores = await CreateStoresAsync();

    public Task DisposeAsync() => DeleteStoresAsync();

    // ---------------------------------------------------------------- IBlobStore: missing blobs

    [Fact]
    public async Task Stat_MissingBlob_ReturnsMissing()
    {
        Assert.Equal(BlobStat.Missing, await Blobs.StatAsync(DigestOf([1, 2, 3]), None));
    }

    [Fact]
    public async Task Open_MissingBlob_ReturnsNotFound()
    {
        Assert.IsType<BlobRead.NotFound>(await Blobs.OpenAsync(DigestOf([1, 2, 3]), null, default, None));
    }

    [Fact]
    public async Task Open_MissingBlobWithRangeOrRedirectAllowed_ReturnsNotFound()
    {
        Assert.IsType<BlobRead.NotFound>(await Blobs.OpenAsync(DigestOf([1, 2, 3]), ByteRange.From(0), new BlobReadOptions(true), None));
    }

    [Fact]
    public async Task List_Empty_ReturnsNoBlobs()
    {
        Assert.Empty(await ListBlobsAsync());
    }

    [Fact]
    public async Task Delete_MissingBlob_ReturnsNotFound()
    {
        Assert.Equal(BlobDeleteResult.NotFound, await Blobs.DeleteAsync(DigestOf([1, 2, 3]), None));
    }

    // ---------------------------------------------------------------- IBlobStore: committed blobs

    [Fact]
    public async Task CommittedBlob_StatReportsExistsAndSize()
    {
        var content = Bytes(1000, 1);
        var digest = await CommitAsync(content);

        Assert.Equal(new BlobStat(true, 1000), await Blobs.StatAsync(digest, None));
    }

    [Fact]
    public async Task CommittedBlob_OpenReadReturnsContentFromTheStart()
    {
        var content = Bytes(5000, 2);
        var digest = await CommitAsync(content);

        Assert.Equal(content, await ReadBlobAsync(digest));
    }

    [Fact]
    public async Task Open_WholeBlob_AnswersAllItsBytesWithItsSize()
    {
        var content = Bytes(100, 3);
        var digest = await CommitAsync(content);

        var read = await Blobs.OpenAsync(digest, null, default, None);

        var (offset, length, total, bytes) = await MaterializeAsync(read);
        Assert.Equal((0L, 100L, 100L), (offset, length, total));
        Assert.Equal(content, bytes);
    }

    public static TheoryData<string, long, long> SatisfiableRanges => new()
    {
        // range (as a Range header), expected offset, expected length; the blob has 1000 bytes
        { "bytes=0-0", 0, 1 },
        { "bytes=10-19", 10, 10 },
        { "bytes=0-999", 0, 1000 },
        { "bytes=990-5000", 990, 10 },
        { "bytes=999-", 999, 1 },
        { "bytes=0-", 0, 1000 },
        { "bytes=-1", 999, 1 },
        { "bytes=-10", 990, 10 },
        { "bytes=-1000", 0, 1000 },
        { "bytes=-99999999999999999999", 0, 1000 },
        { "bytes=5-99999999999999999999", 5, 995 },
    };

    [Theory]
    [MemberData(nameof(SatisfiableRanges))]
    public async Task Open_SatisfiableRange_AnswersExactlyThoseBytes(string header, long offset, long length)
    {
        var content = Bytes(1000, 30);
        var digest = await CommitAsync(content);
        Assert.True(ByteRange.TryParseHeader(header, out var range));

        var read = await Blobs.OpenAsync(digest, range, default, None);

        var (gotOffset, gotLength, total, bytes) = await MaterializeAsync(read);
        Assert.Equal((offset, length, 1000L), (gotOffset, gotLength, total));
        Assert.Equal(content.AsSpan((int)offset, (int)length).ToArray(), bytes);
    }

    [Theory]
    [InlineData("bytes=1000-")]
    [InlineData("bytes=1000-2000")]
    [InlineData("bytes=99999999999999999999-")]
    [InlineData("bytes=-0")]
    public async Task Open_RangeBeyondTheEnd_ReturnsRangeNotSatisfiableWithTheSize(string header)
    {
        var digest = await CommitAsync(Bytes(1000, 31));
        Assert.True(ByteRange.TryParseHeader(header, out var range));

        var read = await Blobs.OpenAsync(digest, range, default, None);

        Assert.Equal(new BlobRead.RangeNotSatisfiable(1000), read);
    }

    [Fact]
    public async Task Open_AnyRangeOfAnEmptyBlob_ReturnsRangeNotSatisfiable()
    {
        var digest = await CommitAsync([]);

        Assert.Equal(new BlobRead.RangeNotSatisfiable(0), await Blobs.OpenAsync(digest, ByteRange.From(0), default, None));
        Assert.Equal(new BlobRead.RangeNotSatisfiable(0), await Blobs.OpenAsync(digest, ByteRange.LastBytes(5), default, None));
    }

    [Fact]
    public async Task Open_RedirectNotAllowed_NeverAnswersRedirect()
    {
        var digest = await CommitAsync(Bytes(10, 32));

        Assert.IsNotType<BlobRead.Redirect>(await Blobs.OpenAsync(digest, null, new BlobReadOptions(AllowRedirect: false), None));
        Assert.IsNotType<BlobRead.Redirect>(await Blobs.OpenAsync(digest, ByteRange.From(3), new BlobReadOptions(AllowRedirect: false), None));
    }

    [Fact]
    public async Task List_SeveralBlobs_ReturnsEachOnceWithItsSizeAndTime()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-10);
        var a = await CommitAsync(Bytes(10, 33));
        var b = await CommitAsync(Bytes(0, 34));
        var c = await CommitAsync(Bytes(300, 35), DigestAlgorithm.Sha512);

        var listed = await ListBlobsAsync();

        Assert.Equal(
            new[] { (a, 10L), (b, 0L), (c, 300L) }.OrderBy(x => x.Item1.ToString(), StringComparer.Ordinal),
            listed.Select(x => (x.Digest, x.Size)).OrderBy(x => x.Digest.ToString(), StringComparer.Ordinal));
        Assert.All(listed, blob => Assert.InRange(blob.LastModified, before, DateTimeOffset.UtcNow.AddMinutes(10)));
    }

    [Fact]
    public async Task List_UploadsInProgress_AreNotBlobs()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        await AppendAsync(id, 0, Bytes(10, 36));

        Assert.Empty(await ListBlobsAsync());
    }

    [Fact]
    public async Task List_AfterDelete_LeavesTheDeletedBlobOut()
    {
        var kept = await CommitAsync(Bytes(10, 37));
        var deleted = await CommitAsync(Bytes(10, 38));

        await Blobs.DeleteAsync(deleted, None);

        Assert.Equal([kept], (await ListBlobsAsync()).Select(x => x.Digest));
    }

    [Fact]
    public async Task CommittedBlob_CanBeReadByTwoReadersAtOnce()
    {
        var content = Bytes(3000, 4);
        var digest = await CommitAsync(content);

        var first = await Blobs.OpenAsync(digest, null, default, None);
        var second = await Blobs.OpenAsync(digest, ByteRange.From(0), default, None);

        Assert.Equal(content, (await MaterializeAsync(first)).Bytes);
        Assert.Equal(content, (await MaterializeAsync(second)).Bytes);
    }

    [Fact]
    public async Task CommittedEmptyBlob_ExistsWithSizeZero()
    {
        var digest = await CommitAsync([]);

        Assert.Equal(new BlobStat(true, 0), await Blobs.StatAsync(digest, None));
        Assert.Empty(await ReadBlobAsync(digest));
    }

    [Fact]
    public async Task CommittedBlob_Sha256AndSha512OfSameBytes_AreDistinctBlobs()
    {
        var content = Bytes(64, 5);
        var sha256 = await CommitAsync(content, DigestAlgorithm.Sha256);
        var sha512 = await CommitAsync(content, DigestAlgorithm.Sha512);

        Assert.Equal(content, await ReadBlobAsync(sha256));
        Assert.Equal(content, await ReadBlobAsync(sha512));
        Assert.Equal(BlobDeleteResult.Deleted, await Blobs.DeleteAsync(sha256, None));
        Assert.Equal(new BlobStat(true, 64), await Blobs.StatAsync(sha512, None));
    }

    [Fact]
    public async Task CommittedBlob_DifferentDigests_AreIndependent()
    {
        var a = await CommitAsync(Bytes(10, 6));
        var b = await CommitAsync(Bytes(20, 7));

        Assert.Equal(BlobDeleteResult.Deleted, await Blobs.DeleteAsync(a, None));

        Assert.Equal(BlobStat.Missing, await Blobs.StatAsync(a, None));
        Assert.Equal(new BlobStat(true, 20), await Blobs.StatAsync(b, None));
    }

    [Fact]
    public async Task CommittedBlob_SurvivesReopening()
    {
        var content = Bytes(777, 8);
        var digest = await CommitAsync(content);

        var reopened = await ReopenStoresAsync();

        Assert.Equal(new BlobStat(true, 777), await reopened.Blobs.StatAsync(digest, None));
        Assert.Equal(content, (await MaterializeAsync(await reopened.Blobs.OpenAsync(digest, null, default, None))).Bytes);
    }

    [Fact]
    public async Task Delete_CommittedBlob_ReturnsDeletedAndTheBlobIsGone()
    {
        var digest = await CommitAsync(Bytes(10, 9));

        Assert.Equal(BlobDeleteResult.Deleted, await Blobs.DeleteAsync(digest, None));

        Assert.Equal(BlobStat.Missing, await Blobs.StatAsync(digest, None));
        Assert.IsType<BlobRead.NotFound>(await Blobs.OpenAsync(digest, null, default, None));
        Assert.IsType<BlobRead.NotFound>(await Blobs.OpenAsync(digest, ByteRange.From(0), default, None));
        Assert.Equal(BlobDeleteResult.NotFound, await Blobs.DeleteAsync(digest, None));
    }

    [Fact]
    public async Task Delete_ThenCommitSameContent_StoresItAgain()
    {
        var content = Bytes(10, 10);
        var digest = await CommitAsync(content);
        await Blobs.DeleteAsync(digest, None);

        var again = await CommitAsync(content);

        Assert.Equal(digest, again);
        Assert.Equal(content, await ReadBlobAsync(digest));
    }

    // ---------------------------------------------------------------- IUploadStore: create and length

    [Fact]
    public async Task Create_NewUpload_HasLengthZero()
    {
        var id = NewId();

        await Uploads.CreateAsync(id, None);

        Assert.Equal(0L, await Uploads.GetLengthAsync(id, null, None));
    }

    [Fact]
    public async Task GetLength_UnknownUpload_ReturnsNull()
    {
        Assert.Null(await Uploads.GetLengthAsync(NewId(), null, None));
    }

    [Fact]
    public async Task Create_ExistingUpload_SucceedsAndTruncatesNothing()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, Bytes(50, 11));

        await Uploads.CreateAsync(id, None);

        Assert.Equal(50L, await Uploads.GetLengthAsync(id, state, None));
        Assert.Equal(Bytes(50, 11), await ReadUploadAsync(id, state));
    }

    // ---------------------------------------------------------------- IUploadStore: writers

    [Fact]
    public async Task OpenWriter_UnknownUpload_ReturnsNotFound()
    {
        var (status, writer) = await Uploads.OpenWriterAsync(NewId(), 0, null, None);

        Assert.Equal(UploadAppendStatus.NotFound, status);
        Assert.Null(writer);
    }

    [Fact]
    public async Task OpenWriter_AtCurrentLength_AppendsInOrder()
    {
        var id = NewId();
        var content = Bytes(300, 12);
        await Uploads.CreateAsync(id, None);

        var state = await AppendAsync(id, 0, content[..100]);
        state = await AppendAsync(id, 100, content[100..250], state);
        state = await AppendAsync(id, 250, content[250..], state);

        Assert.Equal(300L, await Uploads.GetLengthAsync(id, state, None));
        Assert.Equal(content, await ReadUploadAsync(id, state));
    }

    [Fact]
    public async Task Writer_Size_IsTheOffsetPlusWhatItWrote()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, Bytes(10, 1));

        var (_, writer) = await Uploads.OpenWriterAsync(id, 10, state, None);
        await using (writer!)
        {
            Assert.Equal(10L, writer!.Size);
            await writer.WriteAsync(Bytes(5, 2), None);
            await writer.WriteAsync(Bytes(7, 3), None);
            Assert.Equal(22L, writer.Size);
            await writer.CommitAsync(None);
            Assert.Equal(22L, writer.Size);
        }
    }

    [Fact]
    public async Task OpenWriter_EmptyChunk_LeavesLength()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, Bytes(10, 13));

        await AppendAsync(id, 10, [], state);

        Assert.Equal(10L, await Uploads.GetLengthAsync(id, state, None));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(1000)]
    public async Task OpenWriter_BeyondStoredData_ReturnsOffsetMismatchAndLeavesData(long offset)
    {
        var id = NewId();
        var content = Bytes(10, 14);
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);

        var (status, writer) = await Uploads.OpenWriterAsync(id, offset, state, None);

        Assert.Equal(UploadAppendStatus.OffsetMismatch, status);
        Assert.Null(writer);
        Assert.Equal(10L, await Uploads.GetLengthAsync(id, state, None));
        Assert.Equal(content, await ReadUploadAsync(id, state));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public async Task OpenWriter_BelowStoredData_DropsTheUnacknowledgedBytesAtTheFirstWrite(long offset)
    {
        var id = NewId();
        var content = Bytes(10, 14);
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);

        var (status, writer) = await Uploads.OpenWriterAsync(id, offset, state, None);
        Assert.Equal(UploadAppendStatus.Opened, status);
        string? next;
        await using (writer!)
        {
            Assert.Equal(10L, await Uploads.GetLengthAsync(id, state, None)); // not at open: the caller may still back out
            await writer!.WriteAsync(new byte[] { 0xAA, 0xBB }, None);
            next = await writer.CommitAsync(None);
        }

        Assert.Equal([.. content[..(int)offset], 0xAA, 0xBB], await ReadUploadAsync(id, next));
    }

    [Fact]
    public async Task OpenWriter_BelowStoredData_DisposedWithoutWriting_LeavesData()
    {
        var id = NewId();
        var content = Bytes(10, 14);
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);

        var (_, writer) = await Uploads.OpenWriterAsync(id, 4, state, None);
        await writer!.DisposeAsync();

        Assert.Equal(10L, await Uploads.GetLengthAsync(id, state, None));
        Assert.Equal(content, await ReadUploadAsync(id, state));
    }

    [Fact]
    public async Task OpenWriter_WhileAnotherWriterHoldsIt_IsBusyAndTheFirstWriterIsUndisturbed()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var (_, first) = await Uploads.OpenWriterAsync(id, 0, null, None);
        string? state;
        await using (first!)
        {
            await first!.WriteAsync(new byte[] { 1, 2, 3 }, None);

            var (status, second) = await Uploads.OpenWriterAsync(id, 0, null, None);
            var (other, third) = await (await ReopenStoresAsync()).Uploads.OpenWriterAsync(id, 0, null, None);

            Assert.Equal(UploadAppendStatus.Busy, status);
            Assert.Null(second);
            Assert.Equal(UploadAppendStatus.Busy, other); // another instance over the same storage (another node)
            Assert.Null(third);
            await first.WriteAsync(new byte[] { 4 }, None);
            state = await first.CommitAsync(None);
        }

        Assert.Equal([1, 2, 3, 4], await ReadUploadAsync(id, state));
        await AppendAsync(id, 4, [5], state); // let go: the next writer gets it
    }

    [Fact]
    public async Task OpenWriter_AheadOfEmptyUpload_ReturnsOffsetMismatch()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);

        var (status, _) = await Uploads.OpenWriterAsync(id, 1, null, None);

        Assert.Equal(UploadAppendStatus.OffsetMismatch, status);
        Assert.Equal(0L, await Uploads.GetLengthAsync(id, null, None));
    }

    [Fact]
    public async Task AppendedData_SurvivesReopening()
    {
        var id = NewId();
        var content = Bytes(400, 15);
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content[..200]);

        var reopened = await ReopenStoresAsync();

        Assert.Equal(200L, await reopened.Uploads.GetLengthAsync(id, state, None));
        var (status, writer) = await reopened.Uploads.OpenWriterAsync(id, 200, state, None);
        Assert.Equal(UploadAppendStatus.Opened, status);
        await using (writer!)
        {
            await writer!.WriteAsync(content.AsMemory(200), None);
            state = await writer.CommitAsync(None);
        }

        Assert.Equal(content, await ReadUploadAsync(id, state));
    }

    [Fact]
    public async Task Writer_ResumedOnAnotherInstanceWithTheSavedState_CommitsTheIdenticalBlob()
    {
        var id = NewId();
        var content = Bytes((6 * 1024 * 1024) + 3, 30); // past S3's 5 MiB minimum part size
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content[..(1024 * 1024)]);

        var b = await ReopenStoresAsync();
        var (status, writer) = await b.Uploads.OpenWriterAsync(id, 1024 * 1024, state, None);
        Assert.Equal(UploadAppendStatus.Opened, status);
        await using (writer!)
        {
            await writer!.WriteAsync(content.AsMemory(1024 * 1024), None);
            state = await writer.CommitAsync(None);
        }

        var c = await ReopenStoresAsync();
        Assert.Equal(UploadCommitResult.Committed, await c.Uploads.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(content, await ReadBlobAsync(DigestOf(content)));
    }

    [Fact]
    public async Task Writers_TwoAtTheSameOffset_OnlyTheAcknowledgedOneReachesTheBlob()
    {
        // Two instances (nodes) open a writer at the same offset with the same state. A store that locks refuses the
        // second (Busy); one that cannot lets both write and commit, and the caller's compare-and-set acknowledges one
        // (here the first to commit, A). Either way the blob made from A's state holds A's bytes, never B's.
        var id = NewId();
        var start = Bytes(100, 31);
        var winner = Bytes(50, 32);
        var loser = Bytes(70, 33);
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, start);
        var other = (await ReopenStoresAsync()).Uploads;

        var (statusA, a) = await Uploads.OpenWriterAsync(id, 100, state, None);
        var (statusB, b) = await other.OpenWriterAsync(id, 100, state, None);
        Assert.Equal(UploadAppendStatus.Opened, statusA);
        Assert.True(statusB is UploadAppendStatus.Opened or UploadAppendStatus.Busy, statusB.ToString());
        string? acknowledged;
        await using (a!)
        {
            await a!.WriteAsync(winner, None);
            if (b is not null)
            {
                await b.WriteAsync(loser, None);
            }

            acknowledged = await a.CommitAsync(None);
            if (b is not null)
            {
                _ = await b.CommitAsync(None); // its state is never saved: it lost the compare-and-set
                await b.DisposeAsync();
            }
        }

        // The next request (on B's instance) continues from the acknowledged offset and state; the blob is A's.
        var final = await AppendAsync(id, 150, [], acknowledged, other);
        byte[] expected = [.. start, .. winner];
        Assert.Equal(UploadCommitResult.Committed, await other.CommitAsync(id, DigestOf(expected), final, None));
        Assert.Equal(expected, await ReadBlobAsync(DigestOf(expected)));
    }

    [Fact]
    public async Task Writers_TwoOpenAtOnceAtTheSameOffset_AtMostOneGetsIn()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var b = await ReopenStoresAsync();

        var opened = await Task.WhenAll(
            Task.Run(() => Uploads.OpenWriterAsync(id, 0, null, None)),
            Task.Run(() => b.Uploads.OpenWriterAsync(id, 0, null, None)));

        try
        {
            Assert.Contains(opened, o => o.Status == UploadAppendStatus.Opened);
            Assert.All(opened, o => Assert.True(o.Status is UploadAppendStatus.Opened or UploadAppendStatus.Busy));
        }
        finally
        {
            foreach (var (_, writer) in opened)
            {
                if (writer is not null)
                {
                    await writer.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task Writer_Cancel_DropsWhatItWrote()
    {
        var id = NewId();
        var content = Bytes(100, 34);
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);

        var (_, writer) = await Uploads.OpenWriterAsync(id, 100, state, None);
        await using (writer!)
        {
            await writer!.WriteAsync(Bytes(4096, 35), None);
            await writer.CancelAsync(None);
            Assert.Equal(100L, writer.Size);
        }

        Assert.Equal(100L, await Uploads.GetLengthAsync(id, state, None));
        Assert.Equal(content, await ReadUploadAsync(id, state));
        state = await AppendAsync(id, 100, [7], state); // the upload goes on where it was
        Assert.Equal([.. content, 7], await ReadUploadAsync(id, state));
    }

    [Fact]
    public async Task Writer_DisposedWithoutCommit_LeavesTheUploadAsItWas()
    {
        var id = NewId();
        var content = Bytes(100, 36);
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);

        var (_, writer) = await Uploads.OpenWriterAsync(id, 100, state, None);
        await writer!.WriteAsync(Bytes(2 * 1024 * 1024, 37), None);
        await writer.DisposeAsync();

        Assert.Equal(100L, await Uploads.GetLengthAsync(id, state, None));
        Assert.Equal(content, await ReadUploadAsync(id, state));
        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(content, await ReadBlobAsync(DigestOf(content)));
    }

    [Theory]
    [InlineData(1, 300)]
    [InlineData(100, 60)]
    public async Task Writers_ManySmallChunks_CommitTheIdenticalBlob(int chunk, int count)
    {
        var id = NewId();
        var content = Bytes(chunk * count, 38);
        await Uploads.CreateAsync(id, None);
        string? state = null;
        for (var offset = 0; offset < content.Length; offset += chunk)
        {
            // Alternating instances, as chunks landing on different nodes would.
            var stores = offset / chunk % 2 == 0 ? Uploads : (await ReopenStoresAsync()).Uploads;
            state = await AppendAsync(id, offset, content[offset..(offset + chunk)], state, stores);
        }

        Assert.Equal((long)content.Length, await Uploads.GetLengthAsync(id, state, None));
        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(content, await ReadBlobAsync(DigestOf(content)));
    }

    [Fact]
    public async Task Writer_CommitWithoutWriting_DropsTheUnacknowledgedBytesAfterItsOffset()
    {
        var id = NewId();
        var content = Bytes(100, 39);
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content[..60]);
        _ = await AppendAsync(id, 60, content[60..], state); // written and committed, never acknowledged

        var (_, writer) = await Uploads.OpenWriterAsync(id, 60, state, None);
        await using (writer!)
        {
            state = await writer!.CommitAsync(None);
        }

        Assert.Equal(60L, await Uploads.GetLengthAsync(id, state, None));
        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, DigestOf(content[..60]), state, None));
        Assert.Equal(content[..60], await ReadBlobAsync(DigestOf(content[..60])));
    }

    [Fact]
    public async Task Writer_CancelAfterCommit_KeepsTheCommittedChunk()
    {
        var id = NewId();
        var content = Bytes(100, 40);
        await Uploads.CreateAsync(id, None);
        var (_, writer) = await Uploads.OpenWriterAsync(id, 0, null, None);
        string? state;
        await using (writer!)
        {
            await writer!.WriteAsync(content, None);
            state = await writer.CommitAsync(None);
            await writer.CancelAsync(None);
        }

        Assert.Equal(content, await ReadUploadAsync(id, state));
    }

    [Fact]
    public async Task Writer_WriteAfterCommit_Throws()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var (_, writer) = await Uploads.OpenWriterAsync(id, 0, null, None);
        await using (writer!)
        {
            await writer!.CommitAsync(None);

            await Assert.ThrowsAsync<InvalidOperationException>(async () => await writer.WriteAsync(new byte[] { 1 }, None));
        }
    }

    [Fact]
    public async Task Writer_WriteAfterCancel_ThrowsAndWritesNothing()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var (_, writer) = await Uploads.OpenWriterAsync(id, 0, null, None);
        await using (writer!)
        {
            await writer!.CancelAsync(None);

            await Assert.ThrowsAsync<InvalidOperationException>(async () => await writer.WriteAsync(new byte[] { 1 }, None));
        }

        Assert.Equal(0L, await Uploads.GetLengthAsync(id, null, None));
    }

    [Fact]
    public async Task Uploads_WithDifferentIds_AreIndependent()
    {
        var a = NewId();
        var b = NewId();
        await Uploads.CreateAsync(a, None);
        await Uploads.CreateAsync(b, None);

        await AppendAsync(a, 0, Bytes(10, 16));
        var state = await AppendAsync(b, 0, Bytes(20, 17));
        await Uploads.DeleteAsync(a, None);

        Assert.Null(await Uploads.GetLengthAsync(a, null, None));
        Assert.Equal(Bytes(20, 17), await ReadUploadAsync(b, state));
    }

    // ---------------------------------------------------------------- IUploadStore: read

    [Fact]
    public async Task OpenRead_UnknownUpload_ReturnsNull()
    {
        Assert.Null(await Uploads.OpenReadAsync(NewId(), null, None));
    }

    [Fact]
    public async Task OpenRead_EmptyUpload_ReturnsEmptyStream()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);

        Assert.Empty(await ReadUploadAsync(id));
    }

    // ---------------------------------------------------------------- IUploadStore: commit

    [Fact]
    public async Task Commit_MakesTheBlobAndRemovesTheUpload()
    {
        var id = NewId();
        var content = Bytes(2048, 18);
        var digest = DigestOf(content);
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);

        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, digest, state, None));

        Assert.Equal(content, await ReadBlobAsync(digest));
        Assert.Null(await Uploads.GetLengthAsync(id, state, None));
        Assert.Null(await Uploads.OpenReadAsync(id, null, None));
        Assert.DoesNotContain(id, await ListUploadIdsAsync());
    }

    [Fact]
    public async Task Commit_DigestAlreadyCommitted_ReturnsAlreadyExistsDiscardsUploadAndKeepsBlob()
    {
        var content = Bytes(100, 19);
        var digest = await CommitAsync(content);
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);

        Assert.Equal(UploadCommitResult.AlreadyExists, await Uploads.CommitAsync(id, digest, state, None));

        Assert.Equal(content, await ReadBlobAsync(digest));
        Assert.Null(await Uploads.GetLengthAsync(id, state, None));
        Assert.DoesNotContain(id, await ListUploadIdsAsync());
    }

    [Fact]
    public async Task Commit_UnknownUpload_ReturnsNotFoundAndStoresNothing()
    {
        var digest = DigestOf([9]);

        Assert.Equal(UploadCommitResult.NotFound, await Uploads.CommitAsync(NewId(), digest, null, None));

        Assert.Equal(BlobStat.Missing, await Blobs.StatAsync(digest, None));
    }

    [Fact]
    public async Task Commit_SameUploadTwice_SecondReturnsNotFound()
    {
        var id = NewId();
        var content = Bytes(10, 20);
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);
        await Uploads.CommitAsync(id, DigestOf(content), state, None);

        Assert.Equal(UploadCommitResult.NotFound, await Uploads.CommitAsync(id, DigestOf(content), state, None));
    }

    [Fact]
    public async Task PartialUpload_IsNeverServedAsABlob()
    {
        var id = NewId();
        var content = Bytes(100, 21);
        await Uploads.CreateAsync(id, None);
        await AppendAsync(id, 0, content);

        Assert.Equal(BlobStat.Missing, await Blobs.StatAsync(DigestOf(content), None));
        Assert.IsType<BlobRead.NotFound>(await Blobs.OpenAsync(DigestOf(content), null, default, None));
        Assert.Empty(await ListBlobsAsync());
    }

    [Fact]
    public async Task Commit_LargeUploadInManyChunks_RoundTrips()
    {
        var id = NewId();
        var content = Bytes((3 * 1024 * 1024) + 17, 22);
        await Uploads.CreateAsync(id, None);
        var offset = 0;
        string? state = null;
        foreach (var size in new[] { 1, 65536, 1024 * 1024, 1024 * 1024 + 3, 7 })
        {
            state = await AppendAsync(id, offset, content[offset..(offset + size)], state);
            offset += size;
        }

        state = await AppendAsync(id, offset, content[offset..], state);

        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(content, await ReadBlobAsync(DigestOf(content)));
    }

    // ---------------------------------------------------------------- IUploadStore: private uploads (single-request pushes)

    [Theory]
    [InlineData(0)]
    [InlineData(2048)]
    [InlineData((6 * 1024 * 1024) + 5)]
    public async Task Private_WriteAndCommit_MakesTheBlobAndLeavesNoUpload(int length)
    {
        var id = NewId();
        var content = Bytes(length, 40);
        await Uploads.CreatePrivateAsync(id, None);
        Assert.Equal(0, await Uploads.GetLengthAsync(id, null, None));
        var state = await AppendAsync(id, 0, content);

        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, DigestOf(content), state, None));

        Assert.Equal(content, await ReadBlobAsync(DigestOf(content)));
        Assert.Null(await Uploads.GetLengthAsync(id, state, None));
        Assert.Equal(UploadCommitResult.NotFound, await Uploads.CommitAsync(id, DigestOf(content), state, None));
        Assert.DoesNotContain(id, await ListUploadIdsAsync());
    }

    [Fact]
    public async Task Private_DigestAlreadyCommitted_ReturnsAlreadyExistsKeepsTheBlobAndLeavesNoUpload()
    {
        var content = Bytes(300, 41);
        var digest = await CommitAsync(content);
        var id = NewId();
        await Uploads.CreatePrivateAsync(id, None);
        var state = await AppendAsync(id, 0, content);

        Assert.Equal(UploadCommitResult.AlreadyExists, await Uploads.CommitAsync(id, digest, state, None));

        Assert.Equal(content, await ReadBlobAsync(digest));
        Assert.DoesNotContain(id, await ListUploadIdsAsync());
    }

    [Fact]
    public async Task Private_Delete_RemovesItsDataAndTheUploadIsUnknown()
    {
        var id = NewId();
        var content = Bytes(500, 42);
        await Uploads.CreatePrivateAsync(id, None);
        var state = await AppendAsync(id, 0, content);

        await Uploads.DeleteAsync(id, None);

        Assert.Null(await Uploads.GetLengthAsync(id, state, None));
        Assert.Equal(UploadCommitResult.NotFound, await Uploads.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(BlobStat.Missing, await Blobs.StatAsync(DigestOf(content), None));
        Assert.DoesNotContain(id, await ListUploadIdsAsync());
    }

    [Fact]
    public async Task Private_LeftByAProcessThatDied_IsListedForTheSweeperAndDeletable()
    {
        var id = NewId();
        await Uploads.CreatePrivateAsync(id, None);
        await AppendAsync(id, 0, Bytes(700, 43));

        // Another instance (the process after a restart, or the sweeper on another node) never heard of it.
        var after = await ReopenStoresAsync();
        Assert.Contains(id, await ListUploadIdsAsync(after.Uploads));
        await after.Uploads.DeleteAsync(id, None);
        Assert.DoesNotContain(id, await ListUploadIdsAsync(after.Uploads));
    }

    // ---------------------------------------------------------------- IUploadStore: delete and list

    [Fact]
    public async Task Delete_Upload_RemovesItsData()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        await AppendAsync(id, 0, Bytes(10, 23));

        await Uploads.DeleteAsync(id, None);

        Assert.Null(await Uploads.GetLengthAsync(id, null, None));
        Assert.Null(await Uploads.OpenReadAsync(id, null, None));
        Assert.Equal(UploadAppendStatus.NotFound, (await Uploads.OpenWriterAsync(id, 0, null, None)).Status);
        Assert.DoesNotContain(id, await ListUploadIdsAsync());
    }

    [Fact]
    public async Task Delete_UnknownUpload_IsNotAnError()
    {
        var id = NewId();

        await Uploads.DeleteAsync(id, None);
        await Uploads.CreateAsync(id, None);
        await Uploads.DeleteAsync(id, None);
        await Uploads.DeleteAsync(id, None);

        Assert.Null(await Uploads.GetLengthAsync(id, null, None));
    }

    [Fact]
    public async Task List_ReturnsEveryUploadWithData_WithItsLastWriteTime()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-10);
        var a = NewId();
        var b = NewId();
        await Uploads.CreateAsync(a, None);
        await Uploads.CreateAsync(b, None);
        await AppendAsync(b, 0, Bytes(5, 24));

        var listed = new Dictionary<string, DateTimeOffset>();
        await foreach (var (id, lastWrite) in Uploads.ListAsync(None))
        {
            listed.Add(id, lastWrite);
        }

        Assert.Equal(new[] { a, b }.Order(StringComparer.Ordinal), listed.Keys.Order(StringComparer.Ordinal));
        Assert.All(listed.Values, t => Assert.InRange(t, before, DateTimeOffset.UtcNow.AddMinutes(10)));
    }

    [Fact]
    public async Task List_Empty_ReturnsNothing()
    {
        Assert.Empty(await ListUploadIdsAsync());
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>A fresh upload id as the server makes them (32 lower-case hex characters).</summary>
    protected static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    protected static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    protected static Digest DigestOf(byte[] content, DigestAlgorithm algorithm = DigestAlgorithm.Sha256) => Digest.Compute(algorithm, content);

    /// <summary>Uploads and commits <paramref name="content"/>; returns its digest.</summary>
    protected async Task<Digest> CommitAsync(byte[] content, DigestAlgorithm algorithm = DigestAlgorithm.Sha256)
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);
        var digest = DigestOf(content, algorithm);
        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, digest, state, None));
        return digest;
    }

    /// <summary>Writes one chunk through its own writer at <paramref name="offset"/> and commits it; returns the store state to save.</summary>
    protected async Task<string?> AppendAsync(string id, long offset, byte[] chunk, string? state = null, IUploadStore? store = null)
    {
        var (status, writer) = await (store ?? Uploads).OpenWriterAsync(id, offset, state, None);
        Assert.Equal(UploadAppendStatus.Opened, status);
        Assert.NotNull(writer);
        await using (writer)
        {
            await writer.WriteAsync(chunk, None);
            Assert.Equal(offset + chunk.Length, writer.Size);
            return await writer.CommitAsync(None);
        }
    }

    private async Task<byte[]> ReadBlobAsync(Digest digest) => (await MaterializeAsync(await Blobs.OpenAsync(digest, null, default, None))).Bytes;

    /// <summary>The bytes a LocalFile or Streamed answer stands for (disposing the stream); fails for any other answer.</summary>
    protected static async Task<(long Offset, long Length, long TotalSize, byte[] Bytes)> MaterializeAsync(BlobRead read)
    {
        switch (read)
        {
            case BlobRead.LocalFile file:
            {
                await using var stream = File.OpenRead(file.Path);
                Assert.Equal(file.TotalSize, stream.Length);
                var bytes = new byte[file.Length];
                stream.Position = file.Offset;
                await stream.ReadExactlyAsync(bytes);
                return (file.Offset, file.Length, file.TotalSize, bytes);
            }

            case BlobRead.Streamed streamed:
            {
                await using var stream = streamed.Content;
                var bytes = await ReadAllAsync(stream);
                Assert.Equal(streamed.Length, bytes.Length); // exactly Length bytes, then the end
                return (streamed.Offset, streamed.Length, streamed.TotalSize, bytes);
            }

            default:
                Assert.Fail($"expected the blob's bytes, got {read}");
                return default;
        }
    }

    protected async Task<List<StoredBlob>> ListBlobsAsync()
    {
        var blobs = new List<StoredBlob>();
        await foreach (var blob in Blobs.ListAsync(None))
        {
            blobs.Add(blob);
        }

        return blobs;
    }

    private async Task<byte[]> ReadUploadAsync(string id, string? state = null)
    {
        await using var stream = await Uploads.OpenReadAsync(id, state, None);
        Assert.NotNull(stream);
        return await ReadAllAsync(stream);
    }

    private async Task<List<string>> ListUploadIdsAsync(IUploadStore? store = null)
    {
        var ids = new List<string>();
        await foreach (var (id, _) in (store ?? Uploads).ListAsync(None))
        {
            ids.Add(id);
        }

        return ids;
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }
}
