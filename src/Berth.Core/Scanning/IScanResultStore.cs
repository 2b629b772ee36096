using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Oci;

namespace Berth.Core.Scanning;

/// <summary>Where a manifest's scan stands.</summary>
public enum ScanStatus
{
    /// <summary>Waiting in the queue.</summary>
    Queued,

    /// <summary>Claimed by a node (<see cref="ScanResult.ClaimedBy"/>) at <see cref="ScanResult.ClaimedAt"/>.</summary>
    Scanning,

    Done,

    /// <summary>The scan stopped with <see cref="ScanResult.Error"/>.</summary>
    Failed,

    /// <summary>Not an image the scanner reads (an artifact, an unknown OS).</summary>
    Unsupported,
}

/// <summary>How many findings of each severity a scan reported (after nothing: allowlists apply when read).</summary>
public readonly record struct SeverityCounts(int Unknown, int Low, int Medium, int High, int Critical)
{
    public int Total => Unknown + Low + Medium + High + Critical;
}

/// <summary>
/// A manifest's scan, global per digest (the same digest is the same content in every repository).
/// <see cref="Inventory"/> and <see cref="Findings"/> are JSON texts the scanner writes and reads (at most
/// <see cref="ScanLimits.MaxDocumentChars"/> characters each); <see cref="Counts"/> and <see cref="WorstIds"/> (a short
/// text of the worst finding ids, for a pull refusal) are kept beside them so listings and the pull policy read no JSON.
/// A queued rescan keeps the previous scan's data until the new one replaces it.
/// </summary>
public sealed record ScanResult(
    Digest Digest,
    ScanStatus Status,
    string? Error,
    long? DatabaseVersion,
    DateTimeOffset? ScannedAt,
    string? Inventory,
    string? Findings,
    SeverityCounts Counts,
    string? WorstIds,
    DateTimeOffset UpdatedAt)
{
    /// <summary>When it was last queued (null when never).</summary>
    public DateTimeOffset? QueuedAt { get; init; }

    /// <summary>When a node claimed it (null unless <see cref="ScanStatus.Scanning"/>).</summary>
    public DateTimeOffset? ClaimedAt { get; init; }

    /// <summary>The node that claimed it (null unless <see cref="ScanStatus.Scanning"/>).</summary>
    public string? ClaimedBy { get; init; }
}

/// <summary>A stored inventory to match again after an import: the digest, the inventory JSON and the database version its findings came from.</summary>
public sealed record StoredInventory(Digest Digest, string Inventory, long? DatabaseVersion);

/// <summary>A queued (or stale scanning) digest, as the queue view lists it.</summary>
public sealed record QueuedScan(Digest Digest, ScanStatus Status, DateTimeOffset QueuedAt, string? ClaimedBy, DateTimeOffset? ClaimedAt);

/// <summary>What <see cref="IScanResultStore.EnqueueAsync"/> did.</summary>
public enum ScanEnqueueResult
{
    Queued,

    /// <summary>Already queued, or being scanned under a live claim: nothing changed.</summary>
    AlreadyQueued,
}

/// <summary>Bounds of the scan-result store.</summary>
public static class ScanLimits
{
    /// <summary>The longest inventory or findings text: a large image's inventory is ~100 KB; this leaves room for any.</summary>
    public const int MaxDocumentChars = 32 * 1024 * 1024;

    /// <summary>The longest <see cref="ScanResult.WorstIds"/> or <see cref="ScanResult.Error"/> text.</summary>
    public const int MaxShortText = 4096;

    /// <summary>The most digests one <see cref="IScanResultStore.GetManyAsync"/> call takes (an index has a few dozen platforms).</summary>
    public const int MaxDigestsPerQuery = 1000;
}

/// <summary>
/// Scan results per manifest digest and the scan queue. Claims are compare-and-set: of two nodes claiming the same
/// digest one wins; a claim older than the lease can be taken over (its node is presumed gone).
/// </summary>
public interface IScanResultStore
{
    /// <summary>The digest's scan; null when it was never queued or scanned.</summary>
    Task<ScanResult?> GetAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>The scans of those digests that have one, in no set order (at most <see cref="ScanLimits.MaxDigestsPerQuery"/> digests).</summary>
    Task<IReadOnlyList<ScanResult>> GetManyAsync(IReadOnlyCollection<Digest> digests, CancellationToken cancellationToken);

    /// <summary>Creates or replaces the digest's scan whole (a finished scan: its claim, if any, ends); the queue time is kept.</summary>
    Task UpsertAsync(ScanResult result, CancellationToken cancellationToken);

    /// <summary>Removes the digest's scan (its manifest is gone); <see cref="DeleteResult.NotFound"/> when it had none.</summary>
    Task<DeleteResult> DeleteAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>
    /// The stored inventories of finished scans with digests after <paramref name="after"/> (null: from the first), by
    /// digest, at most <paramref name="limit"/>: the keyset walk that re-matches them after an import.
    /// </summary>
    Task<Page<StoredInventory>> ListInventoriesAsync(Digest? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Queues the digest at <paramref name="now"/>: a new row, or a finished/failed scan marked queued again (its data
    /// kept). Nothing changes when it is already queued or under a claim younger than <paramref name="lease"/>.
    /// </summary>
    Task<ScanEnqueueResult> EnqueueAsync(Digest digest, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>The claimable scans (queued, or scanning under a claim older than <paramref name="lease"/>), oldest queued first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<QueuedScan>> ListQueueAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Claims the digest for <paramref name="node"/>: it becomes <see cref="ScanStatus.Scanning"/> only if it is queued
    /// or its claim is older than <paramref name="lease"/>. False when another node holds it, or it is not queued.
    /// </summary>
    Task<bool> TryClaimAsync(Digest digest, string node, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Claims the oldest claimable digest for <paramref name="node"/>; null when the queue is empty.</summary>
    Task<Digest?> ClaimNextAsync(string node, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Extends <paramref name="node"/>'s claim to <paramref name="now"/> (a long scan renews before its lease ends); false when the claim is no longer its own.</summary>
    Task<bool> RenewClaimAsync(Digest digest, string node, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="result"/> (whole, as <see cref="UpsertAsync"/>; its claim ends) only while the digest is still
    /// claimed by <paramref name="node"/>: a node whose claim was taken over after its lease cannot overwrite the newer
    /// scan. False, and nothing written, otherwise.
    /// </summary>
    Task<bool> CompleteAsync(ScanResult result, string node, CancellationToken cancellationToken);
}
