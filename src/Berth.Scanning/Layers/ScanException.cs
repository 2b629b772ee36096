namespace Berth.Scanning.Layers;

/// <summary>
/// An image could not be scanned: a layer is malformed, truncated, hostile (path traversal, decompression bomb, too many
/// entries, symlink loop) or over a configured limit. The message says which layer and why; it is safe to show to users.
/// </summary>
public sealed class ScanException : Exception
{
    public ScanException()
    {
    }

    public ScanException(string message)
        : base(message)
    {
    }

    public ScanException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
