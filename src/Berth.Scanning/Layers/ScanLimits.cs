namespace Berth.Scanning.Layers;

/// <summary>
/// Bounds on what one scan may read. Going over a byte or entry limit fails the scan with a <see cref="ScanException"/>
/// (the image is refused, not half scanned); a single wanted file over its own cap is skipped with a warning.
/// </summary>
public sealed record ScanLimits
{
    /// <summary>Uncompressed tar bytes one layer may expand to (decompression bombs). Default 8 GiB.</summary>
    public long MaxLayerUncompressedBytes { get; init; } = 8L << 30;

    /// <summary>Uncompressed tar bytes all layers together may expand to, counted over every pass. Default 32 GiB.</summary>
    public long MaxImageUncompressedBytes { get; init; } = 32L << 30;

    /// <summary>Tar entries one layer may hold. Default 1,000,000.</summary>
    public int MaxEntriesPerLayer { get; init; } = 1_000_000;

    /// <summary>
    /// Tar entries all layers together may hold. Default 2,000,000. The "seen" set that applies whiteouts keeps a 16-byte
    /// hash and an 8-byte mark per path of every layer but the bottom one (about 36 bytes with the dictionary's overhead), so
    /// this also bounds its memory (about 72 MB at the cap; a typical image of 50,000 files needs under 2 MB).
    /// </summary>
    public int MaxEntriesPerImage { get; init; } = 2_000_000;

    /// <summary>Longest path (after PAX/GNU long names) accepted, in bytes. Default 4096 (PATH_MAX).</summary>
    public int MaxPathBytes { get; init; } = 4096;

    /// <summary>Most path segments accepted (bounds the work of checking ancestors for whiteouts). Default 256.</summary>
    public int MaxPathDepth { get; init; } = 256;

    /// <summary>Largest PAX extended header or GNU long-name record accepted. Default 1 MiB.</summary>
    public int MaxExtendedHeaderBytes { get; init; } = 1 << 20;

    /// <summary>Symlinks followed when resolving one wanted path. Default 40 (Linux's MAXSYMLINKS).</summary>
    public int MaxSymlinkHops { get; init; } = 40;

    /// <summary>Executables larger than this are not searched for Go build information. Default 256 MiB.</summary>
    public long MaxExecutableBytes { get; init; } = 256L << 20;

    /// <summary>Jars nested in jars are read to this depth. Default 3.</summary>
    public int MaxNestedArchiveDepth { get; init; } = 3;

    /// <summary>Bytes all entries of one jar (nested ones included) may expand to. Default 256 MiB.</summary>
    public long MaxArchiveExpandedBytes { get; init; } = 256L << 20;

    public static ScanLimits Default { get; } = new();
}
