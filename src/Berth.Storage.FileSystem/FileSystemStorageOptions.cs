namespace Berth.Storage.FileSystem;

/// <summary>Where the file-system store keeps blobs and uploads.</summary>
public sealed class FileSystemStorageOptions
{
    /// <summary>Root folder; <c>blobs/</c> and <c>uploads/</c> are created below it.</summary>
    public string RootPath { get; set; } = "data";
}
