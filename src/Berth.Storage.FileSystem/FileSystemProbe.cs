using Berth.Core;
using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem;

/// <summary>
/// The file store is ready when its blob and upload folders exist and a file can be created in the upload folder
/// (an empty one, removed at once: a disk that is merely full still passes, reads keep working).
/// </summary>
public sealed class FileSystemProbe(IOptions<FileSystemStorageOptions> options) : IProviderProbe
{
    public string Setting => "--storage";

    public Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(options.Value.RootPath);
        foreach (var folder in new[] { "blobs", "uploads" })
        {
            if (!Directory.Exists(Path.Combine(root, folder)))
            {
                return Task.FromResult<string?>($"file storage at {root}: the {folder} folder is missing");
            }
        }

        var probe = Path.Combine(root, "uploads", ".probe-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            return Task.FromResult<string?>(null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult<string?>($"file storage at {root}: cannot create a file in the uploads folder: {ex.Message}");
        }
    }
}
