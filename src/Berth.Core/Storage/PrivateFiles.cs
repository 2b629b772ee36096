namespace Berth.Core.Storage;

/// <summary>
/// Folders and files that only their owner may read or write: mode 0700 for folders and 0600 for files on Unix,
/// whatever the process umask (a umask only ever removes bits from these). The data folder holds password hashes,
/// the audit log, token-signing keys and the blobs of private images, so every store creates what it writes there
/// through these. On Windows they are plain creations (the folder's inherited ACL applies).
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The bits that let group members or other users read, write or enter.</summary>
    public const UnixFileMode OpenToOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates <paramref name="path"/> and every missing folder above it with mode 0700. A folder that exists keeps
    /// its mode (it may be the operator's choice; see <see cref="IsOpenToOthers"/> for the check at start).
    /// </summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        // Directory.CreateDirectory(path, mode) gives the mode to the last folder only: the missing ones above it
        // get 0777 less the umask. So each missing folder is created on its own, from the top down.
        var missing = new Stack<string>();
        for (var folder = Path.GetFullPath(path); !Directory.Exists(folder); folder = Path.GetDirectoryName(folder)!)
        {
            missing.Push(folder);
            if (Path.GetDirectoryName(folder) is null)
            {
                break;
            }
        }

        while (missing.TryPop(out var folder))
        {
            Directory.CreateDirectory(folder, FolderMode);
        }
    }

    /// <summary>Sets <see cref="FileMode"/> as the mode a <see cref="FileStream"/> creates its file with (no-op on Windows).</summary>
    public static FileStreamOptions OwnerOnly(this FileStreamOptions options)
    {
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        return options;
    }

    /// <summary>
    /// Whether group members or other users may read, write or enter <paramref name="path"/> (a file or a folder),
    /// with its mode. False on Windows and when nothing is there.
    /// </summary>
    public static bool IsOpenToOthers(string path, out UnixFileMode mode)
    {
        mode = default;
        if (OperatingSystem.IsWindows() || !Path.Exists(path))
        {
            return false;
        }

        mode = File.GetUnixFileMode(path);
        return (mode & OpenToOthers) != 0;
    }

    /// <summary>A mode as <c>chmod</c> writes it: <c>0755</c>.</summary>
    public static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8).PadLeft(3, '0');
}
