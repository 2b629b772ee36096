using System.Buffers;
using System.Security.Cryptography;
using Berth.Core.Storage;
using Berth.Oci;

namespace Berth.Migration;

/// <summary>What happened to the source's blobs.</summary>
internal sealed class BlobCopyReport
{
    public int Copied { get; set; }

    public long CopiedBytes { get; set; }

    /// <summary>Already on the target with the right size and digest (a re-run).</summary>
    public int Present { get; set; }

    public long PresentBytes { get; set; }

    /// <summary>Listed by the source's metadata, absent from its store.</summary>
    public List<string> Missing { get; } = [];

    /// <summary>Blobs that could not be copied, each with why (the source's bytes do not match the digest, …).</summary>
    public List<string> Failed { get; } = [];
}

/// <summary>
/// Copies committed blobs from the source store to the target through the target's <see cref="IUploadStore"/>: one
/// upload per blob, written in pooled 1 MiB pieces and hashed in the same pass; a blob whose bytes do not match its
/// digest (or its recorded size) is refused, its upload deleted. Each blob committed is then read back from the
/// target's <see cref="IBlobStore"/> and hashed again. A blob already on the target with the recorded size is read
/// back and verified instead of copied (a re-run after an interruption); one with other bytes is deleted and copied.
/// Memory stays one buffer whatever the sizes.
/// </summary>
internal sealed class BlobCopier(IBlobStore source, IBlobStore target, IUploadStore uploads)
{
    private const int BufferSize = 1024 * 1024;

    /// <summary>Called after each blob (tests interrupt the copy from here).</summary>
    public Action<int>? AfterBlob { get; init; }

    public async Task<BlobCopyReport> CopyAsync(IReadOnlyList<SourceBlob> blobs, MigrationProgress progress, CancellationToken cancellationToken)
    {
        var report = new BlobCopyReport();
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            for (var i = 0; i < blobs.Count; i++)
            {
                var blob = blobs[i];
                if (blob.Digest is not { } digest)
                {
                    report.Failed.Add($"{blob.Text}: not a digest");
                }
                else
                {
                    await CopyOneAsync(digest, blob.Size, buffer, report, progress, cancellationToken);
                }

                progress.BlobDone();
                AfterBlob?.Invoke(i + 1);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return report;
    }

    private async Task CopyOneAsync(Digest digest, long size, byte[] buffer, BlobCopyReport report, MigrationProgress progress, CancellationToken cancellationToken)
    {
        var stat = await target.StatAsync(digest, cancellationToken);
        if (stat.Exists)
        {
            if (stat.Size == size && await VerifyAsync(target, digest, size, buffer, progress, cancellationToken) is null)
            {
                report.Present++;
                report.PresentBytes += size;
                return;
            }

            // Other bytes under this name (an interrupted copy by another tool, a damaged object): replace them.
            await target.DeleteAsync(digest, cancellationToken);
        }

        var copyFailure = await UploadAsync(digest, size, buffer, progress, cancellationToken);
        if (copyFailure is not null)
        {
            if (copyFailure.Length == 0)
            {
                report.Missing.Add(digest.ToString());
            }
            else
            {
                report.Failed.Add($"{digest}: {copyFailure}");
            }

            return;
        }

        if (await VerifyAsync(target, digest, size, buffer, null, cancellationToken) is { } verifyFailure)
        {
            report.Failed.Add($"{digest}: read back from the target store: {verifyFailure}");
            return;
        }

        report.Copied++;
        report.CopiedBytes += size;
    }

    /// <summary>Null when copied; empty when the source has no such blob; otherwise why it was refused.</summary>
    private async Task<string?> UploadAsync(Digest digest, long size, byte[] buffer, MigrationProgress progress, CancellationToken cancellationToken)
    {
        var opened = await OpenAsync(source, digest, cancellationToken);
        if (opened is null)
        {
            return string.Empty;
        }

        var id = "migrate-" + Guid.NewGuid().ToString("N");
        var committed = false;
        await using var content = opened.Value.Stream;
        try
        {
            if (opened.Value.Length != size)
            {
                return $"the source's file has {opened.Value.Length} bytes, its metadata says {size}; not copied";
            }

            await uploads.CreateAsync(id, cancellationToken);
            var (status, writer) = await uploads.OpenWriterAsync(id, 0, null, cancellationToken);
            if (status != UploadAppendStatus.Opened || writer is null)
            {
                return $"the target store did not open an upload ({status})";
            }

            string? state;
            await using (writer)
            {
                using var hash = IncrementalHash.CreateHash(Digest.HashAlgorithmNameOf(digest.Algorithm));
                long total = 0;
                int read;
                while ((read = await content.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    total += read;
                    progress.AddBytes(read);
                }

                var actual = Digest.FromHash(digest.Algorithm, hash.GetHashAndReset());
                if (total != size || actual != digest)
                {
                    await writer.CancelAsync(cancellationToken);
                    return $"the source's bytes do not match the digest (they hash to {actual}, {total} bytes); not copied";
                }

                state = await writer.CommitAsync(cancellationToken);
            }

            var result = await uploads.CommitAsync(id, digest, state, cancellationToken);
            if (result is not (UploadCommitResult.Committed or UploadCommitResult.AlreadyExists))
            {
                return $"the target store did not commit it ({result})";
            }

            committed = true;
            return null;
        }
        finally
        {
            if (!committed)
            {
                // Best effort: an upload left behind is removed by the target's upload sweeper anyway.
                try
                {
                    await uploads.DeleteAsync(id, CancellationToken.None);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
                {
                }
            }
        }
    }

    /// <summary>Reads the blob from <paramref name="store"/> and hashes it: null when it is the digest's bytes, else why not.</summary>
    private static async Task<string?> VerifyAsync(IBlobStore store, Digest digest, long size, byte[] buffer, MigrationProgress? progress, CancellationToken cancellationToken)
    {
        var opened = await OpenAsync(store, digest, cancellationToken);
        if (opened is null)
        {
            return "missing";
        }

        await using var content = opened.Value.Stream;
        using var hash = IncrementalHash.CreateHash(Digest.HashAlgorithmNameOf(digest.Algorithm));
        long total = 0;
        int read;
        while ((read = await content.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
            progress?.AddBytes(read);
        }

        var actual = Digest.FromHash(digest.Algorithm, hash.GetHashAndReset());
        return total == size && actual == digest ? null : $"{total} bytes hashing to {actual}";
    }

    /// <summary>The whole blob as a stream with its length, whatever form the store answers in; null when missing.</summary>
    private static async Task<(Stream Stream, long Length)?> OpenAsync(IBlobStore store, Digest digest, CancellationToken cancellationToken)
    {
        switch (await store.OpenAsync(digest, null, new BlobReadOptions(AllowRedirect: false), cancellationToken))
        {
            case BlobRead.LocalFile file:
                try
                {
                    var stream = new FileStream(file.Path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read | FileShare.Delete, Options = FileOptions.SequentialScan | FileOptions.Asynchronous, BufferSize = 0 });
                    stream.Seek(file.Offset, SeekOrigin.Begin);
                    return (new LengthLimitedStream(stream, file.Length), file.Length);
                }
                catch (FileNotFoundException)
                {
                    return null;
                }

            case BlobRead.Streamed streamed:
                return (streamed.Content, streamed.Length);
            case BlobRead.NotFound:
                return null;
            default:
                throw new InvalidOperationException($"the store answered {digest} with neither bytes nor not-found");
        }
    }

    /// <summary>Reads at most <paramref name="length"/> bytes of <paramref name="inner"/> (a file whose blob starts at its position).</summary>
    private sealed class LengthLimitedStream(Stream inner, long length) : Stream
    {
        private long _left = length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Take(inner.Read(buffer, offset, (int)Math.Min(count, _left)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _left == 0 ? 0 : Take(await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync() => inner.DisposeAsync();

        private int Take(int read)
        {
            _left -= read;
            return read;
        }
    }
}
