using System.Diagnostics;

namespace Berth.Testing;

/// <summary>
/// A small file system of its own for a test (a tmpfs of <c>size</c> MiB mounted on a fresh temporary folder), so it
/// can be filled without touching the machine's disk. Needs root, as CI runs; it does not skip: without root the test
/// fails, saying so. Dispose unmounts it (lazily, should a file still be open) and removes the folder.
/// </summary>
public sealed class SmallFileSystem : IDisposable
{
    private bool _disposed;

    private SmallFileSystem(string path, long size)
    {
        Path = path;
        Size = size;
    }

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Its size in bytes.</summary>
    public long Size { get; }

    /// <summary>Bytes available now (statvfs).</summary>
    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    public static SmallFileSystem Mount(int megabytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "berth-small-fs-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"could not mount a {megabytes} MiB tmpfs on {path} (these tests need root, as CI runs them): {output}");
        }

        return new SmallFileSystem(path, megabytes * (1L << 20));
    }

    /// <summary>
    /// Writes <paramref name="name"/> until the file system has less than <paramref name="leaveFree"/> bytes free (or
    /// none, when it refuses first): another program filling the disk.
    /// </summary>
    public void Fill(string name, long leaveFree)
    {
        var buffer = new byte[64 * 1024];
        Random.Shared.NextBytes(buffer);
        using var file = new FileStream(System.IO.Path.Combine(Path, name), FileMode.Append, FileAccess.Write, FileShare.Read, 0);
        try
        {
            while (FreeBytes >= leaveFree)
            {
                file.Write(buffer);
            }
        }
        catch (IOException)
        {
            // Full.
        }
    }

    /// <summary>Removes a file <see cref="Fill"/> wrote.</summary>
    public void Remove(string name) => File.Delete(System.IO.Path.Combine(Path, name));

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static (int Code, string Output) Run(string command, params string[] args)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Trim());
    }
}
