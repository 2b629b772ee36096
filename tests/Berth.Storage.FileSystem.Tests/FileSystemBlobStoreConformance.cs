using Berth.Core.Storage;
using Berth.Oci;
using Berth.Storage.Conformance;
using Berth.Storage.FileSystem;
using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem.Tests;

/// <summary>The blob and upload contract on <see cref="FileSystemBlobStore"/>, in a temporary folder.</summary>
public sealed class FileSystemBlobStoreConformance : BlobStoreConformance
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "berth-fs-" + Guid.NewGuid().ToString("N"));

    protected override Task<Stores> CreateStoresAsync() => ReopenStoresAsync();

    protected override Task<Stores> ReopenStoresAsync()
    {
        var store = new FileSystemBlobStore(Options.Create(new FileSystemStorageOptions { RootPath = _root }));
        return Task.FromResult(new Stores(store, store));
    }

    protected override Task DeleteStoresAsync()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task Open_CommittedBlob_AnswersTheFileUnderBlobs()
    {
        var digest = await CommitAsync(Bytes(10, 1));

        var read = await Blobs.OpenAsync(digest, null, new BlobReadOptions(AllowRedirect: true), None);

        Assert.Equal(new BlobRead.LocalFile(Path.Combine(_root, "blobs", "sha256", digest.Hex[..2], digest.Hex), 0, 10, 10), read);
    }

    [Fact]
    public async Task List_JunkInTheBlobsFolder_IsSkippedSoEveryListedDigestIsUsable()
    {
        var digest = await CommitAsync(Bytes(10, 4));
        var other = Digest.Compute(DigestAlgorithm.Sha256, [1, 2, 3]);
        var folder = Path.Combine(_root, "blobs", "sha256", digest.Hex[..2]);
        await File.WriteAllTextAsync(Path.Combine(folder, digest.Hex + ".tmp"), "temporary");
        await File.WriteAllTextAsync(Path.Combine(folder, digest.Hex.ToUpperInvariant()), "upper case");
        await File.WriteAllTextAsync(Path.Combine(folder, "notes.txt"), "an operator's file");
        await File.WriteAllTextAsync(Path.Combine(folder, other.Hex), "misplaced: wrong prefix folder");
        Directory.CreateDirectory(Path.Combine(_root, "blobs", "md5", "ab"));
        await File.WriteAllTextAsync(Path.Combine(_root, "blobs", "md5", "ab", "ab" + new string('0', 30)), "unknown algorithm");
        Directory.CreateDirectory(Path.Combine(_root, "blobs", "sha512", "zz"));
        await File.WriteAllTextAsync(Path.Combine(_root, "blobs", "sha256", "stray"), "a file where prefix folders go");

        var listed = await ListBlobsAsync();

        Assert.Equal([new StoredBlob(digest, 10, listed[0].LastModified)], listed);
        Assert.IsType<BlobRead.LocalFile>(await Blobs.OpenAsync(listed[0].Digest, null, default, None));
    }

    [Fact]
    public async Task List_ForeignFileInUploadsFolder_IsSkippedSoEveryListedIdIsUsable()
    {
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        await File.WriteAllTextAsync(Path.Combine(_root, "uploads", "notes.txt"), "not an upload");

        var listed = new List<string>();
        await foreach (var (upload, _) in Uploads.ListAsync(None))
        {
            listed.Add(upload);
            await Uploads.DeleteAsync(upload, None);
        }

        Assert.Equal([id], listed);
        Assert.True(File.Exists(Path.Combine(_root, "uploads", "notes.txt")));
    }

    [Fact]
    public async Task Commit_WithTheStateOfAnEarlierChunk_IsChangedAndCommitsNothing_ThenTheLatestStateCommitsAll()
    {
        // A PUT that read the session before another request's PATCH was acknowledged verified its digest over the
        // first chunk only: the store must not name the longer data by that digest.
        var (first, second) = (Bytes(100, 40), Bytes(50, 41));
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var early = await AppendAsync(id, 0, first);
        var latest = await AppendAsync(id, 100, second, early);

        Assert.Equal(UploadCommitResult.Changed, await Uploads.CommitAsync(id, DigestOf(first), early, None));
        Assert.IsType<BlobRead.NotFound>(await Blobs.OpenAsync(DigestOf(first), null, default, None));
        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, DigestOf([.. first, .. second]), latest, None));
    }

    [Fact]
    public async Task Commit_WhileAWriterHasTheUploadOpen_IsChanged_AndSucceedsOnceItIsClosed()
    {
        var content = Bytes(100, 42);
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        var state = await AppendAsync(id, 0, content);
        var (status, writer) = await Uploads.OpenWriterAsync(id, 100, state, None);
        Assert.Equal(UploadAppendStatus.Opened, status);

        await using (writer)
        {
            Assert.Equal(UploadCommitResult.Changed, await Uploads.CommitAsync(id, DigestOf(content), state, None));
        }

        Assert.Equal(UploadCommitResult.Committed, await Uploads.CommitAsync(id, DigestOf(content), state, None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("12x")]
    [InlineData("99999999999999999999999")]
    public async Task Commit_WithAStateTheFileStoreNeverWrote_IsChanged(string state)
    {
        var content = Bytes(10, 43);
        var id = NewId();
        await Uploads.CreateAsync(id, None);
        await AppendAsync(id, 0, content);

        Assert.Equal(UploadCommitResult.Changed, await Uploads.CommitAsync(id, DigestOf(content), state, None));
    }

    [Fact]
    public async Task Commit_LeavesNoFileInUploads()
    {
        await CommitAsync(Bytes(10, 2));

        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, "uploads")));
    }

    [Fact]
    public async Task CommitAndUpload_FoldersAre0700AndFiles0600_WhateverTheUmask()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // This process's umask (usually 022) would give 0755 folders (blobs/sha256 and blobs/sha256/xx are created by
        // the first commit) and 0644 files.
        await CommitAsync(Bytes(10, 3));
        var pending = NewId();
        await Uploads.CreateAsync(pending, None);

        var folders = Directory.EnumerateDirectories(_root, "*", SearchOption.AllDirectories).Prepend(_root).ToList();
        var files = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).ToList();
        Assert.Contains(Path.Combine(_root, "blobs", "sha256"), folders);
        Assert.Equal(2, files.Count);
        foreach (var folder in folders)
        {
            Assert.True(File.GetUnixFileMode(folder) == PrivateFiles.FolderMode, $"{folder}: {PrivateFiles.Octal(File.GetUnixFileMode(folder))}");
        }

        foreach (var file in files)
        {
            Assert.True(File.GetUnixFileMode(file) == PrivateFiles.FileMode, $"{file}: {PrivateFiles.Octal(File.GetUnixFileMode(file))}");
        }
    }

    [Fact]
    public void PrivateFiles_CreateDirectory_EveryMissingFolderIsOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var deep = Path.Combine(_root, "a", "b", "c");

        PrivateFiles.CreateDirectory(deep);

        foreach (var folder in new[] { Path.Combine(_root, "a"), Path.Combine(_root, "a", "b"), deep })
        {
            Assert.True(File.GetUnixFileMode(folder) == PrivateFiles.FolderMode, $"{folder}: {PrivateFiles.Octal(File.GetUnixFileMode(folder))}");
        }
    }
}
