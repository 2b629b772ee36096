using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;

namespace Berth.Bench;

/// <summary>
/// The deterministic content generator. A blob is a 1 MiB pseudo-random block repeated up to <c>Size - 16</c> bytes,
/// followed by a 16-byte trailer (two 64-bit ids) that makes every blob unique. Nothing bigger than the shared block
/// is ever held in memory, whatever the blob size.
/// </summary>
internal static class Pattern
{
    public const int BlockSize = 1 << 20;

    /// <summary>Largest slice handed to a stream write.</summary>
    public const int SegmentSize = 256 * 1024;

    public static readonly byte[] Block = CreateBlock();

    private static byte[] CreateBlock()
    {
        var block = new byte[BlockSize];
        var x = 0x9E3779B97F4A7C15UL;
        for (var i = 0; i < block.Length; i += 8)
        {
            // xorshift64*
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            BinaryPrimitives.WriteUInt64LittleEndian(block.AsSpan(i), x * 0x2545F4914F6CDD1DUL);
        }

        return block;
    }
}

/// <summary>One generated blob: its size and the two ids of its trailer.</summary>
internal readonly record struct BlobSpec(long Size, ulong A, ulong B)
{
    public const int TrailerSize = 16;

    /// <summary>Where the pattern part ends and the trailer starts.</summary>
    public long BodyEnd => Math.Max(0, Size - TrailerSize);

    public byte[] Trailer()
    {
        var trailer = new byte[TrailerSize];
        BinaryPrimitives.WriteUInt64LittleEndian(trailer, A);
        BinaryPrimitives.WriteUInt64LittleEndian(trailer.AsSpan(8), B);
        return trailer.AsSpan(0, (int)(Size - BodyEnd)).ToArray();
    }

    /// <summary>Writes bytes [<paramref name="from"/>, <paramref name="to"/>) of the blob, hashing them when asked.</summary>
    public async Task WriteAsync(Stream stream, long from, long to, StreamingHasher? hasher, CancellationToken cancellationToken)
    {
        byte[]? trailer = null;
        var position = from;
        while (position < to)
        {
            ReadOnlyMemory<byte> segment;
            if (position < BodyEnd)
            {
                var offset = (int)(position % Pattern.BlockSize);
                var length = (int)Math.Min(Math.Min(Pattern.BlockSize - offset, Pattern.SegmentSize), Math.Min(BodyEnd, to) - position);
                segment = Pattern.Block.AsMemory(offset, length);
            }
            else
            {
                trailer ??= Trailer();
                var offset = (int)(position - BodyEnd);
                segment = trailer.AsMemory(offset, (int)Math.Min(trailer.Length - offset, to - position));
            }

            hasher?.Append(position, segment.Span);
            await stream.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
            position += segment.Length;
        }
    }
}

/// <summary>
/// SHA-256 over a blob that is sent in order, possibly in several requests. Bytes before <see cref="HashedUpTo"/>
/// are not hashed again, so a request that is re-sent (after an authentication challenge) keeps the digest right.
/// </summary>
internal sealed class StreamingHasher : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long HashedUpTo { get; private set; }

    public void Append(long position, ReadOnlySpan<byte> data)
    {
        var end = position + data.Length;
        if (end <= HashedUpTo)
        {
            return;
        }

        if (position > HashedUpTo)
        {
            throw new InvalidOperationException($"bytes sent out of order: {position} after {HashedUpTo}");
        }

        _hash.AppendData(data[(int)(HashedUpTo - position)..]);
        HashedUpTo = end;
    }

    public string Finish() => "sha256:" + Convert.ToHexStringLower(_hash.GetHashAndReset());

    public void Dispose() => _hash.Dispose();
}

/// <summary>
/// Digests of generated blobs without hashing them in full each time: the hash state after the shared pattern part
/// is computed once per size and cloned, then only the 16-byte trailer is hashed.
/// </summary>
internal static class Digests
{
    private static readonly ConcurrentDictionary<long, Lazy<IncrementalHash>> Prefixes = new();

    public static string Of(BlobSpec spec)
    {
        var prefix = Prefixes.GetOrAdd(spec.BodyEnd, static end => new Lazy<IncrementalHash>(() => HashPattern(end))).Value;
        IncrementalHash clone;
        lock (prefix)
        {
            clone = prefix.Clone();
        }

        using (clone)
        {
            clone.AppendData(spec.Trailer());
            return "sha256:" + Convert.ToHexStringLower(clone.GetHashAndReset());
        }
    }

    public static string Of(ReadOnlySpan<byte> data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    private static IncrementalHash HashPattern(long end)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long position = 0; position < end;)
        {
            var length = (int)Math.Min(Pattern.BlockSize, end - position);
            hash.AppendData(Pattern.Block, 0, length);
            position += length;
        }

        return hash;
    }
}

/// <summary>An HTTP body streamed from the generator: a byte range of a blob, with a length or chunked.</summary>
internal sealed class GeneratedContent : HttpContent
{
    private readonly BlobSpec _spec;
    private readonly long _from;
    private readonly long _to;
    private readonly StreamingHasher? _hasher;
    private readonly bool _chunked;

    public GeneratedContent(BlobSpec spec, long from, long to, StreamingHasher? hasher = null, bool chunked = false)
    {
        _spec = spec;
        _from = from;
        _to = to;
        _hasher = hasher;
        _chunked = chunked;
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
    }

    public static GeneratedContent Whole(BlobSpec spec, StreamingHasher? hasher = null, bool chunked = false) => new(spec, 0, spec.Size, hasher, chunked);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        _spec.WriteAsync(stream, _from, _to, _hasher, cancellationToken);

    protected override bool TryComputeLength(out long length)
    {
        length = _to - _from;
        return !_chunked;
    }
}
