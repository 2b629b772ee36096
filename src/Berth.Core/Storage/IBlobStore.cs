using Berth.Oci;

namespace Berth.Core.Storage;

/// <summary>Size of a stored blob, or that it is absent.</summary>
public readonly record struct BlobStat(bool Exists, long Size)
{
    public static BlobStat Missing => new(false, 0);
}

/// <summary>A committed blob as <see cref="IBlobStore.ListAsync"/> reports it.</summary>
public readonly record struct StoredBlob(Digest Digest, long Size, DateTimeOffset LastModified);

/// <summary>What the caller of <see cref="IBlobStore.OpenAsync"/> accepts.</summary>
/// <param name="AllowRedirect">
/// True when the caller can send the client elsewhere (a GET from a registry client, with redirects enabled); a store
/// that presigns URLs may then answer <see cref="BlobRead.Redirect"/>. False: the store answers with bytes.
/// </param>
public readonly record struct BlobReadOptions(bool AllowRedirect);

/// <summary>The answer of <see cref="IBlobStore.OpenAsync"/>: one of its nested records.</summary>
public abstract record BlobRead
{
    private BlobRead()
    {
    }

    /// <summary>No committed blob has the digest.</summary>
    public sealed record NotFound : BlobRead
    {
        public static NotFound Instance { get; } = new();
    }

    /// <summary>The blob exists but the range selects none of its <paramref name="TotalSize"/> bytes (HTTP 416).</summary>
    public sealed record RangeNotSatisfiable(long TotalSize) : BlobRead;

    /// <summary>
    /// <paramref name="Length"/> bytes at <paramref name="Offset"/> of the local file <paramref name="Path"/>, a blob of
    /// <paramref name="TotalSize"/> bytes (the whole blob when no range was asked). The file may be removed before the
    /// caller opens it (garbage collection); the caller then answers as for <see cref="NotFound"/>.
    /// </summary>
    public sealed record LocalFile(string Path, long Offset, long Length, long TotalSize) : BlobRead;

    /// <summary>A URL that serves the blob until <paramref name="ExpiresAt"/>; the client fetches it (HTTP 307).</summary>
    public sealed record Redirect(Uri Location, DateTimeOffset ExpiresAt) : BlobRead;

    /// <summary>
    /// A stream that yields exactly <paramref name="Length"/> bytes, those at <paramref name="Offset"/> of a blob of
    /// <paramref name="TotalSize"/> bytes. The caller owns and disposes it.
    /// </summary>
    public sealed record Streamed(Stream Content, long Offset, long Length, long TotalSize) : BlobRead;
}

/// <summary>Outcome of <see cref="IBlobStore.DeleteAsync"/>.</summary>
public enum BlobDeleteResult
{
    Deleted,
    NotFound,
}

/// <summary>
/// Committed, content-addressed blob bytes. A byte store only: it knows nothing about repositories,
/// links or manifests (those live in the metadata store). A blob here is always complete and verified:
/// partial data lives in <see cref="IUploadStore"/> until it is committed.
/// </summary>
public interface IBlobStore
{
    /// <summary>Returns <see cref="BlobStat.Missing"/> when no committed blob has this digest.</summary>
    Task<BlobStat> StatAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="StatAsync"/>, but asks the storage itself, never a cache of this node: what an upload checks after
    /// garbage collection (perhaps on another node) may have deleted the bytes (<see cref="Metadata.BlobLinkResult.LinkedAfterCollection"/>).
    /// </summary>
    Task<BlobStat> StatUncachedAsync(Digest digest, CancellationToken cancellationToken) => StatAsync(digest, cancellationToken);

    /// <summary>
    /// Opens the blob, or the part of it <paramref name="range"/> selects (null: all of it), and answers how to serve it:
    /// <see cref="BlobRead.NotFound"/> when no committed blob has this digest; <see cref="BlobRead.RangeNotSatisfiable"/>
    /// when the range selects nothing of it (see <see cref="ByteRange.TryResolve"/>); otherwise
    /// <see cref="BlobRead.LocalFile"/> (a file on this machine the server may send itself), <see cref="BlobRead.Redirect"/>
    /// (only when <paramref name="options"/> allow it; the client repeats its request, range included, at that URL)
    /// or <see cref="BlobRead.Streamed"/> (the caller disposes its stream). Never a partial blob: a blob is complete
    /// or missing.
    /// </summary>
    Task<BlobRead> OpenAsync(Digest digest, ByteRange? range, BlobReadOptions options, CancellationToken cancellationToken);

    /// <summary>
    /// Every committed blob with its size and last-modified time, in no particular order, for garbage collection.
    /// Anything in the store that is not a well-formed committed blob (temporary files, foreign or misplaced names) is
    /// skipped, so every digest listed is one <see cref="OpenAsync"/> and <see cref="DeleteAsync"/> accept. A blob
    /// committed or deleted while the listing runs may or may not appear.
    /// </summary>
    IAsyncEnumerable<StoredBlob> ListAsync(CancellationToken cancellationToken);

    /// <summary>Removes the blob's bytes. Deleting a missing blob returns <see cref="BlobDeleteResult.NotFound"/>.</summary>
    Task<BlobDeleteResult> DeleteAsync(Digest digest, CancellationToken cancellationToken);
}
