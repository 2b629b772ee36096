using System.IO.Compression;
using ZstdSharp;

namespace Berth.Scanning.Layers;

/// <summary>How a layer's bytes are compressed, as sniffed from its first bytes.</summary>
public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}

/// <summary>Layer media types and the decompression of layer streams.</summary>
public static class LayerDecompression
{
    public const string OciLayerTar = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string OciNonDistributableTar = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    public const string OciNonDistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    public const string OciNonDistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    public const string DockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar";

    /// <summary>
    /// The compression a media type declares, or null for a type that is not a known layer type. The reader does not trust
    /// it (see <see cref="Sniff"/>); it is for callers that choose what to scan.
    /// </summary>
    public static LayerCompression? Declared(string? mediaType) => mediaType switch
    {
        OciLayerTar or OciNonDistributableTar or DockerLayerTar => LayerCompression.None,
        OciLayerGzip or OciNonDistributableGzip or DockerLayerGzip or DockerForeignLayerGzip => LayerCompression.Gzip,
        OciLayerZstd or OciNonDistributableZstd => LayerCompression.Zstd,
        _ => null,
    };

    /// <summary>Whether a manifest's layer with this media type holds a file-system tar (compressed or not).</summary>
    public static bool IsFileSystemLayer(string? mediaType) => Declared(mediaType) is not null;

    /// <summary>The compression the first bytes show (gzip 1f 8b, zstd 28 b5 2f fd); anything else is taken as a plain tar.</summary>
    public static LayerCompression Sniff(ReadOnlySpan<byte> head) =>
        head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b ? LayerCompression.Gzip
        : head.Length >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd ? LayerCompression.Zstd
        : LayerCompression.None;

    /// <summary>
    /// Wraps a layer's stored bytes in the right decompressor (sniffed, whatever the media type says) and a counter that
    /// throws <see cref="ScanException"/> once the uncompressed bytes pass the layer's or the image's budget. Disposing the
    /// result disposes <paramref name="stored"/>.
    /// </summary>
    public static async ValueTask<Stream> OpenAsync(Stream stored, string what, long layerBudget, ByteBudget imageBudget, CancellationToken cancellationToken)
    {
        var head = new byte[4];
        var got = 0;
        while (got < head.Length)
        {
            var n = await stored.ReadAsync(head.AsMemory(got), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            got += n;
        }

        Stream source = new PrefixedStream(head.AsMemory(0, got), stored);
        Stream decompressed = Sniff(head.AsSpan(0, got)) switch
        {
            LayerCompression.Gzip => new GZipStream(source, CompressionMode.Decompress, leaveOpen: false),
            LayerCompression.Zstd => new DecompressionStream(source, leaveOpen: false),
            _ => source,
        };

        return new BudgetStream(decompressed, what, layerBudget, imageBudget);
    }
}

/// <summary>A count of bytes shared by the layers of one image; thread-safe.</summary>
public sealed class ByteBudget(long limit)
{
    private long _used;

    public long Limit { get; } = limit;

    public long Used => Interlocked.Read(ref _used);

    /// <summary>Adds <paramref name="count"/>; false when the total is now over <see cref="Limit"/>.</summary>
    public bool TryAdd(long count) => Interlocked.Add(ref _used, count) <= Limit;
}

/// <summary>Serves some bytes already read, then the rest of the inner stream.</summary>
internal sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
{
    private ReadOnlyMemory<byte> _prefix = prefix;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (!_prefix.IsEmpty)
        {
            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        return inner.Read(buffer);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_prefix.IsEmpty)
        {
            return ValueTask.FromResult(Read(buffer.Span));
        }

        return inner.ReadAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

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

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// Counts uncompressed bytes and refuses past the budgets, so a decompression bomb stops after at most one buffer over the
/// limit. Decompressor failures (corrupt or truncated gzip/zstd) become <see cref="ScanException"/>.
/// </summary>
internal sealed class BudgetStream(Stream inner, string what, long layerBudget, ByteBudget imageBudget) : Stream
{
    private long _read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        try
        {
            n = inner.Read(buffer);
        }
        catch (Exception ex) when (ex is InvalidDataException or ZstdException or IOException)
        {
            throw Corrupt(ex);
        }

        return Count(n);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        try
        {
            n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or ZstdException or IOException)
        {
            throw Corrupt(ex);
        }

        return Count(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

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

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private int Count(int n)
    {
        _read += n;
        if (_read > layerBudget)
        {
            throw new ScanException($"{what}: uncompressed size passes the {layerBudget}-byte limit per layer (decompression bomb?)");
        }

        if (!imageBudget.TryAdd(n))
        {
            throw new ScanException($"{what}: the image's layers pass the {imageBudget.Limit}-byte limit of uncompressed data (decompression bomb?)");
        }

        return n;
    }

    private ScanException Corrupt(Exception ex) => new($"{what}: the compressed stream is corrupt or truncated ({ex.Message})", ex);
}
