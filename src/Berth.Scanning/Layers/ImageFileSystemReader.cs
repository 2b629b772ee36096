using System.Buffers;

namespace Berth.Scanning.Layers;

/// <summary>
/// Reads the files extractors want from an image's FINAL file system, streaming each layer once and extracting nothing to
/// disk. Layers are read from the top down; a path in a lower layer counts only if nothing above shadows it (the same
/// path, a whiteout <c>.wh.NAME</c> of it or of an ancestor, an opaque marker <c>.wh..wh..opq</c> on an ancestor, or an
/// ancestor replaced by a non-directory), so each visible file is seen exactly once, with the digest of the layer that
/// wins. Only matching files are read into memory (each up to its request's cap); everything else is skipped as it
/// streams. Wanted fixed paths that turn out to be symlinks (or hard links) are resolved after the first pass, and a
/// second pass reads their targets if needed.
/// </summary>
public sealed class ImageFileSystemReader
{
    private static readonly byte[] GoBuildInfoMagic = BuildInfoMagic();
    private static readonly byte[] ElfMagic = [0x7f, (byte)'E', (byte)'L', (byte)'F'];

    private readonly ScanLimits _limits;

    public ImageFileSystemReader(ScanLimits? limits = null)
    {
        _limits = limits ?? ScanLimits.Default;
    }

    /// <summary>
    /// Reads <paramref name="layers"/> (bottom first, as a manifest lists them) and calls <paramref name="onFile"/> for each
    /// visible file some request matches. A file may be handed out more than once only when a layer's tar holds the same
    /// path twice (the later one is the one that counts, as with tar extraction). Returns the warnings (files skipped for
    /// size). Throws <see cref="ScanException"/> for malformed or hostile layers and when a limit is passed.
    /// </summary>
    public async Task<IReadOnlyList<ScanWarning>> ReadAsync(
        IReadOnlyList<ImageLayer> layers,
        IReadOnlyList<FileRequest> requests,
        Func<ImageFile, CancellationToken, ValueTask> onFile,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(onFile);

        var warnings = new List<ScanWarning>();
        var budget = new ByteBudget(_limits.MaxImageUncompressedBytes);
        var symlinks = new Dictionary<string, string>(StringComparer.Ordinal);
        var delivered = new HashSet<(FileRequest, string)>();
        var hardLinks = new List<(int Layer, string Path, string Target, FileRequest Request)>();

        var wholeRequests = requests.Where(r => r.Mode == FileReadMode.Whole).ToList();
        var goRequests = requests.Where(r => r.Mode == FileReadMode.GoBuildInfo).ToList();
        bool Pass1Interesting(TarEntryHeader entry, string path) => entry.Kind switch
        {
            TarEntryKind.Symlink => true,
            TarEntryKind.HardLink => wholeRequests.Any(r => r.Matches(path)),
            TarEntryKind.File => wholeRequests.Any(r => r.Matches(path)) || (goRequests.Count > 0 && IsExecutableCandidate(entry) && goRequests.Any(r => r.Matches(path))),
            _ => false,
        };

        // Pass 1: everything visible that a request matches.
        await WalkAsync(layers, budget, Pass1Interesting, async (layer, image, entry, path, _, reader, ct) =>
        {
            switch (entry.Kind)
            {
                case TarEntryKind.Symlink when entry.LinkName is not null:
                    symlinks[path] = LayerPaths.ResolveLinkTarget(path, entry.LinkName);
                    break;
                case TarEntryKind.HardLink when entry.LinkName is not null:
                    var target = LayerPaths.NormalizeEntry(entry.LinkName)
                        ?? throw new ScanException($"layer {image.Digest}: hard link '{entry.Name}' points outside the image root ('{entry.LinkName}')");
                    // Hard links count for whole-file requests (a Go binary's other name is read as the file it is).
                    foreach (var request in wholeRequests)
                    {
                        if (request.Matches(path))
                        {
                            hardLinks.Add((layer, path, target, request));
                        }
                    }

                    break;
                case TarEntryKind.File:
                    var matched = Matching(requests, path);
                    if (matched.Count > 0)
                    {
                        await ReadFileAsync(image.Digest, path, entry, reader, matched, warnings, async file =>
                        {
                            if (file.Request.ExactPaths?.Contains(path) == true)
                            {
                                delivered.Add((file.Request, path));
                            }

                            await onFile(file, ct).ConfigureAwait(false);
                        }, ct).ConfigureAwait(false);
                    }

                    break;
            }
        }, cancellationToken).ConfigureAwait(false);

        // Fixed paths that were not regular files: follow symlinks (in any component) to the file they name.
        var byTarget = new Dictionary<string, List<(string AskedPath, FileRequest Request)>>(StringComparer.Ordinal);
        foreach (var request in requests)
        {
            foreach (var exact in request.ExactPaths ?? [])
            {
                if (delivered.Contains((request, exact)))
                {
                    continue;
                }

                var resolved = Resolve(exact, symlinks);
                if (resolved == exact || request.Matches(resolved))
                {
                    // Absent, or a file this request reads under its own name anyway.
                    continue;
                }

                if (!byTarget.TryGetValue(resolved, out var askers))
                {
                    byTarget[resolved] = askers = [];
                }

                askers.Add((exact, request));
            }
        }

        if (byTarget.Count == 0 && hardLinks.Count == 0)
        {
            return warnings;
        }

        // Pass 2: the symlinks' visible targets, and hard links' targets in their own layer (visible or not).
        var linkTargets = hardLinks.ToLookup(h => (h.Layer, h.Target));
        var linkTargetPaths = hardLinks.Select(h => h.Target).ToHashSet(StringComparer.Ordinal);
        bool Pass2Interesting(TarEntryHeader entry, string path) =>
            entry.Kind == TarEntryKind.File && (byTarget.ContainsKey(path) || linkTargetPaths.Contains(path));

        await WalkAsync(layers, budget, Pass2Interesting, async (layer, image, entry, path, hidden, reader, ct) =>
        {
            var wanted = new List<(string AskedPath, FileRequest Request)>();
            if (!hidden && byTarget.TryGetValue(path, out var askers))
            {
                wanted.AddRange(askers);
            }

            foreach (var link in linkTargets[(layer, path)])
            {
                wanted.Add((link.Path, link.Request));
            }

            if (wanted.Count == 0)
            {
                return;
            }

            await ReadFileAsync(image.Digest, path, entry, reader, [.. wanted.Select(w => w.Request).Distinct()], warnings, async file =>
            {
                foreach (var (askedPath, request) in wanted)
                {
                    if (request == file.Request)
                    {
                        await onFile(file with { Path = askedPath }, ct).ConfigureAwait(false);
                    }
                }
            }, ct).ConfigureAwait(false);
        }, cancellationToken, includeHidden: (layer, path) => linkTargets.Contains((layer, path))).ConfigureAwait(false);

        return warnings;
    }

    /// <summary>
    /// Follows symlinks in every component of <paramref name="path"/>. Throws <see cref="ScanException"/> after
    /// <see cref="ScanLimits.MaxSymlinkHops"/> hops (a loop).
    /// </summary>
    internal string Resolve(string path, IReadOnlyDictionary<string, string> symlinks)
    {
        var hops = 0;
        var current = path;
        restart:
        var end = 0;
        while (end < current.Length)
        {
            var slash = current.IndexOf('/', end);
            end = slash < 0 ? current.Length : slash;
            var prefix = current[..end];
            if (symlinks.TryGetValue(prefix, out var target))
            {
                if (++hops > _limits.MaxSymlinkHops)
                {
                    throw new ScanException($"symlink loop resolving '{path}' (more than {_limits.MaxSymlinkHops} links followed)");
                }

                var rest = end < current.Length ? current[(end + 1)..] : string.Empty;
                current = rest.Length == 0 ? target : target.Length == 0 ? rest : target + "/" + rest;
                goto restart;
            }

            end++;
        }

        return current;
    }

    private delegate ValueTask EntryVisitor(int layer, ImageLayer image, TarEntryHeader entry, string path, bool hidden, TarStreamReader reader, CancellationToken cancellationToken);

    private async Task WalkAsync(
        IReadOnlyList<ImageLayer> layers,
        ByteBudget budget,
        Func<TarEntryHeader, string, bool> isInteresting,
        EntryVisitor visit,
        CancellationToken cancellationToken,
        Func<int, string, bool>? includeHidden = null)
    {
        var marks = new PathMarks();
        var imageEntries = 0L;
        var bottom = layers.Count - 1;

        // Index 0 is the top layer here; the caller's list is bottom first.
        for (var top = 0; top < layers.Count; top++)
        {
            var layer = layers[layers.Count - 1 - top];
            var what = $"layer {layer.Digest}";
            var layerEntries = 0;
            Stream stored;
            try
            {
                stored = await layer.Open(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                throw new ScanException($"{what}: cannot be opened ({ex.Message})", ex);
            }

            await using var data = await LayerDecompression.OpenAsync(stored, what, _limits.MaxLayerUncompressedBytes, budget, cancellationToken).ConfigureAwait(false);
            var reader = new TarStreamReader(data, _limits, what);
            while (await reader.NextAsync(cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (++layerEntries > _limits.MaxEntriesPerLayer)
                {
                    throw new ScanException($"{what}: more than {_limits.MaxEntriesPerLayer} entries in one layer");
                }

                if (++imageEntries > _limits.MaxEntriesPerImage)
                {
                    throw new ScanException($"{what}: the image has more than {_limits.MaxEntriesPerImage} entries in all");
                }

                var path = LayerPaths.NormalizeEntry(entry.Name)
                    ?? throw new ScanException($"{what}: entry '{entry.Name}' climbs out of the image root (path traversal)");
                if (path.Length == 0)
                {
                    continue;
                }

                if (path.Count('/') >= _limits.MaxPathDepth)
                {
                    throw new ScanException($"{what}: entry '{entry.Name[..Math.Min(entry.Name.Length, 200)]}…' is more than {_limits.MaxPathDepth} directories deep");
                }

                var name = LayerPaths.FileName(path);
                if (name.StartsWith(".wh.", StringComparison.Ordinal))
                {
                    var directory = LayerPaths.Parent(path);
                    if (top < bottom)
                    {
                        if (name == ".wh..wh..opq")
                        {
                            marks.AddOpaque(directory, top);
                        }
                        else if (name.Length > 4)
                        {
                            var hidden = name[4..];
                            marks.AddWhiteout(directory.Length == 0 ? hidden : directory + "/" + hidden, top);
                        }
                    }

                    continue;
                }

                // Only entries the visitor may use need the (hashing) visibility check; every entry is recorded for the
                // layers below. Recording an entry that is itself hidden changes nothing: what hides it hides the paths
                // below it too.
                var interesting = isInteresting(entry, path);
                var isHidden = interesting && top > 0 && marks.IsHidden(path, top);
                if (top < bottom)
                {
                    marks.AddEntry(path, top, entry.Kind == TarEntryKind.Directory);
                }

                if (!interesting || (isHidden && (includeHidden is null || !includeHidden(top, path))))
                {
                    continue;
                }

                await visit(top, layer, entry, path, isHidden, reader, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private bool IsExecutableCandidate(TarEntryHeader entry) =>
        (entry.Mode & 0b001_001_001) != 0 && entry.Size <= _limits.MaxExecutableBytes && entry.Size >= 64;

    private static List<FileRequest> Matching(IReadOnlyList<FileRequest> requests, string path)
    {
        List<FileRequest>? matched = null;
        foreach (var request in requests)
        {
            if (request.Matches(path))
            {
                (matched ??= []).Add(request);
            }
        }

        return matched ?? [];
    }

    private async ValueTask ReadFileAsync(
        string layerDigest,
        string path,
        TarEntryHeader entry,
        TarStreamReader reader,
        IReadOnlyList<FileRequest> requests,
        List<ScanWarning> warnings,
        Func<ImageFile, ValueTask> deliver,
        CancellationToken cancellationToken)
    {
        var whole = requests.Where(r => r.Mode == FileReadMode.Whole).ToList();
        var goRequests = requests.Where(r => r.Mode == FileReadMode.GoBuildInfo).ToList();
        var executable = IsExecutableCandidate(entry);

        var wholeCap = whole.Count == 0 ? -1 : whole.Max(r => r.MaxBytes);
        if (whole.Count > 0 && entry.Size > wholeCap)
        {
            warnings.Add(new ScanWarning(path, layerDigest, $"{entry.Size} bytes, over the {wholeCap}-byte cap for {string.Join(", ", whole.Select(r => r.Name))}; not read"));
        }

        if (whole.Count > 0 && entry.Size <= wholeCap)
        {
            var content = new byte[entry.Size];
            await reader.OpenData().ReadExactlyAsync(content, cancellationToken).ConfigureAwait(false);
            foreach (var request in whole)
            {
                if (entry.Size <= request.MaxBytes)
                {
                    await deliver(new ImageFile(path, layerDigest, content, request)).ConfigureAwait(false);
                }
            }

            if (goRequests.Count > 0 && executable && content.AsSpan().StartsWith(ElfMagic))
            {
                foreach (var request in goRequests)
                {
                    var info = FindInMemory(content, (int)Math.Min(request.MaxBytes, int.MaxValue));
                    if (info is not null)
                    {
                        await deliver(new ImageFile(path, layerDigest, info, request)).ConfigureAwait(false);
                    }
                }
            }

            return;
        }

        if (goRequests.Count > 0 && executable)
        {
            var cap = (int)Math.Min(goRequests.Max(r => r.MaxBytes), 16 << 20);
            var info = await FindGoBuildInfoAsync(reader.OpenData(), entry.Size, cap, cancellationToken).ConfigureAwait(false);
            if (info is not null)
            {
                foreach (var request in goRequests)
                {
                    await deliver(new ImageFile(path, layerDigest, info, request)).ConfigureAwait(false);
                }
            }
        }
    }

    private static byte[]? FindInMemory(byte[] content, int cap)
    {
        var start = 0;
        while (start < content.Length)
        {
            var at = content.AsSpan(start).IndexOf(GoBuildInfoMagic);
            if (at < 0)
            {
                return null;
            }

            at += start;
            if (LooksLikeBuildInfo(content.AsSpan(at)))
            {
                return content.AsSpan(at, Math.Min(cap, content.Length - at)).ToArray();
            }

            start = at + 1;
        }

        return null;
    }

    /// <summary>
    /// Streams an ELF file looking for the Go build information block (Go 1.18+: the <c>\xff Go buildinf:</c> magic, pointer
    /// size, flags with the "inline strings" bit, then the version and module strings). Memory: one 64 KiB window plus the
    /// block itself (at most <paramref name="cap"/> bytes). Returns null for a non-Go ELF (or a Go binary older than 1.18,
    /// whose build info is behind pointers that a stream cannot follow).
    /// </summary>
    internal static async ValueTask<byte[]?> FindGoBuildInfoAsync(Stream data, long size, int cap, CancellationToken cancellationToken)
    {
        const int Window = 64 * 1024;
        var buffer = ArrayPool<byte>.Shared.Rent(Window);
        try
        {
            var filled = await ReadAtLeastAsync(data, buffer.AsMemory(0, Window), Window, cancellationToken).ConfigureAwait(false);
            if (filled < 4 || !buffer.AsSpan(0, 4).SequenceEqual(ElfMagic))
            {
                return null;
            }

            var consumed = (long)filled;
            while (true)
            {
                var searchFrom = 0;
                var pendingAt = -1;
                while (true)
                {
                    var at = buffer.AsSpan(searchFrom, filled - searchFrom).IndexOf(GoBuildInfoMagic);
                    if (at < 0)
                    {
                        break;
                    }

                    at += searchFrom;
                    if (filled - at < 32)
                    {
                        // Not enough bytes to check the header: slide the window and look again.
                        pendingAt = at;
                        break;
                    }

                    if (LooksLikeBuildInfo(buffer.AsSpan(at, filled - at)))
                    {
                        var total = (int)Math.Min(cap, size - (consumed - filled) - at);
                        var block = new byte[total];
                        var inWindow = Math.Min(total, filled - at);
                        buffer.AsSpan(at, inWindow).CopyTo(block);
                        if (inWindow < total)
                        {
                            var more = await ReadAtLeastAsync(data, block.AsMemory(inWindow), total - inWindow, cancellationToken).ConfigureAwait(false);
                            Array.Resize(ref block, inWindow + more);
                        }

                        return block;
                    }

                    searchFrom = at + 1;
                }

                // Keep the tail that could hold the start of a magic (or a header cut by the window's end).
                var keep = pendingAt >= 0 ? filled - pendingAt : Math.Min(filled, GoBuildInfoMagic.Length - 1);

                buffer.AsSpan(filled - keep, keep).CopyTo(buffer);
                filled = keep;
                var n = await ReadAtLeastAsync(data, buffer.AsMemory(filled, Window - filled), Window - filled, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    return null;
                }

                filled += n;
                consumed += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool LooksLikeBuildInfo(ReadOnlySpan<byte> block) =>
        block.Length >= 33 && block[14] is 4 or 8 && (block[15] & 0x2) != 0;

    private static async ValueTask<int> ReadAtLeastAsync(Stream stream, Memory<byte> buffer, int minimum, CancellationToken cancellationToken) =>
        await stream.ReadAtLeastAsync(buffer, minimum, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);

    private static byte[] BuildInfoMagic()
    {
        // "\xff Go buildinf:" — 14 bytes, the first one 0xff (a C# string literal would encode U+00FF as two UTF-8 bytes).
        var magic = new byte[14];
        magic[0] = 0xff;
        " Go buildinf:"u8.CopyTo(magic.AsSpan(1));
        return magic;
    }
}
