using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Tests.Layers;

/// <summary>Builds layer tars in memory for tests (System.Formats.Tar writes them; gzip and zstd compress them).</summary>
internal sealed class LayerBuilder
{
    private readonly List<Action<TarWriter>> _entries = [];

    public TarEntryFormat Format { get; init; } = TarEntryFormat.Pax;

    public LayerBuilder File(string path, string content, UnixFileMode? mode = null) => File(path, Encoding.UTF8.GetBytes(content), mode);

    public LayerBuilder File(string path, byte[] content, UnixFileMode? mode = null)
    {
        _entries.Add(writer =>
        {
            var entry = NewEntry(TarEntryType.RegularFile, path);
            entry.Mode = mode ?? (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            entry.DataStream = new MemoryStream(content);
            writer.WriteEntry(entry);
        });
        return this;
    }

    public LayerBuilder Executable(string path, byte[] content) =>
        File(path, content, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

    public LayerBuilder Directory(string path)
    {
        _entries.Add(writer => writer.WriteEntry(NewEntry(TarEntryType.Directory, path)));
        return this;
    }

    public LayerBuilder Symlink(string path, string target)
    {
        _entries.Add(writer =>
        {
            var entry = NewEntry(TarEntryType.SymbolicLink, path);
            entry.LinkName = target;
            writer.WriteEntry(entry);
        });
        return this;
    }

    public LayerBuilder HardLink(string path, string target)
    {
        _entries.Add(writer =>
        {
            var entry = NewEntry(TarEntryType.HardLink, path);
            entry.LinkName = target;
            writer.WriteEntry(entry);
        });
        return this;
    }

    /// <summary>An AUFS/OCI whiteout: deletes <paramref name="path"/> from the layers below.</summary>
    public LayerBuilder Whiteout(string path)
    {
        var slash = path.LastIndexOf('/');
        var whiteout = slash < 0 ? ".wh." + path : path[..(slash + 1)] + ".wh." + path[(slash + 1)..];
        return File(whiteout, string.Empty);
    }

    /// <summary>An opaque-directory marker: hides everything the layers below have in <paramref name="directory"/>.</summary>
    public LayerBuilder Opaque(string directory) => File(directory.TrimEnd('/') + "/.wh..wh..opq", string.Empty);

    public byte[] Tar()
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, Format, leaveOpen: true))
        {
            foreach (var entry in _entries)
            {
                entry(writer);
            }
        }

        return output.ToArray();
    }

    public byte[] Build(LayerCompression compression) => Compress(Tar(), compression);

    public ImageLayer Layer(LayerCompression compression = LayerCompression.Gzip, string? mediaType = null)
    {
        var bytes = Build(compression);
        return ToLayer(bytes, mediaType ?? compression switch
        {
            LayerCompression.Gzip => LayerDecompression.OciLayerGzip,
            LayerCompression.Zstd => LayerDecompression.OciLayerZstd,
            _ => LayerDecompression.OciLayerTar,
        });
    }

    public static ImageLayer ToLayer(byte[] bytes, string mediaType) =>
        new("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), mediaType, _ => ValueTask.FromResult<Stream>(new MemoryStream(bytes, writable: false)));

    public static byte[] Compress(byte[] tar, LayerCompression compression)
    {
        switch (compression)
        {
            case LayerCompression.Gzip:
                using (var output = new MemoryStream())
                {
                    using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
                    {
                        gzip.Write(tar);
                    }

                    return output.ToArray();
                }

            case LayerCompression.Zstd:
                using (var compressor = new ZstdSharp.Compressor(3))
                {
                    return compressor.Wrap(tar).ToArray();
                }

            default:
                return tar;
        }
    }

    private TarEntry NewEntry(TarEntryType type, string path) => Format switch
    {
        TarEntryFormat.Gnu => new GnuTarEntry(type, path),
        TarEntryFormat.Ustar => new UstarTarEntry(type, path),
        TarEntryFormat.V7 => new V7TarEntry(type == TarEntryType.RegularFile ? TarEntryType.V7RegularFile : type, path),
        _ => new PaxTarEntry(type, path),
    };
}
