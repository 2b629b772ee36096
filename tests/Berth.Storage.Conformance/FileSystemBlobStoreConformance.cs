using Berth.Storage.FileSystem;
using Microsoft.Extensions.Options;

namespace Berth.Storage.Conformance;

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
}
