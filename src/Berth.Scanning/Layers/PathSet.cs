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
    private readonly Dictionary<UInt128, int> _entries = [];
    private readonly Dictionary<UInt128, int> _nonDirectories = [];
    private readonly Dictionary<UInt128, int> _whiteouts = [];
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
        _entries.TryAdd(key, layer);
        if (!isDirectory)
        {
            _nonDirectories.TryAdd(key, layer);
        }
    }

    public void AddWhiteout(string path, int layer) => _whiteouts.TryAdd(Key(path), layer);

    public void AddOpaque(string directory, int layer) => _opaques.TryAdd(Key(directory), layer);

    /// <summary>
    /// Whether a layer above <paramref name="layer"/> hides <paramref name="path"/>: the same path exists above (any type)
    /// or was whited out; or an ancestor was whited out, made opaque, or replaced by something that is not a directory.
    /// </summary>
    public bool IsHidden(string path, int layer)
    {
        var key = Key(path);
        if (Above(_entries, key, layer) || Above(_whiteouts, key, layer))
        {
            return true;
        }

        var end = path.Length;
        while (true)
        {
            var slash = path.LastIndexOf('/', end - 1);
            var ancestor = slash < 0 ? string.Empty : path[..slash];
            var ancestorKey = Key(ancestor);
            if (Above(_opaques, ancestorKey, layer))
            {
                return true;
            }

            if (ancestor.Length == 0)
            {
                return false;
            }

            if (Above(_whiteouts, ancestorKey, layer) || Above(_nonDirectories, ancestorKey, layer))
            {
                return true;
            }

            end = slash;
        }
    }

    private static bool Above(Dictionary<UInt128, int> marks, UInt128 key, int layer) =>
        marks.TryGetValue(key, out var markLayer) && markLayer < layer;
}
