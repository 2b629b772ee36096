using System.Security.Cryptography;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Storage;
using Berth.Metadata.Sqlite;
using Berth.Oci;
using Berth.Storage.FileSystem;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem.Tests;

/// <summary>
/// Two <see cref="UploadService"/> instances over the same stores, as two nodes (or a restarted process) are: an upload
/// continues on the other instance from the saved offset, hash state and store state, of two appends at the same
/// offset exactly one is acknowledged while the blob stays correct, and a chunk that fails midway leaves nothing behind.
/// </summary>
public sealed class UploadServiceAcrossNodesTests : IDisposable
{
    private static readonly RepositoryName Repository = RepositoryName.Parse("shop/api");
    private readonly string _root = Path.Combine(Path.GetTempPath(), "berth-nodes-" + Guid.NewGuid().ToString("N"));
    private readonly SqliteDatabase _database;
    private readonly SqliteMetadataStore _metadata;

    public UploadServiceAcrossNodesTests()
    {
        var options = Options.Create(new SqliteMetadataOptions { DatabasePath = Path.Combine(_root, "berth.db") });
        new SqliteMigrator(options).Migrate();
        _database = new SqliteDatabase(options);
        _metadata = new SqliteMetadataStore(_database, TimeProvider.System);
        ((IProjectStore)new SqliteProjectStore(_database, TimeProvider.System))
            .CreateAsync(ProjectName.Parse("shop"), "", ProjectVisibility.Private, CancellationToken.None).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        _database.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Append_ThenContinueOnAnotherNode_UsesTheSavedHashStateAndCommitsTheRightBlob()
    {
        var (a, b) = (Node(), Node());
        var content = RandomNumberGenerator.GetBytes(300_001);
        var upload = await a.StartAsync(Repository, CancellationToken.None);

        var first = await a.AppendAsync(Repository, upload.Id, new MemoryStream(content[..100_000]), null, null, CancellationToken.None);
        var saved = await _metadata.GetAsync(upload.Id, CancellationToken.None);
        var second = await b.AppendAsync(Repository, upload.Id, new MemoryStream(content[100_000..200_003]), null, null, CancellationToken.None);
        var done = await a.CompleteAsync(Repository, upload.Id, DigestOf(content), new MemoryStream(content[200_003..]), null, null, CancellationToken.None);

        Assert.Equal(100_000, first.Value!.Length);
        Assert.Equal(100_000, saved!.Offset);
        Assert.Equal(Core.Hashing.Sha256State.StateSize, saved.HashState!.Length);
        Assert.Equal(200_003, second.Value!.Length);
        Assert.True(done.IsSuccess, done.Error?.Message);
        Assert.Equal(content, await File.ReadAllBytesAsync(BlobPath(DigestOf(content))));
    }

    [Fact]
    public async Task Complete_AfterASavedStateWasTamperedWith_FallsBackToReadingTheData()
    {
        var node = Node();
        var content = RandomNumberGenerator.GetBytes(5000);
        var upload = await node.StartAsync(Repository, CancellationToken.None);
        await node.AppendAsync(Repository, upload.Id, new MemoryStream(content), null, null, CancellationToken.None);
        await _database.WriteAsync((c, _) => (c.Command("UPDATE uploads SET hash_state = x'00' WHERE id = $id", ("$id", upload.Id)).ExecuteNonQuery(), true), CancellationToken.None);

        var done = await Node().CompleteAsync(Repository, upload.Id, DigestOf(content), null, null, null, CancellationToken.None);

        Assert.True(done.IsSuccess, done.Error?.Message);
    }

    [Fact]
    public async Task Append_SameOffsetOnTwoNodes_ExactlyOneIsAcknowledgedAndTheBlobIsTheWinners()
    {
        var (a, b) = (Node(), Node());
        var upload = await a.StartAsync(Repository, CancellationToken.None);
        var mine = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        var theirs = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);

        var results = await Task.WhenAll(
            Task.Run(() => a.AppendAsync(Repository, upload.Id, new MemoryStream(mine), new ContentRange(0, mine.Length - 1), mine.Length, CancellationToken.None)),
            Task.Run(() => b.AppendAsync(Repository, upload.Id, new MemoryStream(theirs), new ContentRange(0, theirs.Length - 1), theirs.Length, CancellationToken.None)));

        Assert.Single(results, r => r.IsSuccess);
        Assert.Single(results, r => r.Error?.Code == OciErrorCode.RangeInvalid);
        var winner = results[0].IsSuccess ? mine : theirs;
        Assert.Equal(winner.Length, (await _metadata.GetAsync(upload.Id, CancellationToken.None))!.Offset);
        var done = await b.CompleteAsync(Repository, upload.Id, DigestOf(winner), null, null, null, CancellationToken.None);
        Assert.True(done.IsSuccess, done.Error?.Message);
        Assert.Equal(winner, await File.ReadAllBytesAsync(BlobPath(DigestOf(winner))));
    }

    [Fact]
    public async Task Append_StaleOffsetAfterTheOtherNodeAppended_IsRangeInvalidAndKeepsTheAcknowledgedBytes()
    {
        var (a, b) = (Node(), Node());
        var upload = await a.StartAsync(Repository, CancellationToken.None);
        var content = RandomNumberGenerator.GetBytes(2000);
        await a.AppendAsync(Repository, upload.Id, new MemoryStream(content[..1000]), new ContentRange(0, 999), 1000, CancellationToken.None);

        var stale = await b.AppendAsync(Repository, upload.Id, new MemoryStream(new byte[1000]), new ContentRange(0, 999), 1000, CancellationToken.None);
        await b.AppendAsync(Repository, upload.Id, new MemoryStream(content[1000..]), new ContentRange(1000, 1999), 1000, CancellationToken.None);

        Assert.Equal(OciErrorCode.RangeInvalid, stale.Error?.Code);
        Assert.True((await a.CompleteAsync(Repository, upload.Id, DigestOf(content), null, null, null, CancellationToken.None)).IsSuccess);
    }

    [Fact]
    public async Task Complete_UnacknowledgedBytesLeftByADeadRequest_AreNotPartOfTheBlob()
    {
        var node = Node();
        var content = RandomNumberGenerator.GetBytes(4000);
        var upload = await node.StartAsync(Repository, CancellationToken.None);
        await node.AppendAsync(Repository, upload.Id, new MemoryStream(content), null, null, CancellationToken.None);
        await File.AppendAllTextAsync(Path.Combine(_root, "uploads", upload.Id), "a chunk whose request died before its offset advanced");

        var done = await Node().CompleteAsync(Repository, upload.Id, DigestOf(content), null, null, null, CancellationToken.None);

        Assert.True(done.IsSuccess, done.Error?.Message);
        Assert.Equal(content, await File.ReadAllBytesAsync(BlobPath(DigestOf(content))));
    }

    [Fact]
    public async Task GetStatus_UnacknowledgedBytesStored_ReportsTheAcknowledgedOffsetWhereTheClientCanResume()
    {
        var node = Node();
        var content = RandomNumberGenerator.GetBytes(3000);
        var upload = await node.StartAsync(Repository, CancellationToken.None);
        await node.AppendAsync(Repository, upload.Id, new MemoryStream(content[..1000]), null, null, CancellationToken.None);
        await File.AppendAllTextAsync(Path.Combine(_root, "uploads", upload.Id), "a chunk whose request died before its offset advanced");

        var status = await Node().GetStatusAsync(Repository, upload.Id, CancellationToken.None);
        var resumed = await node.AppendAsync(Repository, upload.Id, new MemoryStream(content[1000..]), new ContentRange(status.Value!.Length, 2999), 2000, CancellationToken.None);

        Assert.Equal(1000, status.Value.Length);
        Assert.True(resumed.IsSuccess, resumed.Error?.Message);
        Assert.True((await node.CompleteAsync(Repository, upload.Id, DigestOf(content), null, null, null, CancellationToken.None)).IsSuccess);
        Assert.Equal(content, await File.ReadAllBytesAsync(BlobPath(DigestOf(content))));
    }

    [Fact]
    public async Task Append_StoreWithState_SavesEachChunksStateAndHandsItToTheNextWriterOnAnotherNodeAndToTheCommit()
    {
        var log = new List<string>();
        var (a, b) = (Node(log), Node(log));
        var content = RandomNumberGenerator.GetBytes(3000);
        var upload = await a.StartAsync(Repository, CancellationToken.None);

        await a.AppendAsync(Repository, upload.Id, new MemoryStream(content[..1000]), null, null, CancellationToken.None);
        var saved = (await _metadata.GetAsync(upload.Id, CancellationToken.None))!.StoreState;
        await b.AppendAsync(Repository, upload.Id, new MemoryStream(content[1000..2500]), null, null, CancellationToken.None);
        var done = await a.CompleteAsync(Repository, upload.Id, DigestOf(content), new MemoryStream(content[2500..]), null, null, CancellationToken.None);

        Assert.True(done.IsSuccess, done.Error?.Message);
        Assert.Equal("chunks=1", saved);
        Assert.Equal(
            [
                "length <null>", "open 0 <null>",
                "length chunks=1", "open 1000 chunks=1",
                "length chunks=2", "open 2500 chunks=2",
                $"commit {DigestOf(content)} chunks=3",
            ],
            log);
        Assert.Equal(content, await File.ReadAllBytesAsync(BlobPath(DigestOf(content))));
    }

    [Fact]
    public async Task Complete_Sha512WithStoreState_ReadsTheDataWithTheSavedStateAndCommitsWithIt()
    {
        var log = new List<string>();
        var node = Node(log);
        var content = RandomNumberGenerator.GetBytes(2000);
        var digest = Digest.Compute(DigestAlgorithm.Sha512, content);
        var upload = await node.StartAsync(Repository, CancellationToken.None);
        await node.AppendAsync(Repository, upload.Id, new MemoryStream(content), null, null, CancellationToken.None);

        var done = await Node(log).CompleteAsync(Repository, upload.Id, digest, null, null, null, CancellationToken.None);

        Assert.True(done.IsSuccess, done.Error?.Message);
        Assert.Equal(["length <null>", "open 0 <null>", "length chunks=1", "read chunks=1", $"commit {digest} chunks=1"], log);
    }

    [Fact]
    public async Task Append_BodyFailsMidway_DropsTheChunksBytesAndTheUploadContinuesAtTheAcknowledgedOffset()
    {
        var node = Node();
        var content = RandomNumberGenerator.GetBytes(3000);
        var upload = await node.StartAsync(Repository, CancellationToken.None);
        await node.AppendAsync(Repository, upload.Id, new MemoryStream(content[..1000]), null, null, CancellationToken.None);

        await Assert.ThrowsAsync<IOException>(() =>
            node.AppendAsync(Repository, upload.Id, new FailingStream(content[1000..], failAfter: 1500), null, null, CancellationToken.None));

        Assert.Equal(1000, (await _metadata.GetAsync(upload.Id, CancellationToken.None))!.Offset);
        Assert.Equal(1000, new FileInfo(Path.Combine(_root, "uploads", upload.Id)).Length); // the writer was cancelled
        var again = await Node().AppendAsync(Repository, upload.Id, new MemoryStream(content[1000..]), new ContentRange(1000, 2999), 2000, CancellationToken.None);
        Assert.True(again.IsSuccess, again.Error?.Message);
        Assert.True((await node.CompleteAsync(Repository, upload.Id, DigestOf(content), null, null, null, CancellationToken.None)).IsSuccess);
        Assert.Equal(content, await File.ReadAllBytesAsync(BlobPath(DigestOf(content))));
    }

    private UploadService Node(List<string>? log = null)
    {
        var store = new FileSystemBlobStore(Options.Create(new FileSystemStorageOptions { RootPath = _root }));
        IUploadStore uploads = log is null ? store : new StatefulUploadStore(store, log);
        return new UploadService(uploads, store, _metadata, _metadata, TimeProvider.System, Options.Create(new RegistryOptions()), NullLogger<UploadService>.Instance);
    }

    /// <summary>
    /// The file store as a store with state would look (S3, Azure): each writer's commit returns <c>chunks=N</c>, one more
    /// than the state it was opened with; what the service hands to the store is logged.
    /// </summary>
    private sealed class StatefulUploadStore(IUploadStore inner, List<string> log) : IUploadStore
    {
        public Task CreateAsync(string uploadId, CancellationToken cancellationToken) => inner.CreateAsync(uploadId, cancellationToken);

        public Task<long?> GetLengthAsync(string uploadId, string? storeState, CancellationToken cancellationToken)
        {
            log.Add($"length {storeState ?? "<null>"}");
            return inner.GetLengthAsync(uploadId, null, cancellationToken);
        }

        public async Task<(UploadAppendStatus Status, IUploadWriter? Writer)> OpenWriterAsync(string uploadId, long offset, string? storeState, CancellationToken cancellationToken)
        {
            log.Add($"open {offset} {storeState ?? "<null>"}");
            var (status, writer) = await inner.OpenWriterAsync(uploadId, offset, null, cancellationToken);
            var chunks = storeState is null ? 0 : int.Parse(storeState["chunks=".Length..], System.Globalization.CultureInfo.InvariantCulture);
            return (status, writer is null ? null : new Writer(writer, chunks + 1));
        }

        public Task<Stream?> OpenReadAsync(string uploadId, string? storeState, CancellationToken cancellationToken)
        {
            log.Add($"read {storeState ?? "<null>"}");
            return inner.OpenReadAsync(uploadId, null, cancellationToken);
        }

        public Task<UploadCommitResult> CommitAsync(string uploadId, Digest digest, string? storeState, CancellationToken cancellationToken)
        {
            log.Add($"commit {digest} {storeState ?? "<null>"}");
            return inner.CommitAsync(uploadId, digest, null, cancellationToken);
        }

        public Task DeleteAsync(string uploadId, CancellationToken cancellationToken) => inner.DeleteAsync(uploadId, cancellationToken);

        public IAsyncEnumerable<(string Id, DateTimeOffset LastWrite)> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        private sealed class Writer(IUploadWriter inner, int chunks) : IUploadWriter
        {
            public long Size => inner.Size;

            public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => inner.WriteAsync(data, cancellationToken);

            public async Task<string?> CommitAsync(CancellationToken cancellationToken)
            {
                // The file store's own state (the acknowledged length) is replaced by this wrapper's; commit is given none.
                Assert.Equal(inner.Size.ToString(System.Globalization.CultureInfo.InvariantCulture), await inner.CommitAsync(cancellationToken));
                return $"chunks={chunks}";
            }

            public Task CancelAsync(CancellationToken cancellationToken) => inner.CancelAsync(cancellationToken);

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    /// <summary>A request body whose connection breaks after <c>failAfter</c> bytes.</summary>
    private sealed class FailingStream(byte[] content, int failAfter) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position >= failAfter)
            {
                throw new IOException("the client's connection broke");
            }

            var n = Math.Min(Math.Min(buffer.Length, 500), Math.Min(failAfter, content.Length) - _position);
            content.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private string BlobPath(Digest digest) => Path.Combine(_root, "blobs", "sha256", digest.Hex[..2], digest.Hex);

    private static Digest DigestOf(byte[] content) => Digest.Compute(DigestAlgorithm.Sha256, content);
}
