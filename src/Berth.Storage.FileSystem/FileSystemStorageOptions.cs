namespace Berth.Storage.FileSystem;

/// <summary>Where the file-system store keeps blobs and uploads (configuration section <see cref="Section"/>).</summary>
public sealed class FileSystemStorageOptions
{
    /// <summary>The configuration section of this provider.</summary>
    public const string Section = "Berth:Storage:FileSystem";

    /// <summary>Root folder; <c>blobs/</c> and <c>uploads/</c> are created below it. <c>berth serve</c> defaults it to the data folder.</summary>
    public string RootPath { get; set; } = "data";
}
