namespace Berth.Scanning.Layers;

/// <summary>
/// One layer of an image as the reader takes it: its digest (kept on every file and package that comes from it), its
/// declared media type (a hint: the bytes are sniffed) and a function that opens a fresh read-only stream of the layer's
/// stored (compressed) bytes. The reader may open a layer more than once (a second pass resolves symlinks) and always
/// disposes what it opened.
/// </summary>
public sealed record ImageLayer(string Digest, string MediaType, Func<CancellationToken, ValueTask<Stream>> Open);

/// <summary>How the reader hands a wanted file to its extractor.</summary>
public enum FileReadMode
{
    /// <summary>The whole file, up to <see cref="FileRequest.MaxBytes"/> (bigger files are skipped with a warning).</summary>
    Whole,

    /// <summary>
    /// Executables (a mode with an execute bit) that start with <c>\x7fELF</c>: the file is streamed through and only the Go
    /// build information block (from its <c>\xff Go buildinf:</c> magic, up to <see cref="FileRequest.MaxBytes"/>) is kept.
    /// Files without one are not handed out.
    /// </summary>
    GoBuildInfo,
}

/// <summary>
/// Files one extractor wants. <paramref name="Matches"/> is called with normalised paths (no leading slash, no "." or ".."
/// segments). <paramref name="ExactPaths"/> lists the fixed paths among them (such as <c>etc/os-release</c>): only these
/// are followed through symlinks, so a symlinked <c>etc/os-release</c> still yields the file it points to.
/// </summary>
public sealed record FileRequest(
    string Name,
    Func<string, bool> Matches,
    long MaxBytes,
    FileReadMode Mode = FileReadMode.Whole,
    IReadOnlyList<string>? ExactPaths = null);

/// <summary>
/// A file of the image's final file system that an extractor asked for. <see cref="Path"/> is the path asked for (for a
/// symlink, the link's path); <see cref="LayerDigest"/> is the layer whose bytes these are.
/// </summary>
public sealed record ImageFile(string Path, string LayerDigest, ReadOnlyMemory<byte> Content, FileRequest Request);

/// <summary>A file that was wanted but not read (too large), or some other thing the report should mention.</summary>
public sealed record ScanWarning(string Path, string? LayerDigest, string Message);
