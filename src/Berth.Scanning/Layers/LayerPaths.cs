namespace Berth.Scanning.Layers;

/// <summary>Path arithmetic inside an image's file system (always '/'-separated, relative to the root, no leading slash).</summary>
public static class LayerPaths
{
    /// <summary>
    /// Normalises a tar entry name: leading "/" and "./" are dropped, "." and empty segments removed, ".." applied. Returns
    /// null when ".." would climb above the root (a traversal attempt); the caller refuses the layer. The root itself is "".
    /// </summary>
    public static string? NormalizeEntry(string name)
    {
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        var simple = IsSimple(name);
        if (simple)
        {
            return name;
        }

        var parts = new List<string>();
        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (parts.Count == 0)
                {
                    return null;
                }

                parts.RemoveAt(parts.Count - 1);
                continue;
            }

            parts.Add(segment);
        }

        return string.Join('/', parts);
    }

    /// <summary>
    /// Resolves <paramref name="target"/> of a symlink at <paramref name="linkPath"/>, as the kernel would inside a chroot:
    /// absolute targets start at the root, relative ones at the link's directory, and ".." stops at the root.
    /// </summary>
    public static string ResolveLinkTarget(string linkPath, string target)
    {
        var start = target.StartsWith('/') ? string.Empty : Parent(linkPath);
        var parts = new List<string>(start.Length == 0 ? [] : start.Split('/'));
        foreach (var segment in target.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(segment);
        }

        return string.Join('/', parts);
    }

    /// <summary>The directory holding <paramref name="path"/> ("" for a top-level name).</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? string.Empty : path[..slash];
    }

    /// <summary>The last segment of <paramref name="path"/>.</summary>
    public static string FileName(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? path : path[(slash + 1)..];
    }

    private static bool IsSimple(string name)
    {
        if (name.Length == 0 || name[0] == '/' || name[^1] == '/')
        {
            return false;
        }

        var start = 0;
        while (start <= name.Length)
        {
            var end = name.IndexOf('/', start);
            if (end < 0)
            {
                end = name.Length;
            }

            var length = end - start;
            if (length == 0 || (length == 1 && name[start] == '.') || (length == 2 && name[start] == '.' && name[start + 1] == '.'))
            {
                return false;
            }

            start = end + 1;
        }

        return true;
    }
}
