using System.Collections.Concurrent;
using Berth.Oci;

namespace Berth.Core.Storage;

/// <summary>
/// What an object store (S3, Azure) keeps in memory so that hot small reads cost no request: the bytes of small blobs
/// (image configs, small layers, signatures), and for a short while the fact that a blob exists (a HEAD). Blobs are
/// named by their digest, so cached bytes can never be wrong; the only staleness is a blob whose object vanished
/// behind the store's back (deleted in the bucket by hand): a HEAD sees that within <see cref="PresenceLifetime"/>, a
/// GET of a cached small blob once it is evicted. Deletes through the store forget the blob at once. Registry reads
/// check the repository's link in the metadata first, so a blob that garbage collection removed is never served from
/// here. Memory is bounded by <see cref="CapacityBytes"/> (plus one entry per remembered presence, at most
/// <see cref="MaxPresences"/>).
/// </summary>
public sealed class SmallBlobCache
{
    /// <summary>The largest blob whose bytes are kept.</summary>
    public const int MaxBlobBytes = 1024 * 1024;

    /// <summary>How long a blob's existence is believed without asking the store again.</summary>
    public static readonly TimeSpan PresenceLifetime = TimeSpan.FromSeconds(30);

    /// <summary>At most this many remembered presences (then they start over).</summary>
    public const int MaxPresences = 100_000;

    private readonly ConcurrentDictionary<Digest, byte[]> _bytes = new();
    private readonly ConcurrentDictionary<Digest, (long Size, long At)> _present = new();
    private readonly TimeProvider _clock;
    private long _cachedBytes;

    /// <param name="capacityBytes">Total bytes of blob content kept; 0 keeps none (presences are still remembered).</param>
    public SmallBlobCache(long capacityBytes, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        ArgumentNullException.ThrowIfNull(clock);
        CapacityBytes = capacityBytes;
        _clock = clock;
    }

    public long CapacityBytes { get; }

    /// <summary>Bytes of blob content held now.</summary>
    public long CachedBytes => Interlocked.Read(ref _cachedBytes);

    /// <summary>True when a blob of <paramref name="size"/> bytes would be kept.</summary>
    public bool Accepts(long size) => size >= 0 && size <= MaxBlobBytes && size <= CapacityBytes;

    public bool TryGetBytes(Digest digest, out byte[] content) => _bytes.TryGetValue(digest, out content!);

    /// <summary>Keeps <paramref name="content"/> (the whole blob), evicting others to stay within the capacity.</summary>
    public void AddBytes(Digest digest, byte[] content)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!Accepts(content.Length))
        {
            return;
        }

        if (Interlocked.Read(ref _cachedBytes) + content.Length > CapacityBytes)
        {
            // Arbitrary entries go (the dictionary's order): cheap, and blobs hot enough come back at their next read.
            foreach (var (key, _) in _bytes)
            {
                if (Interlocked.Read(ref _cachedBytes) + content.Length <= CapacityBytes)
                {
                    break;
                }

                Forget(key, presence: false);
            }
        }

        if (_bytes.TryAdd(digest, content))
        {
            Interlocked.Add(ref _cachedBytes, content.Length);
        }

        MarkPresent(digest, content.Length);
    }

    /// <summary>The blob's size when it is known to exist (its bytes are held, or a recent answer said so).</summary>
    public bool TryGetPresent(Digest digest, out long size)
    {
        if (_bytes.TryGetValue(digest, out var content))
        {
            size = content.Length;
            return true;
        }

        if (_present.TryGetValue(digest, out var seen) && _clock.GetElapsedTime(seen.At) < PresenceLifetime)
        {
            size = seen.Size;
            return true;
        }

        size = 0;
        return false;
    }

    public void MarkPresent(Digest digest, long size)
    {
        if (_present.Count >= MaxPresences)
        {
            _present.Clear();
        }

        _present[digest] = (size, _clock.GetTimestamp());
    }

    /// <summary>Forgets the blob (its bytes and its presence): after a delete through the store, or an answer that it is gone.</summary>
    public void Forget(Digest digest) => Forget(digest, presence: true);

    private void Forget(Digest digest, bool presence)
    {
        if (_bytes.TryRemove(digest, out var content))
        {
            Interlocked.Add(ref _cachedBytes, -content.Length);
        }

        if (presence)
        {
            _present.TryRemove(digest, out _);
        }
    }
}
