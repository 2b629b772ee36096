using System.Security.Cryptography;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Metadata.Sqlite;
using Berth.Oci;
using Berth.Storage.FileSystem;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem.Tests;

/// <summary>
/// Two <see cref="UploadService"/> instances over the same stores, as two nodes (or a restarted process) are: an upload
/// continues on the other instance from the saved offset and hash state, and of two appends at the same offset exactly
/// one is acknowledged while the blob stays correct.
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

    private UploadService Node()
    {
        var store = new FileSystemBlobStore(Options.Create(new FileSystemStorageOptions { RootPath = _root }));
        return new UploadService(store, store, _metadata, _metadata, TimeProvider.System, Options.Create(new RegistryOptions()), NullLogger<UploadService>.Instance);
    }

    private string BlobPath(Digest digest) => Path.Combine(_root, "blobs", "sha256", digest.Hex[..2], digest.Hex);

    private static Digest DigestOf(byte[] content) => Digest.Compute(DigestAlgorithm.Sha256, content);
}
