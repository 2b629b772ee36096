using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Berth.Auth.Passwords;

/// <summary>Outcome of <see cref="PasswordHasher.Verify"/>.</summary>
public enum PasswordVerification
{
    /// <summary>Wrong password, unknown user (no stored hash) or an unreadable stored hash.</summary>
    Failed,

    /// <summary>The password matches and the stored hash uses the current parameters.</summary>
    Succeeded,

    /// <summary>The password matches but the stored hash uses weaker parameters: store <see cref="PasswordHasher.Hash"/> of it now.</summary>
    SucceededRehashNeeded,
}

/// <summary>
/// PBKDF2-HMAC-SHA256 password hashes in a self-describing PHC-style text form:
/// <c>$pbkdf2-sha256$i=600000$&lt;salt&gt;$&lt;hash&gt;</c>, salt and hash in standard base64 without padding.
/// Every hash has its own 16-byte random salt; the iteration count travels with the hash, so it can be raised
/// without invalidating stored passwords. Passwords are hashed as their UTF-8 bytes, without Unicode normalisation.
/// Thread-safe.
/// </summary>
public sealed class PasswordHasher
{
    public const string Algorithm = "pbkdf2-sha256";
    public const int MinIterations = 1_000;

    /// <summary>Upper bound accepted when reading a stored hash, so a corrupt row cannot stall a login for minutes.</summary>
    public const int MaxIterations = 10_000_000;

    internal const int SaltBytes = 16;
    internal const int HashBytes = 32;

    private static readonly byte[] DummySalt = new byte[SaltBytes];
    private static readonly byte[] DummyHash = new byte[HashBytes];

    private readonly RandomNumberGenerator _random;
    private readonly int _iterations;

    public PasswordHasher(IOptions<PasswordHasherOptions> options, RandomNumberGenerator random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        _iterations = options.Value.Iterations;
        if (_iterations is < MinIterations or > MaxIterations)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _iterations, $"Password hash iterations must be between {MinIterations} and {MaxIterations}.");
        }

        _random = random;
    }

    /// <summary>The iteration count used for new hashes.</summary>
    public int Iterations => _iterations;

    /// <summary>Hashes <paramref name="password"/> with a fresh random salt. The same password hashes differently every time.</summary>
    public string Hash(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        Span<byte> salt = stackalloc byte[SaltBytes];
        _random.GetBytes(salt);
        Span<byte> hash = stackalloc byte[HashBytes];
        Derive(password, salt, _iterations, hash);
        return Format(_iterations, salt, hash);
    }

    /// <summary>
    /// Checks <paramref name="password"/> against <paramref name="encodedHash"/> in constant time.
    /// When <paramref name="encodedHash"/> is null (unknown user) or unreadable, a dummy derivation with the
    /// current parameters runs first, so an unknown user and a wrong password take the same time; the result is then
    /// <see cref="PasswordVerification.Failed"/>. A stored hash is checked with its own iteration count, so one made
    /// with fewer iterations answers faster until it is re-hashed. Never throws for bad input.
    /// </summary>
    public PasswordVerification Verify(string? encodedHash, string? password)
    {
        password ??= string.Empty;
        if (encodedHash is null || !TryDecode(encodedHash, out var iterations, out var salt, out var expected))
        {
            VerifyDummy(password);
            return PasswordVerification.Failed;
        }

        var actual = new byte[expected.Length];
        Derive(password, salt, iterations, actual);
        if (!CryptographicOperations.FixedTimeEquals(actual, expected))
        {
            return PasswordVerification.Failed;
        }

        return NeedsRehash(iterations, salt, expected) ? PasswordVerification.SucceededRehashNeeded : PasswordVerification.Succeeded;
    }

    /// <summary>
    /// Does the work of a verification with the current parameters and throws the result away. Call it when the
    /// user is unknown (or disabled) so the response time does not tell whether the account exists.
    /// </summary>
    public void VerifyDummy(string? password)
    {
        Span<byte> actual = stackalloc byte[HashBytes];
        Derive(password ?? string.Empty, DummySalt, _iterations, actual);
        _ = CryptographicOperations.FixedTimeEquals(actual, DummyHash);
    }

    /// <summary>
    /// True when <paramref name="encodedHash"/> was made with parameters other than the current ones (fewer
    /// iterations, another salt or hash length) or cannot be read at all.
    /// </summary>
    public bool NeedsRehash(string encodedHash)
    {
        ArgumentNullException.ThrowIfNull(encodedHash);
        return !TryDecode(encodedHash, out var iterations, out var salt, out var hash) || NeedsRehash(iterations, salt, hash);
    }

    private bool NeedsRehash(int iterations, byte[] salt, byte[] hash) =>
        iterations < _iterations || salt.Length != SaltBytes || hash.Length != HashBytes;

    /// <summary>PBKDF2 iterations run so far by this instance (lets tests check that every path does the same work).</summary>
    internal long IterationsRun => Interlocked.Read(ref _iterationsRun);

    private long _iterationsRun;

    private void Derive(string password, ReadOnlySpan<byte> salt, int iterations, Span<byte> destination)
    {
        Interlocked.Add(ref _iterationsRun, iterations);
        var bytes = new byte[Encoding.UTF8.GetMaxByteCount(password.Length)];
        try
        {
            var length = Encoding.UTF8.GetBytes(password, bytes);
            Rfc2898DeriveBytes.Pbkdf2(bytes.AsSpan(0, length), salt, destination, iterations, HashAlgorithmName.SHA256);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    internal static string Format(int iterations, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> hash) =>
        string.Create(CultureInfo.InvariantCulture, $"${Algorithm}$i={iterations}${ToBase64(salt)}${ToBase64(hash)}");

    /// <summary>Reads the text form. Salt must be 8 to 64 bytes, hash 16 to 64 bytes, iterations within bounds.</summary>
    internal static bool TryDecode(string encoded, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        var parts = encoded.Split('$');
        if (parts.Length != 5 || parts[0].Length != 0 || parts[1] != Algorithm || !parts[2].StartsWith("i=", StringComparison.Ordinal))
        {
            return false;
        }

        if (!int.TryParse(parts[2].AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out iterations)
            || iterations is < MinIterations or > MaxIterations)
        {
            return false;
        }

        return TryFromBase64(parts[3], out salt) && salt.Length is >= 8 and <= 64
            && TryFromBase64(parts[4], out hash) && hash.Length is >= 16 and <= 64;
    }

    private static string ToBase64(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static bool TryFromBase64(string text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length == 0 || text.Contains('=', StringComparison.Ordinal) || text.Length % 4 == 1)
        {
            return false;
        }

        var padded = text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
        var buffer = new byte[padded.Length / 4 * 3];
        if (!Convert.TryFromBase64String(padded, buffer, out var written))
        {
            return false;
        }

        bytes = buffer[..written];
        return true;
    }
}
