using System.Security.Cryptography;
using Berth.Core.Registry;

namespace Berth.Tests;

/// <summary>
/// The upload copier writes whole 1 MiB buffers whatever sizes the request body arrives in: a blob file written a few KiB
/// at a time gets small page-cache folios, and sendfile then sends it about 20% slower (BENCHMARKS.md).
/// </summary>
public sealed class HashingCopierTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7 * 1024)]
    [InlineData(64 * 1024 + 3)]
    public async Task WritesWholeBuffers_WhateverTheReadSizes(int readSize)
    {
        var data = new byte[3 * HashingCopier.BufferSize + HashingCopier.BufferSize / 2 + 5];
        Random.Shared.NextBytes(data);
        using var source = new TrickleStream(data, readSize);
        using var destination = new RecordingStream();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        var copied = await HashingCopier.CopyAsync(source, destination, hash, long.MaxValue, CancellationToken.None);

        Assert.Equal(data.Length, copied);
        Assert.Equal(data, destination.ToArray());
        Assert.Equal(SHA256.HashData(data), hash.GetHashAndReset());
        Assert.Equal([HashingCopier.BufferSize, HashingCopier.BufferSize, HashingCopier.BufferSize, HashingCopier.BufferSize / 2 + 5], destination.Writes);
    }

    [Fact]
    public async Task MoreThanTheLimit_ReturnsMinusOne()
    {
        using var source = new TrickleStream(new byte[HashingCopier.BufferSize + 10], 4096);
        using var destination = new RecordingStream();

        Assert.Equal(-1, await HashingCopier.CopyAsync(source, destination, (IncrementalHash?)null, HashingCopier.BufferSize + 9, CancellationToken.None));
    }

    [Fact]
    public async Task EmptySource_WritesNothing()
    {
        using var source = new TrickleStream([], 4096);
        using var destination = new RecordingStream();

        Assert.Equal(0, await HashingCopier.CopyAsync(source, destination, (IncrementalHash?)null, long.MaxValue, CancellationToken.None));
        Assert.Empty(destination.Writes);
    }

    /// <summary>Hands out at most <c>readSize</c> bytes per read, as a request body arriving over the network does.</summary>
    private sealed class TrickleStream(byte[] data, int readSize) : MemoryStream(data, writable: false)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, readSize)], cancellationToken);
    }

    private sealed class RecordingStream : MemoryStream
    {
        public List<int> Writes { get; } = [];

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes.Add(buffer.Length);
            return base.WriteAsync(buffer, cancellationToken);
        }
    }
}
