using Berth.Core.Storage;
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
    public async Task CommittedBlob_LocalPathIsTheFileUnderBlobs()
    {
        var digest = await CommitAsync(Bytes(10, 1));

        var path = Blobs.TryGetLocalPath(digest);

        Assert.Equal(Path.Combine(_root, "blobs", "sha256", digest.Hex[..2], digest.Hex), path);
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
