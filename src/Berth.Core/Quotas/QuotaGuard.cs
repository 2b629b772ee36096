using System.Collections.Concurrent;

namespace Berth.Core.Quotas;

/// <summary>
/// The quota check of blob uploads (<see cref="Registry.UploadService"/>): whether the bytes of a chunk still fit in the
/// project's quota. The quota itself is cached per project for <see cref="Lifetime"/> (real time), so a project
/// without one costs a dictionary lookup per chunk and no query; only a project with a quota pays for the usage query.
/// A quota set on this node applies at once (<see cref="Invalidate"/>), on other nodes within the lifetime. Uploads are
/// a courtesy check (the bytes are refused early and freed); the check that holds under concurrency is the one at
/// manifest PUT, inside the metadata store's transaction (<see cref="Metadata.IManifestIndex.PutAsync"/>).
/// </summary>
public sealed class QuotaGuard(IProjectQuotaStore store)
{
    /// <summary>How long a project's quota is believed.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(3);

    private readonly ConcurrentDictionary<string, (long? Quota, long ReadAt)> _quotas = new(StringComparer.Ordinal);

    /// <summary>
    /// Null when <paramref name="additionalBytes"/> more fit in the project's quota (or it has none); otherwise what to
    /// tell the client. The usage counts the upload's acknowledged bytes already, so pass only what is new. With the
    /// blob's <paramref name="digest"/> (known to a single-request upload and to the completing PUT), a blob that a
    /// manifest of the project references already is free: pushing it again adds nothing.
    /// </summary>
    public async ValueTask<QuotaExceeded?> CheckAsync(string project, long additionalBytes, CancellationToken cancellationToken, string? digest = null)
    {
        if (additionalBytes <= 0)
        {
            return null;
        }

        var now = Environment.TickCount64;
        if (!_quotas.TryGetValue(project, out var cached) || now - cached.ReadAt > (long)Lifetime.TotalMilliseconds)
        {
            cached = (await store.GetQuotaAsync(project, cancellationToken).ConfigureAwait(false), now);
            _quotas[project] = cached;
        }

        if (cached.Quota is null)
        {
            return null;
        }

        var usage = await store.GetUsageAsync(project, cancellationToken).ConfigureAwait(false);
        if (usage?.QuotaBytes is not { } quota)
        {
            return null;
        }

        if (usage.UsedBytes + additionalBytes <= quota)
        {
            return null;
        }

        return digest is not null && await store.ReferencesBlobAsync(project, digest, cancellationToken).ConfigureAwait(false)
            ? null
            : new QuotaExceeded(usage.UsedBytes, quota, additionalBytes);
    }

    /// <summary>Forgets the cached quota of the project (after it was set on this node).</summary>
    public void Invalidate(string project) => _quotas.TryRemove(project, out _);
}
