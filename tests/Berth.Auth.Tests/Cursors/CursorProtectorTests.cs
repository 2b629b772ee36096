using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Berth.Auth.Cursors;
using Berth.Auth.Jwt;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Auth.Tests.Cursors;

public sealed class CursorProtectorTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private string KeyFolder => Path.Combine(_temp.Path, "keys");

    public void Dispose() => _temp.Dispose();

    private CursorProtector Protector(SigningKeyRing ring) => new(ring, _clock, RandomNumberGenerator.Create());

    [Fact]
    public void Unprotect_SameListingAndCaller_ReturnsThePosition()
    {
        using var ring = SigningKeyRing.CreateEphemeral();
        var protector = Protector(ring);

        var cursor = protector.Protect("projects", "user:alice", "hidden-0999");

        Assert.True(protector.TryUnprotect("projects", "user:alice", cursor, out var position));
        Assert.Equal("hidden-0999", position);
        Assert.DoesNotContain("hidden", Encoding.Latin1.GetString(Base64Url.DecodeFromChars(cursor)), StringComparison.Ordinal);
    }

    [Fact]
    public void Protect_SamePositionTwice_GivesDifferentText()
    {
        using var ring = SigningKeyRing.CreateEphemeral();
        var protector = Protector(ring);

        Assert.NotEqual(protector.Protect("projects", "user:alice", "a"), protector.Protect("projects", "user:alice", "a"));
    }

    [Theory]
    [InlineData("catalog", "user:alice")]
    [InlineData("projects", "user:bob")]
    [InlineData("projects", "robot:alice")]
    [InlineData("projects", "anonymous")]
    public void Unprotect_OtherListingOrCaller_Fails(string listing, string caller)
    {
        using var ring = SigningKeyRing.CreateEphemeral();
        var protector = Protector(ring);
        var cursor = protector.Protect("projects", "user:alice", "hidden-0999");

        Assert.False(protector.TryUnprotect(listing, caller, cursor, out var position));
        Assert.Null(position);
    }

    [Fact]
    public void Unprotect_OlderThanItsLifetime_Fails()
    {
        using var ring = SigningKeyRing.CreateEphemeral();
        var protector = Protector(ring);
        var cursor = protector.Protect("projects", "user:alice", "a");

        _clock.Advance(CursorProtector.Lifetime - TimeSpan.FromSeconds(1));
        Assert.True(protector.TryUnprotect("projects", "user:alice", cursor, out _));
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(protector.TryUnprotect("projects", "user:alice", cursor, out _));
    }

    [Fact]
    public void Unprotect_AnotherServersKey_Fails()
    {
        using var ring = SigningKeyRing.CreateEphemeral();
        using var elsewhere = SigningKeyRing.CreateEphemeral();
        var cursor = Protector(elsewhere).Protect("projects", "user:alice", "a");

        Assert.False(Protector(ring).TryUnprotect("projects", "user:alice", cursor, out _));
    }

    [Fact]
    public void Unprotect_NodesSharingTheKeyFolder_OpenEachOthersCursors()
    {
        using var nodeA = SigningKeyRing.LoadOrCreate(KeyFolder);
        using var nodeB = SigningKeyRing.LoadOrCreate(KeyFolder);
        var cursor = Protector(nodeA).Protect("catalog", "user:alice", "hidden/svc-09999");

        Assert.True(Protector(nodeB).TryUnprotect("catalog", "user:alice", cursor, out var position));
        Assert.Equal("hidden/svc-09999", position);
    }

    [Fact]
    public void Unprotect_AfterRotation_OpensUntilTheOldKeyIsRemoved()
    {
        using var ring = SigningKeyRing.LoadOrCreate(KeyFolder);
        var protector = Protector(ring);
        var old = ring.Current.Id;
        var cursor = protector.Protect("projects", "user:alice", "a");

        ring.Rotate();
        Assert.True(protector.TryUnprotect("projects", "user:alice", cursor, out _));
        Assert.True(protector.TryUnprotect("projects", "user:alice", protector.Protect("projects", "user:alice", "b"), out _));

        ring.Remove(old);
        Assert.False(protector.TryUnprotect("projects", "user:alice", cursor, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("AQ")]
    [InlineData("%%%")]
    [InlineData("AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Unprotect_Garbage_Fails(string text)
    {
        using var ring = SigningKeyRing.CreateEphemeral();

        Assert.False(Protector(ring).TryUnprotect("projects", "user:alice", text, out _));
    }

    [Fact]
    public void Unprotect_EveryBitFlipped_Fails()
    {
        using var ring = SigningKeyRing.CreateEphemeral();
        var protector = Protector(ring);
        var bytes = Base64Url.DecodeFromChars(protector.Protect("projects", "user:alice", "hidden-0999"));

        for (var bit = 0; bit < bytes.Length * 8; bit++)
        {
            var altered = (byte[])bytes.Clone();
            altered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(protector.TryUnprotect("projects", "user:alice", Base64Url.EncodeToString(altered), out _), $"bit {bit}");
        }
    }

    [Fact]
    public void Unprotect_TooLong_Fails()
    {
        using var ring = SigningKeyRing.CreateEphemeral();

        Assert.False(Protector(ring).TryUnprotect("projects", "user:alice", new string('A', CursorProtector.MaxLength + 1), out _));
    }
}
