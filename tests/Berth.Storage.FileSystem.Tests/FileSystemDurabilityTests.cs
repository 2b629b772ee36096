using System.Security.Cryptography;
using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Metadata.Sqlite;
using Berth.Oci;
using Berth.Storage.FileSystem;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem.Tests;

/// <summary>
/// The order of file-system calls that makes a committed blob survive a power loss: the file's bytes, then the rename,
/// then the folder holding the new name, all before the commit returns and so before the metadata link. Recorded
/// through the store's <see cref="IFileOperations"/> seam over the real calls.
/// </summary>
public sealed class FileSystemDurabilityTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "berth-durable-" + Guid.NewGuid().ToString("N"));
    private readonly RecordingFileOperations _files = new();
    private readonly FileSystemBlobStore _store;

    public FileSystemDurabilityTests()
    {
        _store = new FileSystemBlobStore(Options.Create(new FileSystemStorageOptions { RootPath = _root }), _files);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Commit_FirstBlobOfAPrefix_FlushesBytesThenNewFoldersThenRenameThenFolder()
    {
        var (id, digest) = await UploadAsync(RandomNumberGenerator.GetBytes(1000));
        _files.Log.Clear();

        var result = await _store.CommitAsync(id, digest, null, CancellationToken.None);

        Assert.Equal(Core.Storage.UploadCommitResult.Committed, result);
        var blobs = Path.Combine(_root, "blobs");
        var folder = Path.Combine(blobs, "sha256", digest.Hex[..2]);
        Assert.Equal(
            [
                $"flush-file {Upload(id)}",
                $"mkdir {Path.Combine(blobs, "sha256")}",
                $"mkdir {folder}",
                $"flush-dir {blobs}",
                $"flush-dir {Path.Combine(blobs, "sha256")}",
                $"move {Upload(id)} -> {Path.Combine(folder, digest.Hex)}",
                $"flush-dir {folder}",
            ],
            _files.Log);
        Assert.True(File.Exists(Path.Combine(folder, digest.Hex)));
    }

    [Fact]
    public async Task Commit_FolderExists_FlushesBytesThenRenameThenFolder()
    {
        var (first, firstDigest) = await UploadAsync([1, 2, 3]);
        await _store.CommitAsync(first, firstDigest, null, CancellationToken.None);
        var (id, digest) = await UploadWithPrefixAsync(firstDigest.Hex[..2]);
        _files.Log.Clear();

        await _store.CommitAsync(id, digest, null, CancellationToken.None);

        var folder = Path.Combine(_root, "blobs", "sha256", digest.Hex[..2]);
        Assert.Equal(
            [$"flush-file {Upload(id)}", $"move {Upload(id)} -> {Path.Combine(folder, digest.Hex)}", $"flush-dir {folder}"],
            _files.Log);
    }

    [Fact]
    public async Task Commit_SameContentCommittedAlready_FlushesTheFolderOfTheExistingName()
    {
        var content = RandomNumberGenerator.GetBytes(100);
        var (first, digest) = await UploadAsync(content);
        await _store.CommitAsync(first, digest, null, CancellationToken.None);
        var (second, _) = await UploadAsync(content);
        _files.Log.Clear();

        var result = await _store.CommitAsync(second, digest, null, CancellationToken.None);

        Assert.Equal(Core.Storage.UploadCommitResult.AlreadyExists, result);
        Assert.Equal([$"flush-dir {Path.Combine(_root, "blobs", "sha256", digest.Hex[..2])}"], _files.Log);
        Assert.False(File.Exists(Upload(second)));
    }

    [Fact]
    public async Task UploadService_Push_LinksOnlyAfterTheFolderHoldingTheBlobIsFlushed()
    {
        var index = new RecordingBlobIndex(_files.Log);
        var options = Options.Create(new SqliteMetadataOptions { DatabasePath = Path.Combine(_root, "berth.db") });
        new SqliteMigrator(options).Migrate();
        using var database = new SqliteDatabase(options);
        var sessions = new SqliteMetadataStore(database, TimeProvider.System);
        var service = new UploadService(_store, _store, sessions, index, TimeProvider.System,
            Options.Create(new RegistryOptions()), NullLogger<UploadService>.Instance);
        var content = RandomNumberGenerator.GetBytes(4096);
        var digest = Digest.Parse("sha256:" + Convert.ToHexStringLower(SHA256.HashData(content)));

        var result = await service.UploadMonolithicAsync(RepositoryName.Parse("shop/api"), digest, new MemoryStream(content), content.Length, CancellationToken.None);

        Assert.True(result.IsSuccess);
        var folder = Path.Combine(_root, "blobs", "sha256", digest.Hex[..2]);
        var move = _files.Log.FindIndex(e => e.StartsWith("move ", StringComparison.Ordinal));
        var flush = _files.Log.LastIndexOf($"flush-dir {folder}");
        var link = _files.Log.IndexOf($"link shop/api {digest}");
        Assert.True(move >= 0 && flush > move && link > flush, string.Join(Environment.NewLine, _files.Log));
    }

    [Fact]
    public async Task Create_NewUpload_CreatesTheFileWithoutAFlush()
    {
        // Uploads in progress are not durable chunk by chunk, so their folder is not flushed either (one disk flush
        // less per push); a session whose file a power loss took answers BLOB_UPLOAD_UNKNOWN (tested below).
        _files.Log.Clear();

        await _store.CreateAsync("abc123", CancellationToken.None);

        Assert.Equal([$"create {Upload("abc123")}"], _files.Log);
    }

    [Fact]
    public async Task Create_ExistingUpload_WritesAndFlushesNothing()
    {
        await _store.CreateAsync("abc123", CancellationToken.None);
        _files.Log.Clear();

        await _store.CreateAsync("abc123", CancellationToken.None);

        Assert.Equal([$"exists {Upload("abc123")}"], _files.Log);
    }

    [Fact]
    public async Task UploadService_Start_RecordsTheSessionAfterCreatingTheFile()
    {
        var options = Options.Create(new SqliteMetadataOptions { DatabasePath = Path.Combine(_root, "berth.db") });
        new SqliteMigrator(options).Migrate();
        using var database = new SqliteDatabase(options);
        var sessions = new RecordingSessions(new SqliteMetadataStore(database, TimeProvider.System), _files.Log);
        var service = new UploadService(_store, _store, sessions, new RecordingBlobIndex(_files.Log), TimeProvider.System,
            Options.Create(new RegistryOptions()), NullLogger<UploadService>.Instance);
        _files.Log.Clear();

        var upload = await service.StartAsync(RepositoryName.Parse("shop/api"), CancellationToken.None);

        Assert.Equal([$"create {Upload(upload.Id)}", $"session {upload.Id}"], _files.Log);
    }

    [Fact]
    public async Task UploadService_SessionWhoseFileAPowerLossTook_AnswersBlobUploadUnknown_AndCompletesNothing()
    {
        var options = Options.Create(new SqliteMetadataOptions { DatabasePath = Path.Combine(_root, "berth.db") });
        new SqliteMigrator(options).Migrate();
        using var database = new SqliteDatabase(options);
        var metadata = new SqliteMetadataStore(database, TimeProvider.System);
        await ((Berth.Core.Access.IProjectStore)new SqliteProjectStore(database, TimeProvider.System)).CreateAsync(Berth.Core.Access.ProjectName.Parse("shop"), "", Berth.Core.Access.ProjectVisibility.Private, CancellationToken.None);
        var service = new UploadService(_store, _store, metadata, metadata, TimeProvider.System,
            Options.Create(new RegistryOptions()), NullLogger<UploadService>.Instance);
        var repository = RepositoryName.Parse("shop/api");
        var upload = await service.StartAsync(repository, CancellationToken.None);
        File.Delete(Upload(upload.Id)); // what a power loss before the folder reached the disk leaves

        var content = RandomNumberGenerator.GetBytes(100);
        var append = await service.AppendAsync(repository, upload.Id, new MemoryStream(content), null, null, CancellationToken.None);
        var complete = await service.CompleteAsync(repository, upload.Id, Digest.Compute(DigestAlgorithm.Sha256, content), new MemoryStream(content), null, null, CancellationToken.None);

        Assert.Equal(OciErrorCode.BlobUploadUnknown, append.Error?.Code);
        Assert.Equal(OciErrorCode.BlobUploadUnknown, complete.Error?.Code);
    }

    private string Upload(string id) => Path.Combine(_root, "uploads", id);

    private async Task<(string Id, Digest Digest)> UploadAsync(byte[] content)
    {
        var id = Guid.NewGuid().ToString("N");
        await _store.CreateAsync(id, CancellationToken.None);
        var (_, writer) = await _store.OpenWriterAsync(id, 0, null, CancellationToken.None);
        await using (writer!)
        {
            await writer!.WriteAsync(content, CancellationToken.None);
            await writer.CommitAsync(CancellationToken.None);
        }

        return (id, Digest.Parse("sha256:" + Convert.ToHexStringLower(SHA256.HashData(content))));
    }

    private async Task<(string Id, Digest Digest)> UploadWithPrefixAsync(string prefix)
    {
        for (var i = 0; ; i++)
        {
            var content = BitConverter.GetBytes(i);
            if (Convert.ToHexStringLower(SHA256.HashData(content)).StartsWith(prefix, StringComparison.Ordinal))
            {
                return await UploadAsync(content);
            }
        }
    }

    private sealed class RecordingFileOperations : IFileOperations
    {
        public List<string> Log { get; } = [];

        public void FlushFile(FileStream file)
        {
            Log.Add($"flush-file {file.Name}");
            FileOperations.Instance.FlushFile(file);
        }

        public bool CreateFile(string path)
        {
            var created = FileOperations.Instance.CreateFile(path);
            Log.Add($"{(created ? "create" : "exists")} {path}");
            return created;
        }

        public IReadOnlyList<string> CreateDirectories(string path)
        {
            var created = FileOperations.Instance.CreateDirectories(path);
            Log.AddRange(created.Select(c => $"mkdir {c}"));
            return created;
        }

        public void Move(string source, string target)
        {
            FileOperations.Instance.Move(source, target);
            Log.Add($"move {source} -> {target}");
        }

        public void FlushDirectory(string path)
        {
            Log.Add($"flush-dir {path}");
            FileOperations.Instance.FlushDirectory(path);
        }
    }

    /// <summary>Records session creations in the log; everything else goes to the real store.</summary>
    private sealed class RecordingSessions(IUploadSessionStore inner, List<string> log) : IUploadSessionStore
    {
        public Task CreateAsync(UploadSession session, CancellationToken cancellationToken)
        {
            log.Add($"session {session.Id}");
            return inner.CreateAsync(session, cancellationToken);
        }

        public Task<UploadSession?> GetAsync(string id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

        public Task TouchAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) => inner.TouchAsync(id, at, cancellationToken);

        public Task<UploadAdvanceResult> AdvanceAsync(string id, long? expectedOffset, long newOffset, byte[]? hashState, string? storeState, DateTimeOffset at, CancellationToken cancellationToken) =>
            inner.AdvanceAsync(id, expectedOffset, newOffset, hashState, storeState, at, cancellationToken);

        public Task<DeleteResult> DeleteAsync(string id, CancellationToken cancellationToken) => inner.DeleteAsync(id, cancellationToken);

        public Task<UploadCompleteResult> CompleteAsync(string id, RepositoryName repository, Digest digest, long size, CancellationToken cancellationToken) =>
            inner.CompleteAsync(id, repository, digest, size, cancellationToken);

        public Task<IReadOnlyList<UploadSession>> ListInactiveAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken) =>
            inner.ListInactiveAsync(before, limit, cancellationToken);
    }

    private sealed class RecordingBlobIndex(List<string> log) : IBlobIndex
    {
        public Task<long?> GetLinkedSizeAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
            Task.FromResult<long?>(null);

        public Task<BlobLink?> GetLinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
            Task.FromResult<BlobLink?>(null);

        public Task<bool> RefreshLinkAsync(RepositoryName repository, Digest digest, DateTimeOffset staleBefore, CancellationToken cancellationToken) =>
            Task.FromResult(false);

        public Task<BlobLinkResult> LinkAsync(RepositoryName repository, Digest digest, long size, CancellationToken cancellationToken)
        {
            log.Add($"link {repository} {digest}");
            return Task.FromResult(BlobLinkResult.Linked);
        }

        public Task<DeleteResult> UnlinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken) =>
            Task.FromResult(DeleteResult.NotFound);
    }
}
