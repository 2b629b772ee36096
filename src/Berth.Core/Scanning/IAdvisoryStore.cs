namespace Berth.Core.Scanning;

/// <summary>
/// One advisory as the store keeps it: the OSV record's <see cref="Id"/>, its <see cref="Modified"/> time (which decides
/// whether an import replaces the stored copy), its <see cref="Withdrawn"/> time (null unless withdrawn: a withdrawn
/// record is stored but never returned to matching), its whole text as compact JSON (<see cref="Json"/>) and the
/// (ecosystem, package name) pairs of its <c>affected</c> entries, as written in the record (<c>Debian:12</c>,
/// <c>openssl</c>). Made by <see cref="AdvisoryRecordReader.Read"/>.
/// </summary>
public sealed record AdvisoryRecord(string Id, DateTimeOffset Modified, DateTimeOffset? Withdrawn, string Json, IReadOnlyList<AdvisoryPackage> Packages);

/// <summary>An (ecosystem with its release, package name) pair an advisory affects, as written in the record.</summary>
public sealed record AdvisoryPackage(string Ecosystem, string Name);

/// <summary>A stored, not withdrawn advisory that names a package asked for: the package's lookup name (<see cref="AdvisoryNames.Lookup"/>), the record's id and JSON text.</summary>
public sealed record AdvisoryHit(string LookupName, string Id, string Json);

/// <summary>An import's state: <see cref="Running"/> until it is finished; <see cref="Abandoned"/> when a later import found it idle past the stale time.</summary>
public enum AdvisoryImportStatus
{
    Running,
    Finished,
    Abandoned,
}

/// <summary>
/// One import: its source label (the folder or zip name), who started it, its times and what its batches did so far:
/// <see cref="Added"/> new ids, <see cref="Updated"/> stored records replaced by a newer (or same-time, different)
/// text, <see cref="Unchanged"/> records that were older than or equal to the stored copy, <see cref="Withdrawn"/> the
/// added or updated records that are withdrawn. <see cref="Version"/> is the database version it made when finished.
/// </summary>
public sealed record AdvisoryImport(long Id, string Source, string Actor, AdvisoryImportStatus Status, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt, long Added, long Updated, long Unchanged, long Withdrawn, long? Version);

/// <summary>How <see cref="IAdvisoryStore.BeginImportAsync"/> went; <see cref="AdvisoryImportStart.Running"/> names the import in the way when busy.</summary>
public enum AdvisoryImportStartStatus
{
    Started,

    /// <summary>Another import is running (it had a batch within the stale time): imports are serialised, one at a time.</summary>
    Busy,
}

/// <summary>The outcome of <see cref="IAdvisoryStore.BeginImportAsync"/>: the new import, or the one that is running.</summary>
public sealed record AdvisoryImportStart(AdvisoryImportStartStatus Status, AdvisoryImport Import);

/// <summary>How a batch or finish call went.</summary>
public enum AdvisoryImportStepStatus
{
    Done,
    NotFound,

    /// <summary>The import is finished or was abandoned: it takes no more batches.</summary>
    NotRunning,
}

/// <summary>The outcome of a batch or a finish: the import as it is afterwards (null when not found).</summary>
public sealed record AdvisoryImportStep(AdvisoryImportStepStatus Status, AdvisoryImport? Import);

/// <summary>Per source label: its stored records (those the source last wrote) and its latest import (finished or not).</summary>
public sealed record AdvisorySourceStatus(string Source, long Records, AdvisoryImport? LastImport);

/// <summary>Distinct records that name at least one package of <see cref="Ecosystem"/> (with its release).</summary>
public sealed record AdvisoryEcosystemCount(string Ecosystem, long Records);

/// <summary>
/// The advisory database at a glance: its <see cref="Version"/> (0 before the first finished import; each finished
/// import makes a larger one), when that version was made, the record totals, per source and per ecosystem, and the
/// import that is running (null when none).
/// </summary>
public sealed record AdvisoryDatabaseStatus(long Version, DateTimeOffset? UpdatedAt, long Records, long WithdrawnRecords,
    IReadOnlyList<AdvisorySourceStatus> Sources, IReadOnlyList<AdvisoryEcosystemCount> Ecosystems, AdvisoryImport? Running);

/// <summary>
/// The offline vulnerability database: OSV records stored whole, indexed by (ecosystem, lookup name), written by
/// imports. An import is begun, given batches, and finished; batches upsert at once (a record older than the stored
/// copy does not replace it), so an interrupted import leaves every stored record usable, the database version
/// unchanged and the import visible as running (until it is abandoned). Imports are serialised: one at a time.
/// </summary>
public interface IAdvisoryStore
{
    /// <summary>
    /// Starts an import labelled <paramref name="source"/>. When another import is running and had its last batch less
    /// than <paramref name="staleAfter"/> ago, nothing starts (<see cref="AdvisoryImportStartStatus.Busy"/>, naming that
    /// import); an idle one is marked <see cref="AdvisoryImportStatus.Abandoned"/> and this one starts.
    /// </summary>
    Task<AdvisoryImportStart> BeginImportAsync(string source, string actor, DateTimeOffset now, TimeSpan staleAfter, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a batch in one transaction: each record is added when its id is new, replaces the stored copy when its
    /// <see cref="AdvisoryRecord.Modified"/> is later (or equal with a different text), and is left alone otherwise;
    /// the import's counts grow accordingly. A record id given twice in one batch: the later one is considered second.
    /// </summary>
    Task<AdvisoryImportStep> AddBatchAsync(long importId, IReadOnlyList<AdvisoryRecord> records, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Finishes the import: the database version becomes a new, larger number (the import's id). <see cref="AdvisoryImportStepStatus.NotRunning"/> when already finished or abandoned.</summary>
    Task<AdvisoryImportStep> FinishImportAsync(long importId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The import; null when unknown.</summary>
    Task<AdvisoryImport?> GetImportAsync(long importId, CancellationToken cancellationToken);

    /// <summary>The stored, not withdrawn records naming package <paramref name="name"/> (compared by <see cref="AdvisoryNames.Lookup"/>) in <paramref name="ecosystem"/> (exactly, with its release: <c>Debian:12</c>), by id.</summary>
    Task<IReadOnlyList<AdvisoryHit>> FindAsync(string ecosystem, string name, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="FindAsync"/> for many names of one ecosystem at once (any number: the store asks in chunks of
    /// <see cref="AdvisoryLimits.NamesPerQuery"/>); one hit per (lookup name, record), ordered by lookup name then id.
    /// Duplicate names are asked once.
    /// </summary>
    Task<IReadOnlyList<AdvisoryHit>> FindManyAsync(string ecosystem, IReadOnlyCollection<string> names, CancellationToken cancellationToken);

    /// <summary>The record with this id, withdrawn or not; null when not stored.</summary>
    Task<AdvisoryRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>The database's version, totals, sources, ecosystems and running import.</summary>
    Task<AdvisoryDatabaseStatus> GetStatusAsync(CancellationToken cancellationToken);
}
