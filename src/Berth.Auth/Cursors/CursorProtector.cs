using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Berth.Auth.Jwt;

namespace Berth.Auth.Cursors;

/// <summary>
/// Opaque, authenticated listing cursors, for listings that filter what they read: the position where the next page
/// starts may be a row the caller may not see (a private project or repository), so it travels encrypted.
/// AES-256-GCM with a key derived (HKDF-SHA256, <see cref="KeyLabel"/>) from each token-signing key of the
/// <see cref="SigningKeyRing"/>, so every node that shares the key folder opens the cursors of the others, and a key
/// rotation needs nothing more. The listing and the caller are bound as associated data: a cursor opens only for the
/// same listing and the same caller, and only for <see cref="Lifetime"/>. Thread-safe.
/// </summary>
/// <remarks>
/// Layout, base64url without padding: version (1 byte) ‖ nonce (12) ‖ tag (16) ‖ ciphertext of (issued-at Unix
/// seconds, 8 bytes big-endian ‖ position, UTF-8).
/// </remarks>
public sealed class CursorProtector
{
    /// <summary>The HKDF info label: a derived key is used for nothing else.</summary>
    public const string KeyLabel = "berth/listing-cursor/v1";

    /// <summary>Longest cursor text accepted (a position is at most a few hundred characters).</summary>
    public const int MaxLength = 2048;

    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int HeaderSize = 1 + NonceSize + TagSize;
    private const int TimeSize = 8;

    private readonly SigningKeyRing _keys;
    private readonly TimeProvider _clock;
    private readonly RandomNumberGenerator _random;
    private readonly ConcurrentDictionary<string, byte[]> _derived = new(StringComparer.Ordinal);

    public CursorProtector(SigningKeyRing keys, TimeProvider clock, RandomNumberGenerator random)
    {
        _keys = keys;
        _clock = clock;
        _random = random;
    }

    /// <summary>How long a cursor opens after it was made (a listing is read page after page, not days later).</summary>
    public static TimeSpan Lifetime { get; } = TimeSpan.FromDays(1);

    /// <summary>Encrypts <paramref name="position"/> for <paramref name="listing"/> (e.g. "projects") read by <paramref name="caller"/>.</summary>
    public string Protect(string listing, string caller, string position)
    {
        ArgumentNullException.ThrowIfNull(position);
        var plaintext = new byte[TimeSize + Encoding.UTF8.GetByteCount(position)];
        BinaryPrimitives.WriteInt64BigEndian(plaintext, _clock.GetUtcNow().ToUnixTimeSeconds());
        Encoding.UTF8.GetBytes(position, plaintext.AsSpan(TimeSize));

        var sealedBytes = new byte[HeaderSize + plaintext.Length];
        sealedBytes[0] = Version;
        var nonce = sealedBytes.AsSpan(1, NonceSize);
        _random.GetBytes(nonce);
        using (var aes = new AesGcm(KeyOf(_keys.Current), TagSize))
        {
            aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(HeaderSize), sealedBytes.AsSpan(1 + NonceSize, TagSize), AssociatedData(listing, caller));
        }

        return Base64Url.EncodeToString(sealedBytes);
    }

    /// <summary>
    /// The position sealed in <paramref name="text"/>; false when it is not a cursor of this server for this listing
    /// and caller (malformed, altered, made for another listing or caller, by a key no longer in the ring) or is older
    /// than <see cref="Lifetime"/>.
    /// </summary>
    public bool TryUnprotect(string listing, string caller, string text, out string? position)
    {
        position = null;
        if (text is null || text.Length > MaxLength)
        {
            return false;
        }

        byte[] sealedBytes;
        try
        {
            sealedBytes = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return false;
        }

        if (sealedBytes.Length < HeaderSize + TimeSize || sealedBytes[0] != Version)
        {
            return false;
        }

        var associated = AssociatedData(listing, caller);
        var plaintext = new byte[sealedBytes.Length - HeaderSize];
        foreach (var key in _keys.Keys)
        {
            try
            {
                using var aes = new AesGcm(KeyOf(key), TagSize);
                aes.Decrypt(sealedBytes.AsSpan(1, NonceSize), sealedBytes.AsSpan(HeaderSize), sealedBytes.AsSpan(1 + NonceSize, TagSize), plaintext, associated);
            }
            catch (AuthenticationTagMismatchException)
            {
                continue;
            }

            var issued = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(BinaryPrimitives.ReadInt64BigEndian(plaintext),
                DateTimeOffset.MinValue.ToUnixTimeSeconds(), DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
            var age = _clock.GetUtcNow() - issued;
            if (age > Lifetime || age < -Lifetime)
            {
                return false;
            }

            try
            {
                position = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(plaintext, TimeSize, plaintext.Length - TimeSize);
            }
            catch (DecoderFallbackException)
            {
                return false;
            }

            return true;
        }

        return false;
    }

    private byte[] KeyOf(SigningKey key) => _derived.GetOrAdd(key.Id, static (_, k) => k.DeriveSecret(KeyLabel), key);

    private static byte[] AssociatedData(string listing, string caller) =>
        Encoding.UTF8.GetBytes($"berth-cursor/{Version}\n{listing}\n{caller}");
}
