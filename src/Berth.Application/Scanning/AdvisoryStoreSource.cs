using System.Collections.Concurrent;
using Berth.Core.Scanning;
using Berth.Scanning.Advisories;
using Berth.Scanning.Inventory;
using Berth.Scanning.Matching;

namespace Berth.Application.Scanning;

/// <summary>
/// The matcher's advisories read from the stored database (<see cref="IAdvisoryStore"/>). One instance serves one scan
/// (or one re-match): every (ecosystem, name) is asked of the store once and its parsed records kept, and
/// <see cref="PrefetchAsync"/> asks for all of an inventory's names in one <see cref="IAdvisoryStore.FindManyAsync"/>
/// per ecosystem before matching. A stored record that no longer parses is left out and counted
/// (<see cref="Unreadable"/>); the store keeps withdrawn records away from matching.
/// </summary>
public sealed class AdvisoryStoreSource(IAdvisoryStore store) : IAdvisorySource
{
    private readonly ConcurrentDictionary<(string Ecosystem, string Lookup), IReadOnlyList<OsvRecord>> _cache = new();
    private readonly ConcurrentDictionary<string, OsvRecord?> _parsed = new(StringComparer.Ordinal);
    private int _unreadable;

    /// <summary>How many stored records this source could not parse (and left out).</summary>
    public int Unreadable => Volatile.Read(ref _unreadable);

    /// <summary>How many distinct (ecosystem, name) pairs were asked of the store.</summary>
    public int Lookups => _cache.Count;

    public async ValueTask<IReadOnlyList<OsvRecord>> GetAsync(string ecosystem, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ecosystem);
        ArgumentNullException.ThrowIfNull(name);
        var key = (ecosystem, AdvisoryNames.Lookup(ecosystem, name));
        if (_cache.TryGetValue(key, out var known))
        {
            return known;
        }

        var hits = await store.FindAsync(ecosystem, name, cancellationToken).ConfigureAwait(false);
        return _cache.GetOrAdd(key, Parse(hits));
    }

    /// <summary>
    /// Asks the store, one batch per ecosystem, for every name <paramref name="inventory"/>'s packages can be looked up by
    /// (their source and binary names, in their release ecosystems for OS packages), so matching then asks nothing more.
    /// </summary>
    public async Task PrefetchAsync(ImageInventory inventory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        var releases = PackageNames.ReleaseEcosystems(inventory.Os);
        var wanted = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var package in inventory.Packages)
        {
            var ecosystems = PackageNames.IsOsEcosystem(package.Ecosystem) ? releases : [package.Ecosystem];
            foreach (var ecosystem in ecosystems)
            {
                if (!wanted.TryGetValue(ecosystem, out var names))
                {
                    wanted[ecosystem] = names = new HashSet<string>(StringComparer.Ordinal);
                }

                names.Add(AdvisoryNames.Lookup(ecosystem, package.MatchName));
                names.Add(AdvisoryNames.Lookup(ecosystem, package.Name));
            }
        }

        foreach (var (ecosystem, names) in wanted)
        {
            names.RemoveWhere(n => _cache.ContainsKey((ecosystem, n)));
            if (names.Count == 0)
            {
                continue;
            }

            var hits = await store.FindManyAsync(ecosystem, names, cancellationToken).ConfigureAwait(false);
            var byName = hits.GroupBy(h => h.LookupName, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            foreach (var name in names)
            {
                _cache.TryAdd((ecosystem, name), byName.TryGetValue(name, out var list) ? Parse(list) : []);
            }
        }
    }

    private List<OsvRecord> Parse(IReadOnlyList<AdvisoryHit> hits)
    {
        var records = new List<OsvRecord>(hits.Count);
        foreach (var hit in hits)
        {
            if (!_parsed.TryGetValue(hit.Id, out var record))
            {
                if (OsvParser.TryParse(hit.Json, out var parsed, out _))
                {
                    record = parsed;
                }
                else
                {
                    Interlocked.Increment(ref _unreadable);
                }

                _parsed.TryAdd(hit.Id, record);
            }

            if (record is not null)
            {
                records.Add(record);
            }
        }

        return records;
    }
}
