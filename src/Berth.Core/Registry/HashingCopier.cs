using System.Buffers;
using System.Security.Cryptography;

namespace Berth.Core.Registry;

/// <summary>Copies a stream through one pooled buffer while feeding a hash: one pass, bounded memory.</summary>
public static class HashingCopier
{
    /// <summary>
    /// 1 MiB: large enough that a 100 MB push makes ~100 hash/write calls rather than thousands, small enough that
    /// 32 concurrent uploads hold at most 32 MiB of buffers.
    /// </summary>
    public const int BufferSize = 1024 * 1024;

    /// <summary>
    /// Copies until the source ends or <paramref name="maxBytes"/> would be exceeded. Returns the bytes copied, or -1 when the
    /// source had more than <paramref name="maxBytes"/> (the destination then holds a prefix the caller must discard).
    /// </summary>
    public static Task<long> CopyAsync(Stream source, Stream destination, IncrementalHash? hash, long maxBytes, CancellationToken cancellationToken) =>
        CopyAsync(source, destination, hash is null ? null : Hashing.RunningHash.Of(hash), maxBytes, cancellationToken);

    /// <inheritdoc cref="CopyAsync(Stream, Stream, IncrementalHash?, long, CancellationToken)"/>
    public static Task<long> CopyAsync(Stream source, Stream destination, Hashing.RunningHash? hash, long maxBytes, CancellationToken cancellationToken) =>
        CopyAsync(source, destination.WriteAsync, hash, maxBytes, cancellationToken);

    /// <summary>Copies into an upload's writer; otherwise as <see cref="CopyAsync(Stream, Stream, IncrementalHash?, long, CancellationToken)"/>.</summary>
    public static Task<long> CopyAsync(Stream source, Storage.IUploadWriter destination, Hashing.RunningHash? hash, long maxBytes, CancellationToken cancellationToken) =>
        CopyAsync(source, destination.WriteAsync, hash, maxBytes, cancellationToken);

    private static async Task<long> CopyAsync(Stream source, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, Hashing.RunningHash? hash, long maxBytes, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long total = 0;
            while (true)
            {
                // Fill the buffer before writing: a request body arrives a few KiB at a time, and the kernel gives a file
                // written in small writes small page-cache folios, which sendfile then sends at a higher cost per byte. Each
                // piece is hashed as it arrives, while the next is still on its way.
                var filled = 0;
                int read;
                do
                {
                    read = await source.ReadAsync(buffer.AsMemory(filled, BufferSize - filled), cancellationToken).ConfigureAwait(false);
                    total += read;
                    if (total > maxBytes)
                    {
                        return -1;
                    }

                    hash?.Append(buffer.AsSpan(filled, read));
                    filled += read;
                }
                while (read > 0 && filled < BufferSize);

                if (filled > 0)
                {
                    await write(buffer.AsMemory(0, filled), cancellationToken).ConfigureAwait(false);
                }

                if (read == 0)
                {
                    return total;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
