using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Berth.EndToEnd.Tests.Images;

/// <summary>
/// Reproducible pseudo-random bytes (SplitMix64): the same seed and name give the same bytes on every machine and .NET
/// version, unlike <see cref="Random"/> or <see cref="string.GetHashCode()"/>. Not for cryptography; just incompressible test data.
/// </summary>
public sealed class DeterministicRandom
{
    private ulong _state;

    public DeterministicRandom(ulong seed, string stream)
    {
        // Mix the stream name in through SHA-256, so "layer-1" and "layer-2" of one seed are unrelated.
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}/{stream}"), hash);
        _state = BinaryPrimitives.ReadUInt64LittleEndian(hash);
    }

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public void Fill(Span<byte> buffer)
    {
        while (buffer.Length >= 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(buffer, NextUInt64());
            buffer = buffer[8..];
        }

        if (buffer.Length > 0)
        {
            Span<byte> last = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(last, NextUInt64());
            last[..buffer.Length].CopyTo(buffer);
        }
    }

    /// <summary><paramref name="length"/> bytes of the stream named <paramref name="stream"/> under <paramref name="seed"/>.</summary>
    public static byte[] Bytes(ulong seed, string stream, int length)
    {
        var bytes = new byte[length];
        new DeterministicRandom(seed, stream).Fill(bytes);
        return bytes;
    }
}
