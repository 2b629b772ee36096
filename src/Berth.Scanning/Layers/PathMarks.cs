using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Scanning.Layers;

/// <summary>
/// What upper layers did to paths, keyed by a 128-bit hash of the path (16 bytes instead of the string: a collision would
/// need about 2^64 paths). For each kind of mark it keeps the topmost layer index (0 = top) that made it.
/// </summary>
internal sealed class PathMarks
{
    // Per path: the topmost layer with an entry there (high 32 bits) and the topmost with a non-directory there (low 32
    // bits, int.MaxValue for none), in one 8-byte value: about 36 bytes a path with the dictionary's own overhead.
    private readonly Dictionary<UInt128, long> _entries = [];
    private readonly Dictionary<UInt128, int> _whiteouts = [];
    private readonly Dictionary<string, bool> _directoryCache = new(StringComparer.Ordinal);
    private int _cacheLayer = -1;
    private readonly Dictionary<UInt128, int> _opaques = [];

    public int Count => _entries.Count + _whiteouts.Count + _opaques.Count;

    public static UInt128 Key(string path)
    {
        Span<byte> hash = stackalloc byte[32];
        var max = Encoding.UTF8.GetMaxByteCount(path.Length);
        if (max <= 1024)
        {
            Span<byte> bytes = stackalloc byte[max];
            var n = Encoding.UTF8.GetBytes(path, bytes);
            SHA256.HashData(bytes[..n], hash);
        }
        else
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(path), hash);
        }

        return MemoryMarshal.Read<UInt128>(hash);
    }

    public void AddEntry(string path, int layer, bool isDirectory)
    {
        var key = Key(path);
        var nonDirectory = isDirectory ? int.MaxValue : layer;
        if (_entries.TryGetValue(key, out var packed))
        {
            // Layers come top-down, so an existing mark is from this layer or one above: keep the topmost of each kind.
            var entryLayer = (int)(packed >> 32);
            var nonDirectoryLayer = Math.Min((int)(packed & 0xffffffff), nonDirectory);
            _entries[key] = ((long)entryLayer << 32) | (uint)nonDirectoryLayer;
            return;
        }

        _entries[key] = ((long)layer << 32) | (uint)nonDirectory;
    }

    public void AddWhiteout(string path, int layer) => _whiteouts.TryAdd(Key(path), layer);

    public void AddOpaque(string directory, int layer) => _opaques.TryAdd(Key(directory), layer);

    /// <summary>
    /// Whether a layer above <paramref name="layer"/> hides <paramref name="path"/>: the same path exists above (any type)
    /// or was whited out; or an ancestor was whited out, made opaque, or replaced by something that is not a directory.
    /// Calls for one layer must come together (layers top-down): what a directory's ancestors hide is cached for the
    /// layer, as a tar lists a directory's entries together.
    /// </summary>
    public bool IsHidden(string path, int layer)
    {
        if (_cacheLayer != layer || _directoryCache.Count > 65536)
        {
            _directoryCache.Clear();
            _cacheLayer = layer;
        }

        var key = Key(path);
        if ((_entries.TryGetValue(key, out var packed) && (int)(packed >> 32) < layer) || Above(_whiteouts, key, layer))
        {
            return true;
        }

        return DirectoryHides(LayerPaths.Parent(path), layer);
    }

    private bool DirectoryHides(string directory, int layer)
    {
        if (_directoryCache.TryGetValue(directory, out var cached))
        {
            return cached;
        }

        var key = Key(directory);
        var hides = Above(_opaques, key, layer) ||
            (directory.Length > 0 &&
             (Above(_whiteouts, key, layer) ||
              (_entries.TryGetValue(key, out var packed) && (int)(packed & 0xffffffff) < layer) ||
              DirectoryHides(LayerPaths.Parent(directory), layer)));
        _directoryCache[directory] = hides;
        return hides;
    }

    private static bool Above(Dictionary<UInt128, int> marks, UInt128 key, int layer) =>
        marks.TryGetValue(key, out var markLayer) && markLayer < layer;
}
