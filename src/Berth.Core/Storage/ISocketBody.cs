using System.Net.Sockets;

namespace Berth.Core.Storage;

/// <summary>
/// A blob stream (<see cref="BlobRead.Streamed"/>) whose remaining bytes arrive on a connected socket: an object store's
/// plain-HTTP response body. A server that can move bytes between sockets inside the kernel (<c>splice(2)</c>) may take
/// the socket and send the rest of the body from it without reading it into memory; anything else reads the stream.
/// </summary>
public interface ISocketBody
{
    /// <summary>
    /// Hands over the socket, with the body bytes already read off it (they come first; the socket yields the rest,
    /// exactly the stream's remaining length minus <paramref name="buffered"/>). False once the stream has been read
    /// from, or when taken before. The stream still owns the socket: disposing it closes the socket, so the caller is
    /// done with the socket before it disposes the stream. After a successful take the stream must not be read.
    /// </summary>
    bool TryTakeSocket(out Socket socket, out ReadOnlyMemory<byte> buffered);
}
