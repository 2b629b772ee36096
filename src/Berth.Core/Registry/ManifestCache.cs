using System.Collections.Concurrent;
using Berth.Core.Metadata;
using Berth.Oci;

namespace Berth.Core.Registry;

/// <summary>
/// A small in-memory cache of manifest lookups (by tag and by digest). Any write to a repository bumps that
/// repository's generation, which makes all of its entries stale at once, so a PUT or DELETE is visible to the
/// very next GET on this node. Entries also expire after <see cref="Lifetime"/>, which bounds staleness when
/// another node wrote (scale-out). Bounded: when full, it is cleared (cheap, and a full cache is a rare event).
/// </summary>
/// <remarks>
/// Why: a cluster pulling at once sends thousands of GET/HEAD by tag per second for a handful of tags; serving
/// those from memory skips a database round trip per request.
/// </remarks>
public sealed class ManifestCache
{
    private readonly ConcurrentDictionary<(string Repository, string Reference), Entry> _entries = new();
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock;

    public ManifestCache(TimeProvider clock) => _clock = clock;

    public static TimeSpan Lifetime { get; } = TimeSpan.FromSeconds(5);

    public const int MaxEntries = 20_000;

    public bool TryGet(RepositoryName repository, Reference reference, out ManifestRecord? record)
    {
        record = null;
        if (!_entries.TryGetValue((repository.Value, reference.ToString()), out var entry))
        {
            return false;
        }

        if (entry.Generation != Generation(repository.Value) || _clock.GetTimestamp() > entry.ExpiresAt)
        {
            return false;
        }

        record = entry.Record;
        return true;
    }

    /// <summary>
    /// Caches a lookup result. <paramref name="generation"/> must be read with <see cref="GetGeneration"/> before the
    /// lookup, so a write that happened during the lookup makes this entry stale instead of hiding the write.
    /// </summary>
    public void Set(RepositoryName repository, Reference reference, ManifestRecord record, long generation)
    {
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        var expires = _clock.GetTimestamp() + (long)(Lifetime.TotalSeconds * _clock.TimestampFrequency);
        _entries[(repository.Value, reference.ToString())] = new Entry(record, generation, expires);
    }

    public long GetGeneration(RepositoryName repository) => Generation(repository.Value);

    /// <summary>Makes every cached lookup of the repository stale. Call after any write to its manifests or tags.</summary>
    public void Invalidate(RepositoryName repository) =>
        _generations.AddOrUpdate(repository.Value, 1, static (_, g) => g + 1);

    private long Generation(string repository) => _generations.TryGetValue(repository, out var g) ? g : 0;

    private sealed record Entry(ManifestRecord Record, long Generation, long ExpiresAt);
}
