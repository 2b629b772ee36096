using Berth.Core;
using Berth.Core.Storage;

namespace Berth;

/// <summary>
/// The data folder (<c>--data</c>) as a whole: checked and created (mode 0700) before the stores open it, checked for
/// being open to other users, and recognised as holding Berth's data (for the offline <c>berth admin</c> commands,
/// which must not create an empty one in the wrong place).
/// </summary>
internal static partial class DataFolder
{
    public const string DatabaseFile = "berth.db";

    /// <summary>SQLite's file header: the first 16 bytes of every database file.</summary>
    private static ReadOnlySpan<byte> SqliteHeader => "SQLite format 3\0"u8;

    /// <summary>
    /// Makes sure <paramref name="data"/> is a folder the server can use, creating it (0700) when missing, and logs
    /// one warning when the folder or its database is open to other users. Returns the full path.
    /// </summary>
    /// <exception cref="StartupException">A file is there, or the folder cannot be created or read.</exception>
    public static string Prepare(string data, ILogger logger)
    {
        var path = FullPath(data);
        if (File.Exists(path))
        {
            throw new StartupException($"--data {path}: is a file, not a folder");
        }

        try
        {
            if (!Directory.Exists(path))
            {
                PrivateFiles.CreateDirectory(path);
                return path;
            }

            // Listing it is what the stores do first; a folder of another user fails here, in words.
            _ = Directory.EnumerateFileSystemEntries(path).Any();
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new StartupException($"--data {path}: permission denied (the server runs as user '{Environment.UserName}', who must be able to read and write it)", ex);
        }
        catch (IOException ex)
        {
            throw new StartupException($"--data {path}: {ex.Message}", ex);
        }

        var database = Path.Combine(path, DatabaseFile);
        if (Directory.Exists(database))
        {
            throw new StartupException($"--data {path}: {DatabaseFile} is a folder, not the database file");
        }

        WarnIfOpenToOthers(path, logger);
        return path;
    }

    /// <summary>
    /// Logs one line when the folder or <c>berth.db</c> may be read or written by group members or other users: it
    /// holds password hashes, the audit log and private images. The mode is left alone (it may be intended).
    /// </summary>
    public static void WarnIfOpenToOthers(string path, ILogger logger)
    {
        var database = Path.Combine(path, DatabaseFile);
        if (PrivateFiles.IsOpenToOthers(path, out var mode))
        {
            LogOpenToOthers(logger, path, "the folder", PrivateFiles.Octal(mode));
        }
        else if (PrivateFiles.IsOpenToOthers(database, out mode))
        {
            LogOpenToOthers(logger, path, DatabaseFile, PrivateFiles.Octal(mode));
        }
    }

    /// <summary>
    /// Why <paramref name="data"/> is not a Berth data folder (no folder, no <c>berth.db</c>, or one that is not an
    /// SQLite database), in words that name the folder; null when it is one. Reads only; creates nothing.
    /// </summary>
    public static string? WhyNotBerthData(string data)
    {
        var path = FullPath(data);
        if (!Directory.Exists(path))
        {
            return File.Exists(path) ? $"{path} is a file, not a data folder" : $"there is no data folder {path}";
        }

        var database = Path.Combine(path, DatabaseFile);
        try
        {
            using var file = new FileStream(database, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> header = stackalloc byte[16];
            return file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) == header.Length && header.SequenceEqual(SqliteHeader)
                ? null
                : $"{database} is not a Berth database";
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return $"{path} holds no Berth data (no {DatabaseFile})";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"cannot read {database}: {ex.Message}";
        }
    }

    public static string FullPath(string data) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(data));

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
        Message = "The data folder {Path} is open to other users ({What} has mode {Mode}): anyone on this machine may read password hashes, the audit log and private images. Fix: chmod -R go-rwx {Path}")]
    private static partial void LogOpenToOthers(ILogger logger, string path, string what, string mode);
}
