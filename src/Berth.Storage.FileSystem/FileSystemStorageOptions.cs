namespace Berth.Storage.FileSystem;

/// <summary>Where the file-system store keeps blobs and uploads (configuration section <see cref="Section"/>).</summary>
public sealed class FileSystemStorageOptions
{
    /// <summary>The configuration section of this provider.</summary>
    public const string Section = "Berth:Storage:FileSystem";

    /// <summary>Root folder; <c>blobs/</c> and <c>uploads/</c> are created below it. <c>berth serve</c> defaults it to the data folder.</summary>
    public string RootPath { get; set; } = "data";

    /// <summary>
    /// Free space (bytes) kept on the file system of <see cref="RootPath"/>: below it, new uploads and chunks are refused
    /// with 507 while reads and deletes go on (<see cref="FileSystemSpace"/>). Null: the larger of 1 GiB and 2 % of the
    /// file system (at most a quarter of it); 0: no reserve. <c>berth serve --storage-reserve</c> sets it.
    /// </summary>
    public long? ReserveBytes { get; set; }
}
