using System.Net;
using System.Net.Http.Headers;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Berth.Core.Storage;
using Berth.Oci;
using Berth.Storage.Conformance;
using Berth.Testing.Servers;

namespace Berth.Storage.Azure.Tests;

/// <summary>The blob and upload contract on <see cref="AzureBlobStore"/> against Azurite, each test under its own prefix.</summary>
[RequiresServer("Azurite", "BERTH_TEST_AZURITE", "127.0.0.1:10000")]
public sealed class AzureBlobStoreConformance(AzuriteContainer azurite) : BlobStoreConformance, IClassFixture<AzuriteContainer>
{
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..10] + "/registry";

    protected override Task<Stores> CreateStoresAsync() => ReopenStoresAsync();

    protected override Task<Stores> ReopenStoresAsync()
    {
        var store = azurite.Store(_prefix);
        return Task.FromResult(new Stores(store, store));
    }

    protected override Task DeleteStoresAsync() => azurite.DeleteUnderAsync(_prefix + "/");

    [Fact]
    public async Task Commit_CommittedBlob_IsNamedByItsDigestUnderThePrefix_AndTheUploadIsGone()
    {
        var digest = await CommitAsync(Bytes(10, 1));

        Assert.Equal([$"{_prefix}/blobs/sha256/{digest.Hex[..2]}/{digest.Hex}"], await azurite.NamesAsync(_prefix + "/"));
    }

    [Fact]
    public async Task Create_PutsOnlyTheMarker()
    {
        var id = NewId();

        await Uploads.CreateAsync(id, None);

        Assert.Equal([$"{_prefix}/uploads/{id}/marker"], await azurite.NamesAsync(_prefix + "/"));
    }

    [Fact]
    public async Task Open_RedirectConfiguredAndAllowed_AnswersAReadOnlySasUrlThatServesTheBytesAndRanges()
    {
        var content = Bytes(5000, 2);
        var digest = await CommitAsync(content);
        var store = azurite.Store(_prefix, redirect: true);
        var before = DateTimeOffset.UtcNow;

        var read = Assert.IsType<BlobRead.Redirect>(await store.OpenAsync(digest, null, new BlobReadOptions(AllowRedirect: true), None));

        Assert.InRange(read.ExpiresAt, before.AddMinutes(19), DateTimeOffset.UtcNow.AddMinutes(21));
        Assert.Contains("sp=r", read.Location.Query, StringComparison.Ordinal);
        using var http = new HttpClient();
        Assert.Equal(content, await http.GetByteArrayAsync(read.Location));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, read.Location);
        ranged.Headers.Range = new RangeHeaderValue(100, 199);
        using var response = await http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(content[100..200], await response.Content.ReadAsByteArrayAsync());
        using var write = new HttpRequestMessage(HttpMethod.Put, read.Location) { Content = new ByteArrayContent([1]) };
        write.Headers.Add("x-ms-blob-type", "BlockBlob");
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(write)).StatusCode);
    }

    [Fact]
    public async Task Open_RedirectConfigured_StillAnswersNotFoundAndRangeNotSatisfiableItself()
    {
        var digest = await CommitAsync(Bytes(10, 3));
        var store = azurite.Store(_prefix, redirect: true);
        var allow = new BlobReadOptions(AllowRedirect: true);

        Assert.IsType<BlobRead.NotFound>(await store.OpenAsync(DigestOf([7, 7]), null, allow, None));
        Assert.Equal(new BlobRead.RangeNotSatisfiable(10), await store.OpenAsync(digest, ByteRange.From(10), allow, None));
        Assert.IsType<BlobRead.Redirect>(await store.OpenAsync(digest, ByteRange.From(5), allow, None));
    }

    [Fact]
    public async Task Open_RedirectAllowedButNotConfigured_StreamsTheBytes()
    {
        var content = Bytes(10, 4);
        var digest = await CommitAsync(content);

        var read = await Blobs.OpenAsync(digest, null, new BlobReadOptions(AllowRedirect: true), None);

        Assert.Equal(content, (await MaterializeAsync(Assert.IsType<BlobRead.Streamed>(read))).Bytes);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("0123456789abcdef:-1")]
    [InlineData("0123456789abcdef:0")]
    [InlineData("0123456789ABCDEF:10")]
    [InlineData("../../blobs:10")]
    [InlineData("0123456789abcdef:10,")]
    [InlineData("0123456789abcdef:99999999999999999999")]
    public async Task Commit_WithAStateThisStoreNeverWrote_IsChangedAndCommitsNothing(string state)
    {
        var content = Bytes(10, 5);
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var good = await AppendAsync(id, 0, content);

        Assert.Equal(UploadCommitResult.Changed, await Uploads.CommitAsync(id, DigestOf(content), state, None));

        Assert.Equal(BlobStat.Missing, await Blobs.StatAsync(DigestOf(content), None));
        Assert.Null(await Uploads.OpenReadAsync(id, state, None));
        Assert.Equal(UploadAppendStatus.OffsetMismatch, (await Uploads.OpenWriterAsync(id, 10, state, None)).Status);
        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, DigestOf(content), good, None)); // the upload is intact
    }

    [Fact]
    public async Task Commit_StateNamingASegmentThatIsGone_IsChangedAndCommitsNothing()
    {
        var content = Bytes(10, 6);
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        await AppendAsync(id, 0, content);

        Assert.Equal(UploadCommitResult.Changed, await Uploads.CommitAsync(id, DigestOf(content), "0123456789abcdef:10", None));

        Assert.Equal(BlobStat.Missing, await Blobs.StatAsync(DigestOf(content), None));
    }

    [Fact]
    public async Task Commit_WhileAWriterHasTheUploadOpen_IsChanged_AndSucceedsOnceItIsClosed()
    {
        var content = Bytes(100, 7);
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);
        var (_, writer) = await Uploads.OpenWriterAsync(id, 100, state, None);

        await using (writer!)
        {
            Assert.Equal(UploadCommitResult.Changed, await Uploads.CommitAsync(id, DigestOf(content), state, None));
        }

        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, DigestOf(content), state, None));
    }

    [Fact]
    public async Task Writers_ManyOneByteChunks_KeepTheStateToOneSegment()
    {
        // A last segment under a block is carried into the next writer's: the state does not grow with the chunk count.
        var content = Bytes(200, 8);
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        string? state = null;
        for (var i = 0; i < content.Length; i++)
        {
            state = await AppendAsync(id, i, content[i..(i + 1)], state);
        }

        Assert.Single(state!.Split(','));
        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(content, (await MaterializeAsync(await Blobs.OpenAsync(DigestOf(content), null, default, None))).Bytes);
    }

    [Fact]
    public async Task Writers_StateStaysAFewBytesPerFourMiB()
    {
        var content = Bytes(9 * 1024 * 1024, 9);
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        string? state = null;
        for (var offset = 0; offset < content.Length; offset += 3 * 1024 * 1024)
        {
            state = await AppendAsync(id, offset, content[offset..(offset + (3 * 1024 * 1024))], state);
        }

        // 3 MiB is carried into the next chunk (6 MiB), then a 3 MiB tail: two segments.
        Assert.Equal(2, state!.Split(',').Length);
        Assert.True(state.Length < 64, state);
    }

    [Fact]
    public async Task Delete_UploadWhoseWriterDied_BreaksItsLeaseAndRemovesEverything()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, Bytes(10, 10));
        var (_, writer) = await Uploads.OpenWriterAsync(id, 10, state, None); // never disposed: a node that died holding it
        await writer!.WriteAsync(Bytes(10, 11), None);

        await Uploads.DeleteAsync(id, None);

        Assert.Empty(await azurite.NamesAsync($"{_prefix}/uploads/{id}/"));
        Assert.Null(await Uploads.GetLengthAsync(id, state, None));
    }

    [Fact]
    public async Task List_ForeignAndMisplacedBlobs_AreSkippedSoEveryListedDigestIsUsable()
    {
        var digest = await CommitAsync(Bytes(10, 12));
        var other = Digest.Compute(DigestAlgorithm.Sha256, [1, 2, 3]);
        foreach (var junk in new[]
                 {
                     $"blobs/sha256/{digest.Hex[..2]}/{digest.Hex}.tmp",
                     $"blobs/sha256/{digest.Hex[..2]}/{digest.Hex.ToUpperInvariant()}",
                     $"blobs/sha256/{digest.Hex[..2]}/notes.txt",
                     $"blobs/sha256/{digest.Hex[..2]}/{other.Hex}",
                     $"blobs/md5/ab/ab{new string('0', 30)}",
                     "blobs/sha256/stray",
                     $"blobs/sha256/{digest.Hex[..2]}/x/{digest.Hex}",
                 })
        {
            await azurite.Client.GetBlobClient($"{_prefix}/{junk}").UploadAsync(BinaryData.FromString("junk"));
        }

        var listed = await ListBlobsAsync();

        Assert.Equal([new StoredBlob(digest, 10, listed[0].LastModified)], listed);
    }

    [Fact]
    public async Task ListUploads_ForeignNamesSkipped_AndLeftoverSegmentsWithoutMarkerListed()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var orphan = NewId();
        await azurite.Client.GetBlobClient($"{_prefix}/uploads/{orphan}/s0123456789abcdef").UploadAsync(BinaryData.FromString("left"));
        await azurite.Client.GetBlobClient($"{_prefix}/uploads/notes.txt").UploadAsync(BinaryData.FromString("x"));
        await azurite.Client.GetBlobClient($"{_prefix}/uploads/bad id!/marker").UploadAsync(BinaryData.FromString("x"));

        var listed = new List<string>();
        await foreach (var (upload, _) in Uploads.ListAsync(None))
        {
            listed.Add(upload);
        }

        Assert.Equal(new[] { id, orphan }.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        await Uploads.DeleteAsync(orphan, None);
        Assert.Empty(await azurite.NamesAsync($"{_prefix}/uploads/{orphan}/"));
    }

    [Theory]
    [InlineData("../blobs")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("id?x")]
    public async Task Uploads_IdThatCouldNameAnotherBlob_IsRefused(string id)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Uploads.CreateAsync(id, None));
    }

    [Fact]
    public async Task Writer_SecondNodeWaitsForTheLease_ThenContinues()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var other = (await ReopenStoresAsync()).Uploads;
        var (_, first) = await Uploads.OpenWriterAsync(id, 0, null, None);
        string? state;
        await using (first!)
        {
            await first!.WriteAsync(new byte[] { 1 }, None);
            Assert.Equal(UploadAppendStatus.Busy, (await other.OpenWriterAsync(id, 0, null, None)).Status);
            state = await first.CommitAsync(None);
        }

        state = await AppendAsync(id, 1, [2], state, other);

        Assert.Equal(UploadCommitResult.Committed, await other.CommitAsync(id, DigestOf([1, 2]), state, None));
    }

    [Fact]
    public async Task Blob_IsABlockBlobWithAllBlocksCommitted()
    {
        var digest = await CommitAsync(Bytes(100, 13));

        var blocks = await azurite.Client.GetBlockBlobClient($"{_prefix}/blobs/sha256/{digest.Hex[..2]}/{digest.Hex}")
            .GetBlockListAsync(BlockListTypes.All);

        Assert.Empty(blocks.Value.UncommittedBlocks);
        Assert.Equal(100, blocks.Value.CommittedBlocks.Sum(b => b.SizeLong));
    }
}
