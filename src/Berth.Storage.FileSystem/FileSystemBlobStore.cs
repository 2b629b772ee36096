using System.Globalization;
using System.Runtime.CompilerServices;
using Berth.Core.Storage;
using Berth.Oci;
using Microsoft.Extensions.Options;

namespace Berth.Storage.FileSystem;

/// <summary>
/// Blobs and uploads as plain files:
/// <c>blobs/&lt;algorithm&gt;/&lt;first two hex&gt;/&lt;hex&gt;</c> for committed content and <c>uploads/&lt;id&gt;</c> for data
/// in progress. A blob file appears only by an atomic rename of a complete, fsynced upload file, and its folder is
/// fsynced before the commit returns, so the name outlives a power loss before anything links it; a new upload file's
/// folder is fsynced too, before the caller records its session. The store keeps no store state
/// (<see cref="IUploadWriter.CommitAsync"/> returns null): the upload file is all there is. Folders are created
/// with mode 0700 and files with 0600 whatever the umask (<see cref="PrivateFiles"/>): blobs of private images are
/// readable by their owner only, and a blob keeps the mode of the upload file it was renamed from.
/// </summary>
public sealed class FileSystemBlobStore : IBlobStore, IUploadStore
{
    private readonly string _blobRoot;
    private readonly string _uploadRoot;
    private readonly IFileOperations _files;
    private readonly FileSystemSpace? _space;

    /// <param name="options">Where the store lives.</param>
    /// <param name="space">
    /// The free space and reserve of its file system: below the reserve, a new upload (<see cref="CreateAsync"/>,
    /// <see cref="IUploadStore.CreatePrivateAsync"/>), a new chunk (<see cref="OpenWriterAsync"/>) and a write that would reach into
    /// the reserve throw <see cref="StorageFullException"/>. Null (a store built by hand, offline tools): no reserve.
    /// </param>
    public FileSystemBlobStore(IOptions<FileSystemStorageOptions> options, FileSystemSpace? space = null)
        : this(options, FileOperations.Instance, space)
    {
    }

    internal FileSystemBlobStore(IOptions<FileSystemStorageOptions> options, IFileOperations files, FileSystemSpace? space = null)
    {
        _files = files;
        _space = space;
        var root = Path.GetFullPath(options.Value.RootPath);
        _blobRoot = Path.Combine(root, "blobs");
        _uploadRoot = Path.Combine(root, "uploads");
        PrivateFiles.CreateDirectory(_blobRoot);
        PrivateFiles.CreateDirectory(_uploadRoot);
    }

    public Task<BlobStat> StatAsync(Digest digest, CancellationToken cancellationToken)
    {
        var info = new FileInfo(BlobPath(digest));
        return Task.FromResult(info.Exists ? new BlobStat(true, info.Length) : BlobStat.Missing);
    }

    public Task<BlobRead> OpenAsync(Digest digest, ByteRange? range, BlobReadOptions options, CancellationToken cancellationToken)
    {
        var path = BlobPath(digest);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return Task.FromResult<BlobRead>(BlobRead.NotFound.Instance);
        }

        var size = info.Length;
        if (range is not { } asked)
        {
            return Task.FromResult<BlobRead>(new BlobRead.LocalFile(path, 0, size, size));
        }

        return Task.FromResult<BlobRead>(asked.TryResolve(size, out var offset, out var length)
            ? new BlobRead.LocalFile(path, offset, length, size)
            : new BlobRead.RangeNotSatisfiable(size));
    }

    async IAsyncEnumerable<StoredBlob> IBlobStore.ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var algorithm in new DirectoryInfo(_blobRoot).EnumerateDirectories())
        {
            foreach (var prefix in algorithm.EnumerateDirectories())
            {
                foreach (var file in prefix.EnumerateFiles())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    // Only a name OpenAsync would look up: a valid digest in its own prefix folder. Anything else (an
                    // operator's file, an editor's backup, a misplaced copy) is not a committed blob of this store.
                    if (!Digest.TryParse(algorithm.Name + ":" + file.Name, out var digest) ||
                        digest.AlgorithmName != algorithm.Name || digest.Hex != file.Name || digest.Hex[..2] != prefix.Name)
                    {
                        continue;
                    }

                    yield return new StoredBlob(digest, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero));
                }
            }
        }
    }

    public Task<BlobDeleteResult> DeleteAsync(Digest digest, CancellationToken cancellationToken)
    {
        var path = BlobPath(digest);
        if (!File.Exists(path))
        {
            return Task.FromResult(BlobDeleteResult.NotFound);
        }

        File.Delete(path);
        return Task.FromResult(BlobDeleteResult.Deleted);
    }

    public Task CreateAsync(string uploadId, CancellationToken cancellationToken)
    {
        // No fsync of the uploads folder: upload data is not made durable chunk by chunk either (an fsync per PATCH would
        // cost every chunk a disk flush; a push here is bound by its flushes: file, blob folder, metadata). A power
        // loss can take an upload in progress, file or bytes; the session that survives it then answers
        // BLOB_UPLOAD_UNKNOWN (no file) or is removed (fewer bytes than acknowledged), and the client starts again.
        // What is promised durable is the committed blob: bytes, name and folder before the link (CommitAsync).
        _space?.EnsureRoom();
        _files.CreateFile(UploadPath(uploadId));
        return Task.CompletedTask;
    }

    public Task<long?> GetLengthAsync(string uploadId, string? storeState, CancellationToken cancellationToken)
    {
        var info = new FileInfo(UploadPath(uploadId));
        return Task.FromResult(info.Exists ? info.Length : (long?)null);
    }

    public Task<(UploadAppendStatus Status, IUploadWriter? Writer)> OpenWriterAsync(string uploadId, long offset, string? storeState, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var path = UploadPath(uploadId);
        _space?.EnsureRoom();
        FileStream stream;
        try
        {
            // Unbuffered: every write goes straight to the OS, so a killed process loses nothing it acknowledged.
            // FileShare.None takes an exclusive flock(2) for as long as the writer is open: a second writer (another
            // request, process or node on the same folder) is refused instead of interleaving its bytes with ours.
            stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None, bufferSize: 0);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<(UploadAppendStatus, IUploadWriter?)>((UploadAppendStatus.NotFound, null));
        }
        catch (IOException) when (File.Exists(path))
        {
            return Task.FromResult<(UploadAppendStatus, IUploadWriter?)>((UploadAppendStatus.Busy, null));
        }

        if (stream.Length < offset)
        {
            stream.Dispose();
            return Task.FromResult<(UploadAppendStatus, IUploadWriter?)>((UploadAppendStatus.OffsetMismatch, null));
        }

        return Task.FromResult<(UploadAppendStatus, IUploadWriter?)>((UploadAppendStatus.Opened, new UploadFileWriter(stream, offset, _space)));
    }

    public Task<Stream?> OpenReadAsync(string uploadId, string? storeState, CancellationToken cancellationToken)
    {
        try
        {
            Stream stream = new FileStream(UploadPath(uploadId), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.SequentialScan);
            return Task.FromResult<Stream?>(stream);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task<UploadCommitResult> CommitAsync(string uploadId, Digest digest, string? storeState, CancellationToken cancellationToken)
    {
        var source = UploadPath(uploadId);
        FileStream upload;
        try
        {
            // The exclusive flock every writer holds, held from here to the rename: no writer appends between the check
            // of the length below and the moment the bytes become the blob.
            upload = new FileStream(source, FileMode.Open, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult(UploadCommitResult.NotFound);
        }
        catch (IOException) when (File.Exists(source))
        {
            return Task.FromResult(UploadCommitResult.Changed); // a writer has it open: its chunk is not acknowledged yet
        }

        using (upload)
        {
            // The state is the length the last acknowledged chunk left (UploadFileWriter.CommitAsync): the caller
            // verified the digest over exactly that many bytes. Any other length means another request appended (or
            // the data was lost) after the caller read the session; committing would name other bytes by this digest.
            if (storeState is not null
                && (!long.TryParse(storeState, NumberStyles.None, CultureInfo.InvariantCulture, out var acknowledged) || upload.Length != acknowledged))
            {
                return Task.FromResult(UploadCommitResult.Changed);
            }

            var target = BlobPath(digest);
            if (File.Exists(target))
            {
                // Dedupe. The name may be a concurrent commit's that has not flushed its folder yet: flush it here too
                // (nothing to write when it is old), so the caller's link never precedes a durable name.
                File.Delete(source);
                _files.FlushDirectory(Path.GetDirectoryName(target)!);
                return Task.FromResult(UploadCommitResult.AlreadyExists);
            }

            // Durable before visible, and visible durably before the caller links it: the bytes are flushed, the rename
            // happens, then the folder that received the name is flushed (a rename lives in the folder, not the file;
            // without this a power loss can undo it after the metadata link was committed). Folders created for the
            // blob are flushed into their parents first, so the path to the name survives too.
            _files.FlushFile(upload);
            var targetFolder = Path.GetDirectoryName(target)!;
            foreach (var created in _files.CreateDirectories(targetFolder))
            {
                _files.FlushDirectory(Path.GetDirectoryName(created)!);
            }

            try
            {
                _files.Move(source, target);
            }
            catch (IOException) when (File.Exists(target))
            {
                // Another upload of the same content won the rename: identical bytes, keep theirs.
                File.Delete(source);
                _files.FlushDirectory(targetFolder);
                return Task.FromResult(UploadCommitResult.AlreadyExists);
            }

            _files.FlushDirectory(targetFolder);
            return Task.FromResult(UploadCommitResult.Committed);
        }
    }

    public Task DeleteAsync(string uploadId, CancellationToken cancellationToken)
    {
        File.Delete(UploadPath(uploadId));
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<(string Id, DateTimeOffset LastWrite)> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var file in new DirectoryInfo(_uploadRoot).EnumerateFiles())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!IsUploadId(file.Name))
            {
                continue; // not ours (an operator's or editor's file): no other method would accept the name
            }

            yield return (file.Name, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero));
        }
    }

    private string BlobPath(Digest digest) => Path.Combine(_blobRoot, digest.AlgorithmName, digest.Hex[..2], digest.Hex);

    private string UploadPath(string uploadId)
    {
        // Ids are generated by the server (hex); refuse anything that could escape the folder.
        if (!IsUploadId(uploadId))
        {
            throw new ArgumentException("invalid upload id", nameof(uploadId));
        }

        return Path.Combine(_uploadRoot, uploadId);
    }

    private static bool IsUploadId(string name)
    {
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-')
            {
                return false;
            }
        }

        return true;
    }
}
