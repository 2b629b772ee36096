using System.IO.Compression;

namespace Berth.Scanning.Layers;

/// <summary>Named files of a local image archive: a directory, or a tar indexed by entry name (data read in place).</summary>
internal abstract class ArchiveSource
{
    public abstract string Description { get; }

    public abstract bool Exists(string name);

    public abstract ValueTask<Stream> OpenAsync(string name, CancellationToken cancellationToken);

    public static async Task<ArchiveSource> OpenArchiveAsync(string path, CancellationToken cancellationToken)
    {
        if (Directory.Exists(path))
        {
            return new DirectoryArchiveSource(path);
        }

        if (!File.Exists(path))
        {
            throw new ScanException($"{path}: no such file or directory");
        }

        return await TarArchiveSource.IndexAsync(path, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]> ReadAllAsync(string name, int cap, CancellationToken cancellationToken)
    {
        if (!Exists(name))
        {
            throw new ScanException($"{Description}: '{name}' is missing");
        }

        await using var stream = await OpenAsync(name, cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        while (true)
        {
            var n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + n > cap)
            {
                throw new ScanException($"{Description}: '{name}' is larger than {cap} bytes");
            }

            buffer.Write(chunk, 0, n);
        }
    }

    protected static string? Normalize(string name) => LayerPaths.NormalizeEntry(name) is { Length: > 0 } normalized ? normalized : null;
}

internal sealed class DirectoryArchiveSource(string root) : ArchiveSource
{
    private readonly string _root = Path.GetFullPath(root);

    public override string Description => _root;

    public override bool Exists(string name) => Resolve(name) is { } full && File.Exists(full);

    public override ValueTask<Stream> OpenAsync(string name, CancellationToken cancellationToken)
    {
        var full = Resolve(name) ?? throw new ScanException($"{Description}: '{name}' is outside the layout");
        return ValueTask.FromResult<Stream>(new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan));
    }

    private string? Resolve(string name)
    {
        // Names come from the archive's own JSON: never let one reach outside the directory.
        if (Normalize(name) is not { } relative)
        {
            return null;
        }

        var full = Path.GetFullPath(Path.Combine(_root, relative));
        return full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? full : null;
    }
}

internal sealed class TarArchiveSource : ArchiveSource
{
    private readonly string _path;
    private readonly Dictionary<string, (long Offset, long Size)> _entries;
    private readonly bool _gzip;

    private TarArchiveSource(string path, Dictionary<string, (long, long)> entries, bool gzip)
    {
        _path = path;
        _entries = entries;
        _gzip = gzip;
    }

    public override string Description => _path;

    public static async Task<TarArchiveSource> IndexAsync(string path, CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        bool gzip;
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous))
        {
            var head = new byte[2];
            gzip = await file.ReadAtLeastAsync(head, 2, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) == 2 && head[0] == 0x1f && head[1] == 0x8b;
            file.Position = 0;

            // Entry names and sizes only; no layer is in memory (the reader seeks past data, or for "docker save | gzip"
            // streams through it: offsets are then in the decompressed tar, and each open decompresses up to its entry).
            await using var stream = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : (Stream)file;
            var reader = new TarStreamReader(stream, ScanLimits.Default with { MaxExtendedHeaderBytes = 1 << 16 }, path);
            var count = 0;
            while (await reader.NextAsync(cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (++count > 1_000_000)
                {
                    throw new ScanException($"{path}: more than 1000000 entries; not an image archive");
                }

                if (Normalize(entry.Name) is not { } name)
                {
                    continue;
                }

                switch (entry.Kind)
                {
                    case TarEntryKind.File:
                        files[name] = (entry.DataOffset, entry.Size);
                        break;
                    case TarEntryKind.Symlink when entry.LinkName is not null:
                        // docker save links a repeated layer to its first copy ("../ID/layer.tar").
                        links[name] = LayerPaths.ResolveLinkTarget(name, entry.LinkName);
                        break;
                    case TarEntryKind.HardLink when entry.LinkName is not null && Normalize(entry.LinkName) is { } target:
                        links[name] = target;
                        break;
                }
            }
        }

        foreach (var (name, target) in links)
        {
            var current = target;
            for (var hops = 0; hops < 40 && !files.ContainsKey(current) && links.TryGetValue(current, out var next); hops++)
            {
                current = next;
            }

            if (files.TryGetValue(current, out var location))
            {
                files.TryAdd(name, location);
            }
        }

        return new TarArchiveSource(path, files, gzip);
    }

    public override bool Exists(string name) => Normalize(name) is { } n && _entries.ContainsKey(n);

    public override ValueTask<Stream> OpenAsync(string name, CancellationToken cancellationToken)
    {
        if (Normalize(name) is not { } n || !_entries.TryGetValue(n, out var entry))
        {
            throw new ScanException($"{Description}: '{name}' is not in the archive");
        }

        var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        if (!_gzip)
        {
            file.Position = entry.Offset;
            return ValueTask.FromResult<Stream>(new WindowStream(file, entry.Size));
        }

        return OpenCompressedAsync(file, entry.Offset, entry.Size, cancellationToken);
    }

    private async ValueTask<Stream> OpenCompressedAsync(FileStream file, long offset, long size, CancellationToken cancellationToken)
    {
        var stream = new GZipStream(file, CompressionMode.Decompress, leaveOpen: false);
        try
        {
            var buffer = new byte[81920];
            for (var left = offset; left > 0;)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new ScanException($"{_path}: the compressed archive ended before an entry it listed");
                }

                left -= n;
            }

            return new WindowStream(stream, size);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A read-only window of <c>size</c> bytes from the inner stream's current position.</summary>
    private sealed class WindowStream(Stream inner, long size) : Stream
    {
        private readonly long _size = size;
        private long _left = size;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => _size;

        public override long Position
        {
            get => _size - _left;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_left <= 0)
            {
                return 0;
            }

            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
            _left -= n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left <= 0)
            {
                return 0;
            }

            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
            _left -= n;
            return n;
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
}
