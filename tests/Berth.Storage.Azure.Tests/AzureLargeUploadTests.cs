using System.Security.Cryptography;
using Berth.Core.Storage;
using Berth.Oci;
using Berth.Testing.Servers;

namespace Berth.Storage.Azure.Tests;

/// <summary>Uploads of several MiB in chunks of every size, across store instances (nodes), read back byte for byte.</summary>
[RequiresServer("Azurite", "BERTH_TEST_AZURITE", "127.0.0.1:10000")]
public sealed class AzureLargeUploadTests(AzuriteContainer azurite) : IClassFixture<AzuriteContainer>, IAsyncLifetime
{
    private const int MiB = 1024 * 1024;
    private readonly string _prefix = "large" + Guid.NewGuid().ToString("N")[..10];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => azurite.DeleteUnderAsync(_prefix + "/");

    [Fact]
    public async Task Commit_MixedChunkSizesFromOneByteTo13MiB_IsByteIdentical()
    {
        int[] sizes = [1, 2, 4095, 4 * MiB - 1, 1, 4 * MiB, 4 * MiB + 1, 7, 13 * MiB, 1, 3 * MiB, 65536];
        var content = RandomNumberGenerator.GetBytes(sizes.Sum());

        var digest = await UploadAsync(content, sizes, instances: 1);

        Assert.Equal(content, await ReadAsync(azurite.Store(_prefix), digest));
    }

    [Fact]
    public async Task Commit_40MiBIn3MiBChunks_AlternatingInstances_IsByteIdentical()
    {
        var content = RandomNumberGenerator.GetBytes(40 * MiB);
        var sizes = Enumerable.Repeat(3 * MiB, 13).Append(MiB).ToArray();

        var digest = await UploadAsync(content, sizes, instances: 2);

        var store = azurite.Store(_prefix);
        Assert.Equal(new BlobStat(true, 40 * MiB), await store.StatAsync(digest, CancellationToken.None));
        Assert.Equal(content, await ReadAsync(store, digest));
        var range = Assert.IsType<BlobRead.Streamed>(await store.OpenAsync(digest, ByteRange.Between(17 * MiB - 5, 17 * MiB + 4), default, CancellationToken.None));
        await using (range.Content)
        {
            var bytes = new byte[10];
            await range.Content.ReadExactlyAsync(bytes);
            Assert.Equal(content[(17 * MiB - 5)..(17 * MiB + 5)], bytes);
        }
    }

    [Fact]
    public async Task Upload_ResumedOnANewInstanceAfterARestart_ThenCommittedOnAThird_IsByteIdentical()
    {
        var content = RandomNumberGenerator.GetBytes(10 * MiB + 3);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var a = azurite.Store(_prefix);
        await a.CreateAsync(id, CancellationToken.None);
        var state = await AppendAsync(a, id, 0, content[..(5 * MiB)], null);

        // Node A dies mid-chunk: its writer wrote 2 MiB and never committed (nor let go of the lease, which ends by itself
        // or is released). A restarted node B continues from the saved state.
        var (_, dying) = await a.OpenWriterAsync(id, 5 * MiB, state, CancellationToken.None);
        await dying!.WriteAsync(RandomNumberGenerator.GetBytes(2 * MiB), CancellationToken.None);
        await dying.DisposeAsync();

        var b = azurite.Store(_prefix);
        Assert.Equal(5L * MiB, await b.GetLengthAsync(id, state, CancellationToken.None));
        state = await AppendAsync(b, id, 5 * MiB, content[(5 * MiB)..], state);

        var c = azurite.Store(_prefix);
        await using (var read = await c.OpenReadAsync(id, state, CancellationToken.None))
        {
            Assert.Equal(content, await ReadAllAsync(read!));
        }

        Assert.Equal(UploadCommitResult.Committed, await c.CommitAsync(id, Digest.Compute(DigestAlgorithm.Sha256, content), state, CancellationToken.None));
        Assert.Equal(content, await ReadAsync(a, Digest.Compute(DigestAlgorithm.Sha256, content)));
        Assert.Empty(await azurite.NamesAsync($"{_prefix}/uploads/"));
    }

    [Fact]
    public async Task Commit_SameContentFromTwoUploads_SecondIsAlreadyExistsAndBothUploadsAreGone()
    {
        var content = RandomNumberGenerator.GetBytes(5 * MiB);
        var digest = Digest.Compute(DigestAlgorithm.Sha256, content);
        var store = azurite.Store(_prefix);
        var ids = new[] { NewId(), NewId() };
        var states = new List<string?>();
        foreach (var id in ids)
        {
            await store.CreateAsync(id, CancellationToken.None);
            states.Add(await AppendAsync(store, id, 0, content, null));
        }

        var results = await Task.WhenAll(
            store.CommitAsync(ids[0], digest, states[0], CancellationToken.None),
            azurite.Store(_prefix).CommitAsync(ids[1], digest, states[1], CancellationToken.None));

        Assert.Contains(UploadCommitResult.Committed, results);
        Assert.All(results, r => Assert.True(r is UploadCommitResult.Committed or UploadCommitResult.AlreadyExists, r.ToString()));
        Assert.Equal(content, await ReadAsync(store, digest));
        Assert.Empty(await azurite.NamesAsync($"{_prefix}/uploads/"));
    }

    private async Task<Digest> UploadAsync(byte[] content, int[] sizes, int instances)
    {
        var id = NewId();
        var stores = Enumerable.Range(0, instances).Select(_ => azurite.Store(_prefix)).ToArray();
        await stores[0].CreateAsync(id, CancellationToken.None);
        string? state = null;
        var offset = 0;
        for (var i = 0; i < sizes.Length; i++)
        {
            state = await AppendAsync(stores[i % instances], id, offset, content[offset..(offset + sizes[i])], state);
            offset += sizes[i];
        }

        var digest = Digest.Compute(DigestAlgorithm.Sha256, content);
        Assert.Equal((long)content.Length, await stores[^1].GetLengthAsync(id, state, CancellationToken.None));
        Assert.Equal(UploadCommitResult.Committed, await stores[^1].CommitAsync(id, digest, state, CancellationToken.None));
        return digest;
    }

    private static async Task<string?> AppendAsync(IUploadStore store, string id, long offset, byte[] chunk, string? state)
    {
        var (status, writer) = await store.OpenWriterAsync(id, offset, state, CancellationToken.None);
        Assert.Equal(UploadAppendStatus.Opened, status);
        await using (writer!)
        {
            // In pieces of at most 1 MiB, as the upload service's copier writes.
            for (var at = 0; at < chunk.Length; at += MiB)
            {
                await writer!.WriteAsync(chunk.AsMemory(at, Math.Min(MiB, chunk.Length - at)), CancellationToken.None);
            }

            return await writer!.CommitAsync(CancellationToken.None);
        }
    }

    private static async Task<byte[]> ReadAsync(IBlobStore store, Digest digest)
    {
        var read = Assert.IsType<BlobRead.Streamed>(await store.OpenAsync(digest, null, default, CancellationToken.None));
        await using (read.Content)
        {
            return await ReadAllAsync(read.Content);
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
