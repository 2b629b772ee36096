using System.Buffers.Binary;
using System.Security.Cryptography;
using Berth.Core.Hashing;

namespace Berth.Storage.Conformance;

/// <summary>
/// <see cref="Sha256State"/> gives the digests <see cref="SHA256.HashData(byte[])"/> gives, however the input is split,
/// and a state saved and restored mid-stream (as an upload resumed on another node does) continues exactly.
/// </summary>
public sealed class Sha256StateTests
{
    [Fact]
    public void IsSupported_OnLinux_IsTrue()
    {
        // CI and the benchmark run on Linux with OpenSSL 3: the saved-state path must be the one they exercise.
        Assert.Equal(OperatingSystem.IsLinux(), Sha256State.IsSupported);
    }

    [Fact]
    public void Create_NothingAppended_IsTheDigestOfEmpty()
    {
        Assert.Equal(SHA256.HashData([]), Sha256State.Create().GetCurrentHash());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Append_RandomInputSplitAtRandomPoints_EqualsHashData(int seed)
    {
        var random = new Random(seed);
        var content = new byte[random.Next(0, 300_000)];
        random.NextBytes(content);
        var state = Sha256State.Create();

        foreach (var (start, length) in RandomSplits(random, content.Length))
        {
            state.Append(content.AsSpan(start, length));
        }

        Assert.Equal(SHA256.HashData(content), state.GetCurrentHash());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(1_000_003)]
    public void ExportThenRestore_AtAnyPoint_ContinuesToTheSameDigest(int cut)
    {
        var content = RandomNumberGenerator.GetBytes(cut + 777);
        var first = Sha256State.Create();
        first.Append(content.AsSpan(0, cut));

        var saved = first.Export();
        Assert.True(Sha256State.TryRestore(saved, out var restored));
        restored!.Append(content.AsSpan(cut));

        Assert.Equal(Sha256State.StateSize, saved.Length);
        Assert.Equal(SHA256.HashData(content), restored.GetCurrentHash());
    }

    [Fact]
    public void GetCurrentHash_MidStream_LeavesTheStateUnchanged()
    {
        var content = RandomNumberGenerator.GetBytes(5000);
        var state = Sha256State.Create();
        state.Append(content.AsSpan(0, 1234));
        var before = state.Export();

        Assert.Equal(SHA256.HashData(content.AsSpan(0, 1234)), state.GetCurrentHash());
        state.Append(content.AsSpan(1234));

        Assert.Equal(before, Sha256State.TryRestore(before, out var again) ? again!.Export() : null);
        Assert.Equal(SHA256.HashData(content), state.GetCurrentHash());
    }

    [Fact]
    public void Export_IsACopy_LaterAppendsDoNotChangeIt()
    {
        var state = Sha256State.Create();
        state.Append([1, 2, 3]);
        var saved = state.Export();
        var copy = (byte[])saved.Clone();

        state.Append([4, 5, 6]);

        Assert.Equal(copy, saved);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(111)]
    [InlineData(113)]
    [InlineData(4096)]
    public void TryRestore_WrongLength_IsFalse(int length)
    {
        Assert.False(Sha256State.TryRestore(new byte[length], out var state));
        Assert.Null(state);
    }

    [Theory]
    [InlineData(64u, 32u)]
    [InlineData(uint.MaxValue, 32u)]
    [InlineData(0u, 28u)]
    [InlineData(0u, 0u)]
    public void TryRestore_BufferedCountOrDigestLengthOutOfRange_IsFalse(uint num, uint mdLength)
    {
        // A corrupted or hostile saved state must not let OpenSSL index past its 64-byte block.
        var saved = Sha256State.Create().Export();
        BinaryPrimitives.WriteUInt32LittleEndian(saved.AsSpan(104), num);
        BinaryPrimitives.WriteUInt32LittleEndian(saved.AsSpan(108), mdLength);

        Assert.False(Sha256State.TryRestore(saved, out _));
    }

    private static IEnumerable<(int Start, int Length)> RandomSplits(Random random, int total)
    {
        var start = 0;
        while (start < total)
        {
            var length = Math.Min(total - start, random.Next(4) switch { 0 => random.Next(0, 3), 1 => random.Next(1, 130), _ => random.Next(1, 70_000) });
            yield return (start, length);
            start += length;
        }

        yield return (total, 0);
    }
}
