using Berth.Oci;

namespace Berth.Core.Metadata;

/// <summary>
/// The metadata side of garbage collection (<see cref="Gc.GarbageCollector"/>). A digest is garbage at a cut-off time
/// when no manifest of any repository references it (<c>manifest_references</c>), its blob row (if any) was created
/// before the cut-off, and each of its links (if any) was made or refreshed before the cut-off. A digest with no row at
/// all (bytes in the store that were never linked, or whose row a crash lost) is garbage on the metadata side; the
/// caller checks the store's own time. Collection is fenced by a marker per digest: <see cref="BeginCollectionAsync"/>
/// writes it in the transaction that deletes the rows; while it is unfinished <see cref="IBlobIndex.LinkAsync"/> and
/// <see cref="IUploadSessionStore.CompleteAsync"/> refuse the digest; once finished it stays (for links to know the
/// bytes may have gone) until <see cref="PurgeCollectionsAsync"/>.
/// </summary>
public interface IBlobCollectionIndex
{
    /// <summary>Which of <paramref name="candidates"/> are garbage at <paramref name="cutoff"/> (one query; reads only), in no particular order.</summary>
    Task<IReadOnlyList<Digest>> FindGarbageAsync(IReadOnlyList<Digest> candidates, DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: checks each candidate is garbage at <paramref name="cutoff"/> again (serialised with links,
    /// link refreshes and manifest puts of the digest on every node), deletes its links and its blob row, and writes
    /// an unfinished marker. Answers the digests marked; the caller deletes their bytes, then
    /// <see cref="FinishCollectionAsync"/>. A digest already marked is answered again (a crashed run's leftover).
    /// </summary>
    Task<IReadOnlyList<Digest>> BeginCollectionAsync(IReadOnlyList<Digest> candidates, DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>Marks the collections of <paramref name="digests"/> finished now: links of the digests are accepted again (and checked).</summary>
    Task FinishCollectionAsync(IReadOnlyList<Digest> digests, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> unfinished markers (left by a collector that stopped before deleting the bytes).</summary>
    Task<IReadOnlyList<Digest>> ListUnfinishedCollectionsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Deletes finished markers older than <paramref name="finishedBefore"/>; answers how many.</summary>
    Task<int> PurgeCollectionsAsync(DateTimeOffset finishedBefore, CancellationToken cancellationToken);
}
