using Berth.Core.Storage;
using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Berth.Storage.FileSystem;

/// <summary>
/// The file-system calls whose order makes a commit durable, behind one seam so a test can record that order
/// (<c>FileSystemDurabilityTests</c>). Production uses <see cref="FileOperations.Instance"/>.
/// </summary>
internal interface IFileOperations
{
    /// <summary>Writes the open file's data and metadata to stable storage (fsync).</summary>
    void FlushFile(FileStream file);

    /// <summary>Creates an empty owner-only file unless it exists (then it is left alone); true when it created it.</summary>
    bool CreateFile(string path);

    /// <summary>Creates <paramref name="path"/> and any missing parents owner-only; returns the folders it created, outermost first.</summary>
    IReadOnlyList<string> CreateDirectories(string path);

    /// <summary>Renames <paramref name="source"/> to <paramref name="target"/>; fails with <see cref="IOException"/> when the target exists.</summary>
    void Move(string source, string target);

    /// <summary>Makes the folder's entries (a rename into it, a new sub-folder) durable: fsync of the folder itself.</summary>
    void FlushDirectory(string path);
}

/// <summary>The real calls. Folder fsync is POSIX <c>open(O_RDONLY)</c> + <c>fsync</c>; .NET cannot open a folder as a file.</summary>
internal sealed partial class FileOperations : IFileOperations
{
    public static readonly FileOperations Instance = new();

    // O_RDONLY | O_CLOEXEC: the same values on Linux x64 and arm64. O_DIRECTORY differs between them and is not
    // needed: open(2) on a folder with O_RDONLY succeeds.
    private const int OpenReadOnlyCloseOnExec = 0x80000;

    public void FlushFile(FileStream file) => file.Flush(flushToDisk: true);

    public bool CreateFile(string path)
    {
        try
        {
            using (new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite }.OwnerOnly()))
            {
            }

            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    public IReadOnlyList<string> CreateDirectories(string path)
    {
        var missing = new List<string>();
        for (var dir = Path.GetFullPath(path); !Directory.Exists(dir); dir = Path.GetDirectoryName(dir)!)
        {
            missing.Insert(0, dir);
        }

        foreach (var dir in missing)
        {
            Berth.Core.Storage.PrivateFiles.CreateDirectory(dir);
        }

        return missing;
    }

    public void Move(string source, string target) => File.Move(source, target, overwrite: false);

    public void FlushDirectory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return; // Windows: NTFS journals the rename; folders cannot be flushed this way.
        }

        var fd = Open(path, OpenReadOnlyCloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"cannot open folder {path} to flush it: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"cannot flush folder {path}: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
