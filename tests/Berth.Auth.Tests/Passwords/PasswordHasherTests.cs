using System.Security.Cryptography;
using Berth.Auth.Passwords;
using Microsoft.Extensions.Options;

namespace Berth.Auth.Tests.Passwords;

public sealed class PasswordHasherTests
{
    private const int FastIterations = 1_000;

    private static PasswordHasher Create(int iterations = FastIterations, RandomNumberGenerator? random = null) =>
        new(Options.Create(new PasswordHasherOptions { Iterations = iterations }), random ?? RandomNumberGenerator.Create());

    [Fact]
    public void Hash_AnyPassword_HasSelfDescribingFormat()
    {
        var encoded = Create().Hash("correct horse");

        var parts = encoded.Split('$');
        Assert.Equal(5, parts.Length);
        Assert.Equal("", parts[0]);
        Assert.Equal("pbkdf2-sha256", parts[1]);
        Assert.Equal("i=1000", parts[2]);
        Assert.Equal(16, Convert.FromBase64String(parts[3] + "==").Length);
        Assert.Equal(32, Convert.FromBase64String(parts[4] + "=").Length);
    }

    [Fact]
    public void Hash_SamePasswordTwice_DiffersBySalt()
    {
        var hasher = Create();

        Assert.NotEqual(hasher.Hash("secret"), hasher.Hash("secret"));
    }

    [Fact]
    public void Hash_KnownSaltAndPassword_MatchesPbkdf2Reference()
    {
        var hasher = Create(random: new SequenceRandom(fixedByte: 7));
        var salt = Enumerable.Repeat((byte)7, 16).ToArray();
        var expected = Rfc2898DeriveBytes.Pbkdf2("pässword"u8.ToArray(), salt, FastIterations, HashAlgorithmName.SHA256, 32);

        var encoded = hasher.Hash("pässword");

        Assert.Equal(Convert.ToBase64String(expected).TrimEnd('='), encoded.Split('$')[4]);
    }

    [Theory]
    [InlineData("secret")]
    [InlineData("")]
    [InlineData("with spaces and ünïcödé ✓")]
    [InlineData("a-very-long-password-a-very-long-password-a-very-long-password-a-very-long-password")]
    public void Verify_RightPassword_Succeeds(string password)
    {
        var hasher = Create();

        Assert.Equal(PasswordVerification.Succeeded, hasher.Verify(hasher.Hash(password), password));
    }

    [Theory]
    [InlineData("secret", "Secret")]
    [InlineData("secret", "secret ")]
    [InlineData("secret", "")]
    [InlineData("", "x")]
    public void Verify_WrongPassword_Fails(string password, string attempt)
    {
        var hasher = Create();

        Assert.Equal(PasswordVerification.Failed, hasher.Verify(hasher.Hash(password), attempt));
    }

    [Fact]
    public void Verify_NullPassword_Fails()
    {
        var hasher = Create();

        Assert.Equal(PasswordVerification.Failed, hasher.Verify(hasher.Hash("secret"), null));
    }

    [Fact]
    public void Verify_UnknownUser_FailsWithoutThrowing()
    {
        Assert.Equal(PasswordVerification.Failed, Create().Verify(null, "secret"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("$pbkdf2-sha256$i=1000$AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha1$i=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=abc$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=-5$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=999999999$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=1000$!!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAA")]
    [InlineData("$pbkdf2-sha256$i=1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("x$pbkdf2-sha256$i=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Verify_MalformedStoredHash_FailsWithoutThrowing(string encoded)
    {
        var hasher = Create();

        Assert.Equal(PasswordVerification.Failed, hasher.Verify(encoded, "secret"));
        Assert.True(hasher.NeedsRehash(encoded));
    }

    [Fact]
    public void Verify_HashWithFewerIterations_SucceedsAndAsksForRehash()
    {
        var old = Create(iterations: 1_000).Hash("secret");
        var current = Create(iterations: 2_000);

        Assert.Equal(PasswordVerification.SucceededRehashNeeded, current.Verify(old, "secret"));
        Assert.True(current.NeedsRehash(old));
    }

    [Fact]
    public void Verify_HashWithMoreIterations_SucceedsWithoutRehash()
    {
        var stronger = Create(iterations: 2_000).Hash("secret");
        var current = Create(iterations: 1_000);

        Assert.Equal(PasswordVerification.Succeeded, current.Verify(stronger, "secret"));
        Assert.False(current.NeedsRehash(stronger));
    }

    [Fact]
    public void Verify_HashWithShorterSalt_SucceedsAndAsksForRehash()
    {
        var salt = new byte[8];
        var hash = Rfc2898DeriveBytes.Pbkdf2("secret"u8.ToArray(), salt, FastIterations, HashAlgorithmName.SHA256, 32);
        var encoded = PasswordHasher.Format(FastIterations, salt, hash);

        Assert.Equal(PasswordVerification.SucceededRehashNeeded, Create().Verify(encoded, "secret"));
    }

    [Fact]
    public void NeedsRehash_CurrentParameters_False()
    {
        var hasher = Create();

        Assert.False(hasher.NeedsRehash(hasher.Hash("secret")));
    }

    [Theory]
    [InlineData(999)]
    [InlineData(0)]
    [InlineData(10_000_001)]
    public void Constructor_IterationsOutOfBounds_Throws(int iterations)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(iterations));
    }

    [Fact]
    public void Options_Default_IsOwaspRecommendation()
    {
        Assert.Equal(600_000, new PasswordHasherOptions().Iterations);
    }

    [Fact]
    public void Verify_UnknownUser_RunsTheSamePbkdf2WorkAsAWrongPassword()
    {
        // Equal work, counted rather than timed: timing assertions are noise on shared machines.
        var hasher = Create(iterations: 20_000);
        var stored = hasher.Hash("secret");

        var before = hasher.IterationsRun;
        Assert.Equal(PasswordVerification.Failed, hasher.Verify(stored, "wrong"));
        var known = hasher.IterationsRun - before;

        before = hasher.IterationsRun;
        Assert.Equal(PasswordVerification.Failed, hasher.Verify(null, "wrong"));
        var unknown = hasher.IterationsRun - before;

        Assert.Equal(20_000, known);
        Assert.Equal(known, unknown);
    }
}
