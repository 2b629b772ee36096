using System.Globalization;
using System.Security.Cryptography;
using Berth.Core.Storage;

namespace Berth.Auth.Jwt;

/// <summary>
/// The keys that sign and verify registry tokens. The newest key (highest generation) signs; every key in the ring
/// verifies, so after <see cref="Rotate"/> tokens signed by older keys stay valid until those keys are removed
/// (wait at least the token lifetime). With a folder, each key is a PKCS#8 PEM file
/// <c>token-signing-&lt;generation&gt;.pem</c> there, written with mode 0600 on Unix (the folder, and any folder above it
/// that is created with it, with 0700). Several nodes may share the folder: each reads it at start and on <see cref="Reload"/>. Thread-safe.
/// </summary>
public sealed class SigningKeyRing : IDisposable
{
    public const string FilePrefix = "token-signing-";
    public const string FileExtension = ".pem";

    private readonly Lock _gate = new();
    private readonly List<SigningKey> _retired = [];
    private volatile IReadOnlyList<SigningKey> _keys; // newest first; replaced, never mutated

    private SigningKeyRing(string? folder, IReadOnlyList<SigningKey> keys)
    {
        Folder = folder;
        _keys = keys;
    }

    /// <summary>Where the keys are kept; null for a ring that lives in memory only.</summary>
    public string? Folder { get; }

    /// <summary>The key that signs new tokens.</summary>
    public SigningKey Current => _keys[0];

    /// <summary>Every key that verifies, newest first.</summary>
    public IReadOnlyList<SigningKey> Keys => _keys;

    /// <summary>
    /// Reads every <c>token-signing-*.pem</c> in <paramref name="folder"/> (creating the folder if needed); when
    /// there is none, generates the first key and writes it. A key file that cannot be read as an ECDSA P-256
    /// private key stops the start with <see cref="InvalidDataException"/> rather than being replaced silently.
    /// </summary>
    public static SigningKeyRing LoadOrCreate(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        PrivateFiles.CreateDirectory(folder); // 0700, and so is every folder it creates above it

        var keys = ReadFolder(folder);
        if (keys.Count == 0)
        {
            var first = SigningKey.Generate(1);
            if (!TryWrite(folder, first))
            {
                // Another node sharing the folder wrote generation 1 first: use its key.
                first.Dispose();
                keys = ReadFolder(folder);
                if (keys.Count == 0)
                {
                    throw new InvalidDataException($"No signing key could be written to or read from '{folder}'.");
                }
            }
            else
            {
                keys = [first];
            }
        }

        return new SigningKeyRing(folder, keys);
    }

    /// <summary>A ring with one fresh key that is never written anywhere: tokens die with the process.</summary>
    public static SigningKeyRing CreateEphemeral() => new(null, [SigningKey.Generate(1)]);

    /// <summary>The key with that <c>kid</c>; null when the ring does not hold it.</summary>
    public SigningKey? Find(string? keyId)
    {
        if (keyId is null)
        {
            return null;
        }

        foreach (var key in _keys)
        {
            if (string.Equals(key.Id, keyId, StringComparison.Ordinal))
            {
                return key;
            }
        }

        return null;
    }

    /// <summary>
    /// Generates a key one generation above the newest, writes it (with a folder) and makes it <see cref="Current"/>.
    /// Older keys keep verifying. Throws <see cref="IOException"/> when the file cannot be written (for example
    /// another node rotated to the same generation at the same moment); the ring is then unchanged.
    /// </summary>
    public SigningKey Rotate()
    {
        lock (_gate)
        {
            var key = SigningKey.Generate(_keys[0].Generation + 1);
            if (Folder is not null && !TryWrite(Folder, key))
            {
                key.Dispose();
                throw new IOException($"A signing key of generation {key.Generation} already exists in '{Folder}'.");
            }

            _keys = [key, .. _keys];
            return key;
        }
    }

    /// <summary>
    /// Re-reads the folder so keys rotated or removed by another node sharing it take effect here: new files are
    /// added, keys whose files are gone are dropped, the highest generation signs. Keys already held are kept as they
    /// are. No-op for an in-memory ring, and when the folder holds no key at all (a ring is never empty). A corrupt
    /// file throws <see cref="InvalidDataException"/> and leaves the ring unchanged. Call it periodically, or when a
    /// token names an unknown <c>kid</c> (at most every few seconds).
    /// </summary>
    public void Reload()
    {
        if (Folder is null)
        {
            return;
        }

        lock (_gate)
        {
            var read = ReadFolder(Folder);
            if (read.Count == 0)
            {
                return;
            }

            var keys = new List<SigningKey>(read.Count);
            foreach (var key in read)
            {
                var held = _keys.FirstOrDefault(k => k.Generation == key.Generation && string.Equals(k.Id, key.Id, StringComparison.Ordinal));
                if (held is null)
                {
                    keys.Add(key);
                }
                else
                {
                    keys.Add(held);
                    key.Dispose();
                }
            }

            _retired.AddRange(_keys.Where(k => !keys.Contains(k)));
            _keys = keys;
        }
    }

    /// <summary>
    /// Removes a key (and its file): tokens it signed stop verifying. False when the ring does not hold it.
    /// The current key cannot be removed (<see cref="InvalidOperationException"/>): rotate first.
    /// </summary>
    public bool Remove(string keyId)
    {
        lock (_gate)
        {
            var key = Find(keyId);
            if (key is null)
            {
                return false;
            }

            if (ReferenceEquals(key, _keys[0]))
            {
                throw new InvalidOperationException("The current signing key cannot be removed; rotate first.");
            }

            if (Folder is not null)
            {
                File.Delete(PathOf(Folder, key.Generation));
            }

            _keys = _keys.Where(k => !ReferenceEquals(k, key)).ToArray();

            // A validation may still be using it on another thread: dispose with the ring, not now.
            _retired.Add(key);
            return true;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var key in _keys.Concat(_retired))
            {
                key.Dispose();
            }
        }
    }

    internal static string PathOf(string folder, int generation) =>
        Path.Combine(folder, FilePrefix + generation.ToString("D6", CultureInfo.InvariantCulture) + FileExtension);

    private static List<SigningKey> ReadFolder(string folder)
    {
        var keys = new List<SigningKey>();
        foreach (var path in Directory.EnumerateFiles(folder, FilePrefix + "*" + FileExtension))
        {
            var name = Path.GetFileNameWithoutExtension(path)[FilePrefix.Length..];
            if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var generation) || generation <= 0)
            {
                continue;
            }

            var ecdsa = ECDsa.Create();
            try
            {
                ecdsa.ImportFromPem(File.ReadAllText(path));
                keys.Add(new SigningKey(generation, ecdsa));
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                ecdsa.Dispose();
                foreach (var key in keys)
                {
                    key.Dispose();
                }

                throw new InvalidDataException($"'{path}' is not an ECDSA P-256 private key in PEM form.", e);
            }
        }

        keys.Sort((a, b) => b.Generation.CompareTo(a.Generation));
        return keys;
    }

    /// <summary>Writes the key to a temporary file readable only by the owner, then moves it into place. False when the target exists.</summary>
    private static bool TryWrite(string folder, SigningKey key)
    {
        var target = PathOf(folder, key.Generation);
        if (File.Exists(target))
        {
            return false;
        }

        var temporary = Path.Combine(folder, $".{FilePrefix}{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(key.ExportPrivateKeyPem());
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, target, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(target))
        {
            return false;
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
