using Berth.Scanning.Advisories;

namespace Berth.Scanning.Matching;

/// <summary>
/// Where the matcher finds advisories. Implementations return every record with an <c>affected[]</c> entry for exactly
/// <paramref name="ecosystem"/> (with its release, as OSV spells it: "Debian:12", "Alpine:v3.19", "PyPI") and the
/// package <paramref name="name"/> normalised by <see cref="PackageNames.Normalize"/>; an empty list when none.
/// Withdrawn records may be returned (the matcher ignores them) or left out.
/// </summary>
public interface IAdvisorySource
{
    ValueTask<IReadOnlyList<OsvRecord>> GetAsync(string ecosystem, string name, CancellationToken cancellationToken = default);
}

/// <summary>An advisory source over records held in memory, indexed once by (ecosystem, normalised name).</summary>
public sealed class InMemoryAdvisorySource : IAdvisorySource
{
    private readonly Dictionary<(string Ecosystem, string Name), List<OsvRecord>> _index = [];

    /// <summary>Indexes <paramref name="records"/>; withdrawn records are left out; a record listing one package in
    /// several entries is indexed once for it; when two records share an id (a republished advisory), the one with the
    /// later <c>modified</c> time is kept (the later one given on a tie).</summary>
    public InMemoryAdvisorySource(IEnumerable<OsvRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var latest = new Dictionary<string, OsvRecord>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (!latest.TryGetValue(record.Id, out var seen) || (record.Modified ?? DateTimeOffset.MinValue) >= (seen.Modified ?? DateTimeOffset.MinValue))
            {
                latest[record.Id] = record;
            }
        }

        foreach (var record in latest.Values)
        {
            if (record.Withdrawn is not null)
            {
                continue;
            }

            foreach (var affected in record.Affected)
            {
                if (affected.Package is not { Ecosystem: { } eco, Name: { } name })
                {
                    continue;
                }

                var key = (eco, PackageNames.Normalize(eco, name));
                if (!_index.TryGetValue(key, out var list))
                {
                    _index[key] = list = [];
                }

                if (list.Count == 0 || !ReferenceEquals(list[^1], record))
                {
                    list.Add(record);
                }
            }
        }
    }

    /// <summary>How many (ecosystem, package) keys the index holds.</summary>
    public int PackageCount => _index.Count;

    public ValueTask<IReadOnlyList<OsvRecord>> GetAsync(string ecosystem, string name, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<OsvRecord>>(
            _index.TryGetValue((ecosystem, PackageNames.Normalize(ecosystem, name)), out var list) ? list : []);
}
