using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem;

/// <summary>
/// Checks <see cref="FileSystemStorageOptions"/> at start-up, each failure one line naming the provider and the path:
/// the root must be a folder (or not exist yet, it is created) that this process can write in.
/// </summary>
internal sealed class FileSystemStorageOptionsValidator : IValidateOptions<FileSystemStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, FileSystemStorageOptions options)
    {
        var root = options.RootPath;
        if (string.IsNullOrWhiteSpace(root))
        {
            return ValidateOptionsResult.Fail($"storage: filesystem: root path is empty (set {FileSystemStorageOptions.Section}:RootPath or --data)");
        }

        if (root.Contains('\0', StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Fail("storage: filesystem: root path contains a NUL character");
        }

        if (options.ReserveBytes is < 0)
        {
            return ValidateOptionsResult.Fail($"storage: filesystem: the storage reserve is negative ({options.ReserveBytes}); give a size such as 2G, or 0 for none (--storage-reserve)");
        }

        if (File.Exists(root))
        {
            return ValidateOptionsResult.Fail($"storage: filesystem: root path {root} is a file, not a folder");
        }

        if (Directory.Exists(root))
        {
            // Probe with a file that vanishes on close: permissions, a read-only mount and ACLs all show up the same way.
            try
            {
                using var probe = new FileStream(
                    Path.Combine(root, ".berth-write-check-" + Guid.NewGuid().ToString("N")),
                    FileMode.CreateNew,
                    FileAccess.Write,
                    FileShare.None,
                    bufferSize: 1,
                    FileOptions.DeleteOnClose);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return ValidateOptionsResult.Fail($"storage: filesystem: root path {root} is not writable ({ex.Message})");
            }
        }

        return ValidateOptionsResult.Success;
    }
}
