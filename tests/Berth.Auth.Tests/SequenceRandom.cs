using System.Security.Cryptography;

namespace Berth.Auth.Tests;

/// <summary>Deterministic "randomness": bytes 0, 1, 2, … continuing across calls (wrapping at 256), or a fixed byte.</summary>
internal sealed class SequenceRandom : RandomNumberGenerator
{
    private readonly byte? _fixed;
    private byte _next;

    public SequenceRandom(byte? fixedByte = null) => _fixed = fixedByte;

    public override void GetBytes(byte[] data) => GetBytes(data.AsSpan());

    public override void GetBytes(Span<byte> data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = _fixed ?? _next++;
        }
    }
}
