using System.Collections.Concurrent;
using Berth.Oci;

namespace Berth.Application.Scanning;

/// <summary>
/// The images pushed into projects that attach an SBOM at push (<c>ScanPolicy.SbomOnPush</c>), waiting for their scan's
/// inventory: an in-memory set per node, bounded (<see cref="Capacity"/>; beyond it a push gets no SBOM, and it is
/// logged). A node that stops loses its pending entries: those images get their SBOM on demand
/// (<c>berth sbom REF</c>) or when pushed again.
/// </summary>
public sealed class SbomOnPush
{
    /// <summary>The most images waiting at once on one node.</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<(RepositoryName Repository, Digest Digest), DateTimeOffset> _pending = new();

    /// <summary>How many images are waiting.</summary>
    public int Count => _pending.Count;

    /// <summary>Remembers the image (the time of its first push is kept); false when the set is full.</summary>
    public bool Add(RepositoryName repository, Digest digest, DateTimeOffset at)
    {
        if (_pending.Count >= Capacity && !_pending.ContainsKey((repository, digest)))
        {
            return false;
        }

        _pending.TryAdd((repository, digest), at);
        return true;
    }

    /// <summary>A snapshot of the waiting images, oldest first.</summary>
    public IReadOnlyList<(RepositoryName Repository, Digest Digest, DateTimeOffset Since)> Snapshot() =>
        [.. _pending.OrderBy(p => p.Value).Select(p => (p.Key.Repository, p.Key.Digest, p.Value))];

    public void Remove(RepositoryName repository, Digest digest) => _pending.TryRemove((repository, digest), out _);
}
