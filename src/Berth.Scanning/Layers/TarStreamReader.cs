using System.Buffers;
using System.Text;

namespace Berth.Scanning.Layers;

/// <summary>The kinds of tar entries the reader tells apart.</summary>
public enum TarEntryKind
{
    File,
    Directory,
    Symlink,
    HardLink,

    /// <summary>Devices, FIFOs, sparse files and unknown types: their data (if any) is skipped.</summary>
    Other,
}

/// <summary>One tar entry's header, after PAX and GNU long-name records have been applied.</summary>
public sealed record TarEntryHeader(string Name, TarEntryKind Kind, long Size, int Mode, string? LinkName, long DataOffset);

/// <summary>
/// A forward-only tar reader over a non-seekable stream: ustar, PAX (<c>path</c>, <c>linkpath</c>, <c>size</c>) and GNU
/// long names (<c>L</c>/<c>K</c>). Written here rather than using <c>System.Formats.Tar</c> so that every size read from
/// the archive is bounded before memory is taken for it (a PAX header or long name is capped by
/// <see cref="ScanLimits.MaxExtendedHeaderBytes"/>) and so that a truncated archive is always an error. An entry's data
/// is read through <see cref="OpenData"/> or skipped by the next <see cref="NextAsync"/>; nothing is buffered beyond one
/// 512-byte block.
/// </summary>
public sealed class TarStreamReader
{
    private const int Block = 512;
    private readonly Stream _stream;
    private readonly ScanLimits _limits;
    private readonly string _what;
    private readonly byte[] _header = new byte[Block];
    private long _position;
    private long _remaining;
    private long _padding;
    private bool _ended;

    public TarStreamReader(Stream stream, ScanLimits limits, string what)
    {
        _stream = stream;
        _limits = limits;
        _what = what;
    }

    /// <summary>Bytes of the archive consumed so far.</summary>
    public long Position => _position;

    /// <summary>
    /// Moves to the next entry, skipping whatever is left of the current one's data. Returns null at the end-of-archive
    /// marker (or at a clean end of stream on a block boundary, as GNU tar accepts). Throws <see cref="ScanException"/> for
    /// a truncated or corrupt archive.
    /// </summary>
    public async ValueTask<TarEntryHeader?> NextAsync(CancellationToken cancellationToken)
    {
        if (_ended)
        {
            return null;
        }

        await SkipAsync(_remaining + _padding, cancellationToken).ConfigureAwait(false);
        _remaining = 0;
        _padding = 0;

        string? paxPath = null;
        string? paxLink = null;
        long? paxSize = null;
        string? gnuName = null;
        string? gnuLink = null;
        while (true)
        {
            var read = await ReadBlockAsync(allowEnd: true, cancellationToken).ConfigureAwait(false);
            if (!read)
            {
                if (paxPath is not null || gnuName is not null || paxSize is not null)
                {
                    throw Truncated();
                }

                _ended = true;
                return null;
            }

            if (IsZero(_header))
            {
                // End of archive: a second zero block should follow; its absence is tolerated.
                _ended = true;
                return null;
            }

            VerifyChecksum();
            var type = (char)_header[156];
            var size = ParseNumber(_header.AsSpan(124, 12), "size");
            switch (type)
            {
                case 'x':
                    var pax = await ReadExtendedAsync(size, cancellationToken).ConfigureAwait(false);
                    ParsePax(pax, ref paxPath, ref paxLink, ref paxSize);
                    continue;
                case 'g':
                    // Global PAX headers carry defaults (mtime, charset); nothing a scanner needs.
                    await ReadExtendedAsync(size, cancellationToken).ConfigureAwait(false);
                    continue;
                case 'L':
                    gnuName = CString(await ReadExtendedAsync(size, cancellationToken).ConfigureAwait(false));
                    continue;
                case 'K':
                    gnuLink = CString(await ReadExtendedAsync(size, cancellationToken).ConfigureAwait(false));
                    continue;
            }

            var name = paxPath ?? gnuName ?? HeaderName();
            var link = paxLink ?? gnuLink ?? CString(_header.AsSpan(157, 100));
            if (paxSize is not null)
            {
                size = paxSize.Value;
            }

            if (Encoding.UTF8.GetByteCount(name) > _limits.MaxPathBytes || Encoding.UTF8.GetByteCount(link) > _limits.MaxPathBytes)
            {
                throw new ScanException($"{_what}: an entry name is longer than {_limits.MaxPathBytes} bytes");
            }

            var kind = type switch
            {
                '0' or '\0' or '7' => name.EndsWith('/') ? TarEntryKind.Directory : TarEntryKind.File,
                '1' => TarEntryKind.HardLink,
                '2' => TarEntryKind.Symlink,
                '5' => TarEntryKind.Directory,
                _ => TarEntryKind.Other,
            };

            // Links, directories, devices and FIFOs are header-only: no data follows, whatever the size field says.
            var dataSize = type is '1' or '2' or '3' or '4' or '5' or '6' ? 0 : size;
            var mode = (int)Math.Min(ParseNumber(_header.AsSpan(100, 8), "mode"), int.MaxValue);
            _remaining = dataSize;
            _padding = Pad(dataSize);
            return new TarEntryHeader(name, kind, dataSize, mode, link.Length == 0 ? null : link, _position);
        }
    }

    /// <summary>
    /// A stream over the current entry's data. Reading it consumes the archive; whatever is not read is skipped by the next
    /// <see cref="NextAsync"/>. Valid until then.
    /// </summary>
    public Stream OpenData() => new EntryStream(this);

    private async ValueTask<int> ReadDataAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_remaining <= 0)
        {
            return 0;
        }

        var want = (int)Math.Min(buffer.Length, _remaining);
        var n = await _stream.ReadAsync(buffer[..want], cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            throw Truncated();
        }

        _remaining -= n;
        _position += n;
        return n;
    }

    private async ValueTask SkipAsync(long count, CancellationToken cancellationToken)
    {
        if (count <= 0)
        {
            return;
        }

        if (_stream.CanSeek)
        {
            // Archives on disk (docker save, OCI layouts in a tar) are indexed without reading their layers.
            if (_stream.Length - _stream.Position < count)
            {
                throw Truncated();
            }

            _stream.Seek(count, SeekOrigin.Current);
            _position += count;
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (count > 0)
            {
                var n = await _stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    throw Truncated();
                }

                count -= n;
                _position += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask<bool> ReadBlockAsync(bool allowEnd, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < Block)
        {
            var n = await _stream.ReadAsync(_header.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (total == 0 && allowEnd)
                {
                    return false;
                }

                throw Truncated();
            }

            total += n;
        }

        _position += Block;
        return true;
    }

    private async ValueTask<byte[]> ReadExtendedAsync(long size, CancellationToken cancellationToken)
    {
        if (size > _limits.MaxExtendedHeaderBytes)
        {
            throw new ScanException($"{_what}: a PAX or GNU long-name header of {size} bytes is over the {_limits.MaxExtendedHeaderBytes}-byte limit");
        }

        var data = new byte[size];
        var total = 0;
        while (total < size)
        {
            var n = await _stream.ReadAsync(data.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw Truncated();
            }

            total += n;
        }

        _position += size;
        await SkipAsync(Pad(size), cancellationToken).ConfigureAwait(false);
        return data;
    }

    private void ParsePax(byte[] data, ref string? path, ref string? link, ref long? size)
    {
        // Records are "<length> <key>=<value>\n", the length counting the whole record.
        var offset = 0;
        while (offset < data.Length)
        {
            var space = Array.IndexOf(data, (byte)' ', offset);
            if (space < 0)
            {
                break;
            }

            if (!int.TryParse(data.AsSpan(offset, space - offset), out var length) || length <= space - offset || offset + length > data.Length)
            {
                throw new ScanException($"{_what}: malformed PAX record at archive offset {_position}");
            }

            var record = data.AsSpan(space + 1, length - (space - offset) - 2);
            var equals = record.IndexOf((byte)'=');
            if (equals > 0)
            {
                var key = Encoding.UTF8.GetString(record[..equals]);
                var value = Encoding.UTF8.GetString(record[(equals + 1)..]);
                switch (key)
                {
                    case "path":
                        path = value;
                        break;
                    case "linkpath":
                        link = value;
                        break;
                    case "size":
                        if (!long.TryParse(value, out var parsed) || parsed < 0)
                        {
                            throw new ScanException($"{_what}: malformed PAX size '{value}'");
                        }

                        size = parsed;
                        break;
                }
            }

            offset += length;
        }
    }

    private string HeaderName()
    {
        var name = CString(_header.AsSpan(0, 100));
        var isPosixUstar = _header.AsSpan(257, 6).SequenceEqual("ustar\0"u8);
        if (isPosixUstar)
        {
            var prefix = CString(_header.AsSpan(345, 155));
            if (prefix.Length > 0)
            {
                return prefix + "/" + name;
            }
        }

        return name;
    }

    private void VerifyChecksum()
    {
        var stored = ParseNumber(_header.AsSpan(148, 8), "checksum");
        long unsigned = 0;
        long signed = 0;
        for (var i = 0; i < Block; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : _header[i];
            unsigned += b;
            signed += (sbyte)b;
        }

        if (stored != unsigned && stored != signed)
        {
            throw new ScanException($"{_what}: not a tar archive or corrupt tar header at offset {_position - Block} (bad checksum)");
        }
    }

    private long ParseNumber(ReadOnlySpan<byte> field, string what)
    {
        if (field.Length > 0 && (field[0] & 0x80) != 0)
        {
            // GNU base-256: big-endian two's complement in the rest of the field.
            if ((field[0] & 0x40) != 0)
            {
                throw new ScanException($"{_what}: negative {what} in tar header");
            }

            long value = field[0] & 0x3f;
            for (var i = 1; i < field.Length; i++)
            {
                if (value > (long.MaxValue >> 8))
                {
                    throw new ScanException($"{_what}: {what} in tar header is too large");
                }

                value = (value << 8) | field[i];
            }

            return value;
        }

        long result = 0;
        var seenDigit = false;
        foreach (var b in field)
        {
            if (b is (byte)' ' or 0)
            {
                if (seenDigit)
                {
                    break;
                }

                continue;
            }

            if (b is < (byte)'0' or > (byte)'7')
            {
                throw new ScanException($"{_what}: not a tar archive or corrupt tar header at offset {_position - Block} (bad {what})");
            }

            seenDigit = true;
            if (result > (long.MaxValue >> 3))
            {
                throw new ScanException($"{_what}: {what} in tar header is too large");
            }

            result = (result << 3) | (long)(b - '0');
        }

        return result;
    }

    private ScanException Truncated() => new($"{_what}: the tar stream is truncated (ended inside an entry at offset {_position})");

    private static long Pad(long size) => (Block - (size % Block)) % Block;

    private static bool IsZero(ReadOnlySpan<byte> block) => !block.ContainsAnyExcept((byte)0);

    private static string CString(ReadOnlySpan<byte> field)
    {
        var nul = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? field[..nul] : field);
    }

    private sealed class EntryStream(TarStreamReader reader) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) =>
            reader.ReadDataAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            reader.ReadDataAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            reader.ReadDataAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
