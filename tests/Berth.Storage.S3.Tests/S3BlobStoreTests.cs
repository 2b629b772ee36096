using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Amazon.S3.Model;
using Berth.Core.Storage;
using Berth.Oci;
using Berth.Testing.Servers;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Storage.S3.Tests;

/// <summary>
/// What only the S3 store has to get right, against radosgw: chunks on both sides of S3's 5 MiB minimum part size,
/// large blobs through bounded buffers, continuing on a restarted or a second instance, the lease of a writer that
/// died, presigned redirects, and the keys it leaves behind.
/// </summary>
[RequiresServer("S3 (radosgw)", "BERTH_TEST_S3", "127.0.0.1:7480")]
public sealed class S3BlobStoreTests(S3TestBucket bucket) : IClassFixture<S3TestBucket>, IAsyncLifetime
{
    private const int MiB = 1024 * 1024;

    private readonly string _prefix = "specific/" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    private static CancellationToken None => CancellationToken.None;

    public Task InitializeAsync() => bucket.EnsureCreatedAsync();

    public Task DisposeAsync() => bucket.DeleteAllAsync(_prefix + "/");

    [Fact]
    public async Task Commit_ChunksAroundTheMinimumPartSizeInMixedOrder_ByteIdenticalBlobAndEverySegmentButTheLastIsAPart()
    {
        var store = bucket.OpenStore(_prefix);
        int[] sizes = [1, MiB, (5 * MiB) - 1, 5 * MiB, 1, (5 * MiB) + 1, 13 * MiB, (5 * MiB) - 1, MiB, 1];
        var content = Bytes(sizes.Sum(), 1);
        var id = NewId();
        await store.CreateAsync(id, None);

        string? state = null;
        var offset = 0;
        foreach (var size in sizes)
        {
            state = await AppendAsync(store, id, offset, content.AsMemory(offset, size), state);
            offset += size;
            Assert.True(UploadSegments.TryDecode(state, out var segments));
            Assert.Equal(offset, UploadSegments.LengthOf(segments));
            Assert.All(segments.SkipLast(1), s => Assert.True(s.Length >= S3BlobStore.MinimumPartSize, $"segment of {s.Length} bytes before the last"));
        }

        Assert.Equal(UploadCommitResult.Committed, await store.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(await ReadBlobAsync(store, DigestOf(content))));
    }

    [Fact]
    public async Task Commit_FortyMiBInThreeMiBChunks_ByteIdenticalBlob()
    {
        var store = bucket.OpenStore(_prefix);
        var content = Bytes(40 * MiB, 2);
        var id = NewId();
        await store.CreateAsync(id, None);

        string? state = null;
        for (var offset = 0; offset < content.Length; offset += 3 * MiB)
        {
            state = await AppendAsync(store, id, offset, content.AsMemory(offset, Math.Min(3 * MiB, content.Length - offset)), state);
        }

        Assert.Equal(UploadCommitResult.Committed, await store.CommitAsync(id, DigestOf(content), state, None));
        var read = await ReadBlobAsync(store, DigestOf(content));
        Assert.Equal(content.Length, read.Length);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(read));
    }

    [Fact]
    public async Task Commit_OneChunkLargerThanAPart_IsSentInPartsAndReadsBackIdentical()
    {
        var store = bucket.OpenStore(_prefix);
        var content = Bytes((2 * S3BlobStore.PartSize) + 12345, 3);
        var id = NewId();
        await store.CreateAsync(id, None);

        // Written in pieces smaller and larger than a part, as a request body arrives.
        var (status, writer) = await store.OpenWriterAsync(id, 0, null, None);
        Assert.Equal(UploadAppendStatus.Opened, status);
        string? state;
        await using (writer!)
        {
            for (var offset = 0; offset < content.Length;)
            {
                var n = Math.Min(offset % 3 == 0 ? 3 * MiB : 65536, content.Length - offset);
                await writer!.WriteAsync(content.AsMemory(offset, n), None);
                offset += n;
            }

            state = await writer!.CommitAsync(None);
        }

        Assert.True(UploadSegments.TryDecode(state, out var segments));
        Assert.Equal((long)content.Length, Assert.Single(segments).Length);
        Assert.Equal(UploadCommitResult.Committed, await store.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(await ReadBlobAsync(store, DigestOf(content))));
    }

    [Fact]
    public async Task Upload_ContinuedAfterARestart_CommitsTheIdenticalBlob()
    {
        var content = Bytes((7 * MiB) + 5, 4);
        var id = NewId();
        var first = bucket.OpenStore(_prefix);
        await first.CreateAsync(id, None);
        var state = await AppendAsync(first, id, 0, content.AsMemory(0, 2 * MiB), null);

        // The process restarts: a new instance with nothing in memory but the saved state.
        var restarted = bucket.OpenStore(_prefix);
        Assert.Equal(2L * MiB, await restarted.GetLengthAsync(id, state, None));
        state = await AppendAsync(restarted, id, 2 * MiB, content.AsMemory(2 * MiB), state);

        Assert.Equal(UploadCommitResult.Committed, await bucket.OpenStore(_prefix).CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(content, await ReadBlobAsync(restarted, DigestOf(content)));
    }

    [Fact]
    public async Task Upload_TwoNodesAtOnce_ChunksAlternateAndEachRefusesWhileTheOtherWrites()
    {
        var a = bucket.OpenStore(_prefix);
        var b = bucket.OpenStore(_prefix);
        var content = Bytes(12 * MiB, 5);
        var id = NewId();
        await a.CreateAsync(id, None);

        string? state = null;
        var chunk = 2 * MiB;
        for (var offset = 0; offset < content.Length; offset += chunk)
        {
            var (writing, other) = offset / chunk % 2 == 0 ? (a, b) : (b, a);
            var (status, writer) = await writing.OpenWriterAsync(id, offset, state, None);
            Assert.Equal(UploadAppendStatus.Opened, status);
            await using (writer!)
            {
                await writer!.WriteAsync(content.AsMemory(offset, chunk / 2), None);
                Assert.Equal(UploadAppendStatus.Busy, (await other.OpenWriterAsync(id, offset, state, None)).Status);
                await writer.WriteAsync(content.AsMemory(offset + (chunk / 2), chunk / 2), None);
                state = await writer.CommitAsync(None);
            }
        }

        Assert.Equal(UploadCommitResult.Committed, await b.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(await ReadBlobAsync(a, DigestOf(content))));
    }

    [Fact]
    public async Task Writer_AbandonedMidChunkByADeadProcess_ItsLeaseLapsesAndNothingItWroteIsUsed()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var dying = bucket.OpenStore(_prefix, clock);
        var content = Bytes(6 * MiB, 6);
        var id = NewId();
        await dying.CreateAsync(id, None);
        var state = await AppendAsync(dying, id, 0, content.AsMemory(0, 4 * MiB), null);

        // A chunk large enough that a part was sent, then the process dies: no commit, no cancel, no dispose.
        var (_, abandoned) = await dying.OpenWriterAsync(id, 4 * MiB, state, None);
        await abandoned!.WriteAsync(Bytes(S3BlobStore.PartSize + MiB, 7), None);
        var pending = await bucket.Admin.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = bucket.Name, Prefix = $"{_prefix}/uploads/{id}/" });
        Assert.Single(pending.MultipartUploads);

        // The client resumes on another node: refused while the dead writer's lease holds, let in once it lapsed.
        var other = bucket.OpenStore(_prefix, clock);
        Assert.Equal(UploadAppendStatus.Busy, (await other.OpenWriterAsync(id, 4 * MiB, state, None)).Status);
        clock.Advance(TimeSpan.FromSeconds(31));
        state = await AppendAsync(other, id, 4 * MiB, content.AsMemory(4 * MiB), state);

        Assert.Equal(UploadCommitResult.Committed, await other.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(content, await ReadBlobAsync(other, DigestOf(content)));

        // What the dead process left (its first segment, rewritten by the resumed writer as a tail, and its multipart
        // upload) has no marker any more: the sweeper lists the upload and its delete removes both.
        var listed = new List<string>();
        await foreach (var (upload, _) in other.ListAsync(None))
        {
            listed.Add(upload);
        }

        Assert.Equal([id], listed.Distinct());
        await other.DeleteAsync(id, None);
        Assert.Empty(await bucket.KeysAsync($"{_prefix}/uploads/"));
        pending = await bucket.Admin.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = bucket.Name, Prefix = $"{_prefix}/uploads/" });
        Assert.Empty(pending.MultipartUploads ?? []);
    }

    [Fact]
    public async Task Writer_DisposedMidChunk_AbortsItsPartsAndLetsGoAtOnce()
    {
        var store = bucket.OpenStore(_prefix);
        var id = NewId();
        await store.CreateAsync(id, None);

        var (_, writer) = await store.OpenWriterAsync(id, 0, null, None);
        await writer!.WriteAsync(Bytes(S3BlobStore.PartSize + 1, 8), None);
        await writer.DisposeAsync();

        var pending = await bucket.Admin.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = bucket.Name, Prefix = $"{_prefix}/uploads/{id}/" });
        Assert.Empty(pending.MultipartUploads ?? []);
        Assert.Equal([$"{_prefix}/uploads/{id}/marker"], await bucket.KeysAsync($"{_prefix}/uploads/{id}/"));
        Assert.Equal(UploadAppendStatus.Opened, (await AssertOpensAsync(bucket.OpenStore(_prefix), id, 0, null)));
    }

    [Fact]
    public async Task Writer_StalledPastItsLease_LosesTheLockButTheAcknowledgedStateStillDecides()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = bucket.OpenStore(_prefix, clock);
        var b = bucket.OpenStore(_prefix, clock);
        var id = NewId();
        await a.CreateAsync(id, None);
        var start = Bytes(100, 9);
        var state = await AppendAsync(a, id, 0, start, null);

        var (_, slow) = await a.OpenWriterAsync(id, 100, state, None);
        await using (slow!)
        {
            await slow!.WriteAsync(Bytes(10, 10), None);
            clock.Advance(TimeSpan.FromMinutes(1));
            var (status, fast) = await b.OpenWriterAsync(id, 100, state, None); // took the lapsed lock over
            Assert.Equal(UploadAppendStatus.Opened, status);
            string? acknowledged;
            await using (fast!)
            {
                await fast!.WriteAsync(new byte[] { 1, 2, 3 }, None);
                acknowledged = await fast.CommitAsync(None);
            }

            _ = await slow.CommitAsync(None); // its state is never saved: the compare-and-set went to the other
            byte[] expected = [.. start, 1, 2, 3];
            Assert.Equal(UploadCommitResult.Committed, await b.CommitAsync(id, DigestOf(expected), acknowledged, None));
            Assert.Equal(expected, await ReadBlobAsync(b, DigestOf(expected)));
        }
    }

    [Fact]
    public async Task Commit_LeavesTheBlobUnderItsDigestKeyAndNothingOfTheUpload()
    {
        var store = bucket.OpenStore(_prefix);
        var content = Bytes(6 * MiB, 11);
        var id = NewId();
        await store.CreateAsync(id, None);
        var state = await AppendAsync(store, id, 0, content.AsMemory(0, MiB), null);
        state = await AppendAsync(store, id, MiB, content.AsMemory(MiB), state);
        var digest = DigestOf(content);

        Assert.Equal(UploadCommitResult.Committed, await store.CommitAsync(id, digest, state, None));

        Assert.Equal([$"{_prefix}/blobs/sha256/{digest.Hex[..2]}/{digest.Hex}"], await bucket.KeysAsync(_prefix + "/"));
    }

    [Fact]
    public async Task Open_SmallBlob_IsKeptInMemoryAndServedWithoutTheBucket_WholeAndRanges()
    {
        var store = bucket.OpenStore(_prefix);
        var content = Bytes(300_000, 13);
        var digest = await CommitAsync(store, content);
        Assert.Equal(content, await ReadBlobAsync(store, digest)); // read once from the bucket, then kept

        // Behind the store's back: the object is gone, the cached bytes (named by their digest) are still right.
        await bucket.Admin.DeleteObjectAsync(bucket.Name, $"{_prefix}/blobs/sha256/{digest.Hex[..2]}/{digest.Hex}");
        Assert.Equal(content, await ReadBlobAsync(store, digest));
        Assert.Equal(new BlobStat(true, content.Length), await store.StatAsync(digest, None));
        var ranged = await store.OpenAsync(digest, Berth.Core.Storage.ByteRange.Between(1000, 1999), default, None);
        var streamed = Assert.IsType<BlobRead.Streamed>(ranged);
        Assert.Equal((1000L, 1000L, (long)content.Length), (streamed.Offset, streamed.Length, streamed.TotalSize));
        using (var reader = new MemoryStream())
        {
            await streamed.Content.CopyToAsync(reader);
            Assert.Equal(content[1000..2000], reader.ToArray());
        }

        Assert.IsType<BlobRead.RangeNotSatisfiable>(await store.OpenAsync(digest, Berth.Core.Storage.ByteRange.From(content.Length), default, None));

        // A delete through the store forgets it at once.
        await store.DeleteAsync(digest, None);
        Assert.IsType<BlobRead.NotFound>(await store.OpenAsync(digest, null, default, None));
        Assert.Equal(BlobStat.Missing, await store.StatAsync(digest, None));
    }

    [Fact]
    public async Task Open_BlobAboveTheLimitOrCacheOff_IsStreamedFromTheBucketEveryTime()
    {
        var large = bucket.OpenStore(_prefix);
        var off = bucket.OpenStore(_prefix, configure: o => o.BlobCacheBytes = 0);
        var big = Bytes(SmallBlobCacheLimit + 1, 14);
        var small = Bytes(1000, 15);
        var bigDigest = await CommitAsync(large, big);
        var smallDigest = await CommitAsync(off, small);
        Assert.Equal(big, await ReadBlobAsync(large, bigDigest));
        Assert.Equal(small, await ReadBlobAsync(off, smallDigest));
        Assert.Equal(0, off.Cache.CachedBytes);

        foreach (var digest in new[] { bigDigest, smallDigest })
        {
            await bucket.Admin.DeleteObjectAsync(bucket.Name, $"{_prefix}/blobs/sha256/{digest.Hex[..2]}/{digest.Hex}");
        }

        Assert.IsType<BlobRead.NotFound>(await large.OpenAsync(bigDigest, null, default, None));
        Assert.IsType<BlobRead.NotFound>(await off.OpenAsync(smallDigest, null, default, None));
    }

    [Fact]
    public async Task Open_WholeBlobFromAPlainHttpEndpoint_ArrivesOnASocketTheServerMayTake_AndReadsIdenticalEitherWay()
    {
        var store = bucket.OpenStore(_prefix, configure: o => o.BlobCacheBytes = 0);
        var viaClient = bucket.OpenStore(_prefix, configure: o => (o.BlobCacheBytes, o.SocketReads) = (0, false));
        var content = Bytes((3 * MiB) + 17, 30);
        var digest = await CommitAsync(store, content);

        // Read as a stream.
        var read = Assert.IsType<BlobRead.Streamed>(await store.OpenAsync(digest, null, default, None));
        Assert.IsAssignableFrom<ISocketBody>(read.Content);
        Assert.Equal(content.Length, read.Length);
        Assert.Equal(content, await ReadAllAsync(read.Content));

        // Taken as a socket: the bytes that came with the head, then exactly the rest from the socket, then its end.
        var taken = Assert.IsType<BlobRead.Streamed>(await store.OpenAsync(digest, null, default, None));
        await using (taken.Content)
        {
            var body = Assert.IsAssignableFrom<ISocketBody>(taken.Content);
            Assert.True(body.TryTakeSocket(out var socket, out var buffered));
            Assert.False(body.TryTakeSocket(out _, out _));
            using var all = new MemoryStream();
            all.Write(buffered.Span);
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None)) > 0)
            {
                all.Write(buffer, 0, n);
            }

            Assert.Equal(content, all.ToArray());
        }

        // SocketReads off: the HTTP client's stream, the same bytes.
        var plain = Assert.IsType<BlobRead.Streamed>(await viaClient.OpenAsync(digest, null, default, None));
        Assert.IsNotAssignableFrom<ISocketBody>(plain.Content);
        Assert.Equal(content, await ReadAllAsync(plain.Content));

        // A missing blob is still NotFound on the socket path.
        Assert.IsType<BlobRead.NotFound>(await store.OpenAsync(DigestOf(Bytes(10, 31)), null, default, None));
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    [Fact]
    public async Task Stat_ExistenceIsBelievedForThePresenceLifetimeThenAskedAgain()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = bucket.OpenStore(_prefix, clock, o => o.BlobCacheBytes = 0);
        var content = Bytes(100, 16);
        var digest = await CommitAsync(store, content);
        Assert.Equal(new BlobStat(true, 100), await store.StatAsync(digest, None));

        await bucket.Admin.DeleteObjectAsync(bucket.Name, $"{_prefix}/blobs/sha256/{digest.Hex[..2]}/{digest.Hex}");
        Assert.Equal(new BlobStat(true, 100), await store.StatAsync(digest, None));
        clock.Advance(SmallBlobCache.PresenceLifetime);
        Assert.Equal(BlobStat.Missing, await store.StatAsync(digest, None));
    }

    [Fact]
    public async Task Push_PostThenPutOnOneInstance_CostsEightRequestsAndLeavesOnlyTheBlob()
    {
        var store = bucket.OpenStore(_prefix);
        var requests = new List<string>();
        ((Amazon.Runtime.AmazonServiceClient)store.Client).BeforeRequestEvent += (_, e) =>
        {
            lock (requests)
            {
                requests.Add(e.GetType().Name);
            }
        };
        var content = Bytes(4096, 17);
        var digest = DigestOf(content);
        var id = NewId();

        // What UploadService does for docker's POST, then PUT ?digest= with the bytes.
        await store.CreateAsync(id, None);
        Assert.Equal(0L, await store.GetLengthAsync(id, null, None));
        var state = await AppendAsync(store, id, 0, content, null);
        Assert.Equal(UploadCommitResult.Committed, await store.CommitAsync(id, digest, state, None));

        // marker, lock, segment, lock release, HEAD of the blob, copy, marker delete, segment delete: no HEAD of the
        // marker, no lock at commit, no listing.
        Assert.Equal(8, requests.Count);
        Assert.Equal([$"{_prefix}/blobs/sha256/{digest.Hex[..2]}/{digest.Hex}"], await bucket.KeysAsync(_prefix + "/"));
        Assert.Equal(content, await ReadBlobAsync(bucket.OpenStore(_prefix), digest));
    }

    [Fact]
    public async Task Commit_OfAStateThisInstanceWrote_DeletesEveryOwnSegmentByNameAndLeavesAnotherNodesLeftoverToTheSweeper()
    {
        var a = bucket.OpenStore(_prefix);
        var b = bucket.OpenStore(_prefix);
        var content = Bytes(3 * MiB, 18);
        var id = NewId();
        await a.CreateAsync(id, None);

        // Node b writes a chunk whose state is never acknowledged (its response was lost); a writes the upload in two
        // chunks, the second rewriting the first (a tail below the part size) into a new segment.
        _ = await AppendAsync(b, id, 0, Bytes(1000, 19), null);
        var state = await AppendAsync(a, id, 0, content.AsMemory(0, MiB), null);
        state = await AppendAsync(a, id, MiB, content.AsMemory(MiB), state);
        Assert.Equal(UploadCommitResult.Committed, await a.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(content, await ReadBlobAsync(b, DigestOf(content)));

        // Only b's segment is left, without a marker: unknown to every method, listed for the sweeper, removed by it.
        var left = await bucket.KeysAsync($"{_prefix}/uploads/{id}/");
        Assert.Single(left);
        Assert.Contains("/segments/", left[0], StringComparison.Ordinal);
        Assert.Null(await bucket.OpenStore(_prefix).GetLengthAsync(id, state, None));
        var listed = new List<string>();
        await foreach (var (upload, _) in a.ListAsync(None))
        {
            listed.Add(upload);
        }

        Assert.Equal([id], listed);
        await a.DeleteAsync(id, None);
        Assert.Empty(await bucket.KeysAsync($"{_prefix}/uploads/"));
    }

    [Fact]
    public async Task ListUploads_AnUploadWithOnlyAPendingMultipartUpload_IsListedAndItsDeleteAbortsIt()
    {
        var store = bucket.OpenStore(_prefix);
        var id = NewId();
        var key = $"{_prefix}/uploads/{id}/segments/0123abcd";
        var pending = await bucket.Admin.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket.Name, Key = key });
        await bucket.Admin.UploadPartAsync(new UploadPartRequest
        {
            BucketName = bucket.Name,
            Key = key,
            UploadId = pending.UploadId,
            PartNumber = 1,
            InputStream = new MemoryStream(Bytes(1000, 20)),
        });

        var listed = new List<(string Id, DateTimeOffset LastWrite)>();
        await foreach (var upload in store.ListAsync(None))
        {
            listed.Add(upload);
        }

        var (listedId, started) = Assert.Single(listed);
        Assert.Equal(id, listedId);
        Assert.InRange(started, DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddMinutes(10));

        await store.DeleteAsync(id, None);
        var remaining = await bucket.Admin.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = bucket.Name, Prefix = $"{_prefix}/uploads/" });
        Assert.Empty(remaining.MultipartUploads ?? []);
    }

    [Fact]
    public async Task Upload_MarkerIsBelievedForItsTrustThenAskedAgain_AndADeleteThroughTheStoreForgetsItAtOnce()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = bucket.OpenStore(_prefix, clock);
        var id = NewId();
        await store.CreateAsync(id, None);

        // Removed behind the store's back (as another node's cancel would): believed within the trust, then asked.
        await bucket.Admin.DeleteObjectAsync(bucket.Name, $"{_prefix}/uploads/{id}/marker");
        Assert.Equal(0L, await store.GetLengthAsync(id, null, None));
        clock.Advance(S3BlobStore.MarkerTrust);
        Assert.Null(await store.GetLengthAsync(id, null, None));

        var other = NewId();
        await store.CreateAsync(other, None);
        await store.DeleteAsync(other, None);
        Assert.Null(await store.GetLengthAsync(other, null, None));
        Assert.Equal(UploadAppendStatus.NotFound, (await store.OpenWriterAsync(other, 0, null, None)).Status);
    }

    private const int SmallBlobCacheLimit = SmallBlobCache.MaxBlobBytes;

    [Fact]
    public async Task PrivateUpload_StoresNoMarkerOrLockAndLeavesOnlyTheBlob()
    {
        var store = bucket.OpenStore(_prefix);
        var content = Bytes(MiB, 12);
        var id = NewId();
        await store.CreatePrivateAsync(id, None);
        Assert.Empty(await bucket.KeysAsync($"{_prefix}/uploads/{id}/"));

        var (status, writer) = await store.OpenWriterAsync(id, 0, null, None);
        Assert.Equal(UploadAppendStatus.Opened, status);
        string? state;
        await using (writer)
        {
            await writer!.WriteAsync(content, None);
            state = await writer.CommitAsync(None);

            // While the writer is open: its one segment, and neither the marker nor a lock object.
            var keys = await bucket.KeysAsync($"{_prefix}/uploads/{id}/");
            Assert.Single(keys);
            Assert.StartsWith($"{_prefix}/uploads/{id}/segments/", keys[0], StringComparison.Ordinal);
        }

        var digest = DigestOf(content);
        Assert.Equal(UploadCommitResult.Committed, await store.CommitAsync(id, digest, state, None));
        Assert.Equal([$"{_prefix}/blobs/sha256/{digest.Hex[..2]}/{digest.Hex}"], await bucket.KeysAsync(_prefix + "/"));

        // Another instance does not know the id: to it the upload never existed (nobody else can name it anyway).
        var other = bucket.OpenStore(_prefix);
        await other.CreatePrivateAsync(NewId(), None);
        Assert.Null(await other.GetLengthAsync(id, null, None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("2;abc:10")]
    [InlineData("1;ABC:10")]
    [InlineData("1;abc:-1")]
    [InlineData("1;abc:0")]
    [InlineData("1;abc")]
    [InlineData("1;../../blobs:10")]
    [InlineData("1;abc:99999999999999999999")]
    public async Task ForeignState_IsRefusedEverywhereAndCommitsNothing(string state)
    {
        var store = bucket.OpenStore(_prefix);
        var id = NewId();
        await store.CreateAsync(id, None);
        var content = Bytes(10, 12);
        await AppendAsync(store, id, 0, content, null);

        Assert.Null(await store.GetLengthAsync(id, state, None));
        Assert.Equal(UploadAppendStatus.NotFound, (await store.OpenWriterAsync(id, 0, state, None)).Status);
        Assert.Null(await store.OpenReadAsync(id, state, None));
        Assert.Equal(UploadCommitResult.Changed, await store.CommitAsync(id, DigestOf(content), state, None));
        Assert.Equal(BlobStat.Missing, await store.StatAsync(DigestOf(content), None));
    }

    [Fact]
    public async Task Commit_StateNamingASegmentThatIsGone_IsChangedAndCommitsNothing()
    {
        var store = bucket.OpenStore(_prefix);
        var id = NewId();
        await store.CreateAsync(id, None);
        var content = Bytes(6 * MiB, 13);
        var state = await AppendAsync(store, id, 0, content, null);
        var forged = state + ",0123456789abcdef:100";

        Assert.Equal(UploadCommitResult.Changed, await store.CommitAsync(id, DigestOf([.. content, .. new byte[100]]), forged, None));
        Assert.Empty(await bucket.KeysAsync($"{_prefix}/blobs/"));
        Assert.Equal(UploadCommitResult.Committed, await store.CommitAsync(id, DigestOf(content), state, None));
    }

    [Fact]
    public async Task ListBlobs_ForeignKeysUnderBlobs_AreSkipped()
    {
        var store = bucket.OpenStore(_prefix);
        var digest = await CommitAsync(store, Bytes(10, 14));
        var blobs = $"{_prefix}/blobs/";
        foreach (var junk in new[] { $"sha256/{digest.Hex[..2]}/{digest.Hex}.tmp", $"sha256/{digest.Hex[..2]}/{digest.Hex.ToUpperInvariant()}", $"sha256/00/{digest.Hex}", "sha256/stray", "md5/ab/ab00", "notes.txt" })
        {
            await bucket.Admin.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Name, Key = blobs + junk, ContentBody = "junk" });
        }

        var listed = new List<StoredBlob>();
        await foreach (var blob in ((IBlobStore)store).ListAsync(None))
        {
            listed.Add(blob);
        }

        Assert.Equal([digest], listed.Select(b => b.Digest));
    }

    [Fact]
    public async Task ListUploads_ForeignKeysUnderUploads_AreSkipped()
    {
        var store = bucket.OpenStore(_prefix);
        var id = NewId();
        await store.CreateAsync(id, None);
        await bucket.Admin.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Name, Key = $"{_prefix}/uploads/notes.txt", ContentBody = "junk" });
        await bucket.Admin.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Name, Key = $"{_prefix}/uploads/bad id!/marker", ContentBody = "" });

        var listed = new List<string>();
        await foreach (var (upload, _) in store.ListAsync(None))
        {
            listed.Add(upload);
        }

        Assert.Equal([id], listed);
    }

    [Fact]
    public async Task Open_RedirectEnabledAndAllowed_PresignedUrlServesTheBytesAndRanges()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = bucket.OpenStore(_prefix, clock, o => (o.Redirect, o.RedirectExpiry) = (true, TimeSpan.FromMinutes(3)));
        var content = Bytes(100_000, 15);
        var digest = await CommitAsync(store, content);

        var read = await store.OpenAsync(digest, null, new BlobReadOptions(AllowRedirect: true), None);

        var redirect = Assert.IsType<BlobRead.Redirect>(read);
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromMinutes(3), redirect.ExpiresAt);
        Assert.StartsWith(S3TestBucket.Endpoint + "/", redirect.Location.ToString(), StringComparison.Ordinal);
        using var http = new HttpClient();
        Assert.Equal(content, await http.GetByteArrayAsync(redirect.Location));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, redirect.Location) { Headers = { Range = new RangeHeaderValue(10, 19) } };
        using var partial = await http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(content[10..20], await partial.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Open_RedirectEnabled_MissingOrUnsatisfiableOrNotAllowedAreNotRedirects()
    {
        var store = bucket.OpenStore(_prefix, configure: o => o.Redirect = true);
        var digest = await CommitAsync(store, Bytes(100, 16));
        var allow = new BlobReadOptions(AllowRedirect: true);

        Assert.IsType<BlobRead.NotFound>(await store.OpenAsync(DigestOf([1]), null, allow, None));
        Assert.Equal(new BlobRead.RangeNotSatisfiable(100), await store.OpenAsync(digest, Core.Storage.ByteRange.From(100), allow, None));
        var streamed = Assert.IsType<BlobRead.Streamed>(await store.OpenAsync(digest, null, new BlobReadOptions(AllowRedirect: false), None));
        await streamed.Content.DisposeAsync();
        Assert.IsType<BlobRead.Redirect>(await store.OpenAsync(digest, Core.Storage.ByteRange.From(10), allow, None));
    }

    [Fact]
    public async Task Open_RedirectDisabled_StreamsEvenWhenTheCallerAllowsRedirects()
    {
        var store = bucket.OpenStore(_prefix);
        var digest = await CommitAsync(store, Bytes(100, 17));

        var read = await store.OpenAsync(digest, null, new BlobReadOptions(AllowRedirect: true), None);

        var streamed = Assert.IsType<BlobRead.Streamed>(read);
        await streamed.Content.DisposeAsync();
    }

    // ---------------------------------------------------------------- helpers

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static Digest DigestOf(byte[] content) => Digest.Compute(DigestAlgorithm.Sha256, content);

    private static async Task<UploadAppendStatus> AssertOpensAsync(S3BlobStore store, string id, long offset, string? state)
    {
        var (status, writer) = await store.OpenWriterAsync(id, offset, state, None);
        if (writer is not null)
        {
            await writer.DisposeAsync();
        }

        return status;
    }

    private static async Task<string?> AppendAsync(S3BlobStore store, string id, long offset, ReadOnlyMemory<byte> chunk, string? state)
    {
        var (status, writer) = await store.OpenWriterAsync(id, offset, state, None);
        Assert.Equal(UploadAppendStatus.Opened, status);
        await using (writer!)
        {
            await writer!.WriteAsync(chunk, None);
            return await writer.CommitAsync(None);
        }
    }

    private static async Task<Digest> CommitAsync(S3BlobStore store, byte[] content)
    {
        var id = NewId();
        await store.CreateAsync(id, None);
        var state = await AppendAsync(store, id, 0, content, null);
        Assert.Equal(UploadCommitResult.Committed, await store.CommitAsync(id, DigestOf(content), state, None));
        return DigestOf(content);
    }

    private static async Task<byte[]> ReadBlobAsync(S3BlobStore store, Digest digest)
    {
        var read = Assert.IsType<BlobRead.Streamed>(await store.OpenAsync(digest, null, default, None));
        await using var stream = read.Content;
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(read.Length, copy.Length);
        return copy.ToArray();
    }
}
