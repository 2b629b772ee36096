using Berth.Core.Events;
using Berth.Core.Metadata;
using Berth.Oci;
using Microsoft.Extensions.Options;

namespace Berth.Core.Registry;

/// <summary>A manifest that was stored, with what the PUT response reports.</summary>
public sealed record StoredManifest(Digest Digest, Digest? Subject);

/// <summary>Manifest push, pull and delete: parsing, digest checks and reference validation, over <see cref="IManifestIndex"/>.</summary>
public sealed class ManifestService
{
    private readonly IManifestIndex _index;
    private readonly ManifestCache _cache;
    private readonly PullRecorder _pulls;
    private readonly TimeProvider _clock;
    private readonly IOptions<RegistryOptions> _options;
    private readonly IRegistryEventPublisher _events;

    /// <summary>Events (<see cref="ManifestPushed"/>, <see cref="TagMoved"/>, <see cref="ManifestPulled"/>, <see cref="ManifestDeleted"/>, <see cref="TagDeleted"/>) are raised after the store committed, attributed to <see cref="EventActorContext.Current"/>.</summary>
    public ManifestService(IManifestIndex index, ManifestCache cache, PullRecorder pulls, TimeProvider clock, IOptions<RegistryOptions> options, IRegistryEventPublisher events)
    {
        _events = events;
        _index = index;
        _cache = cache;
        _pulls = pulls;
        _clock = clock;
        _options = options;
    }

    public int MaxManifestBytes => _options.Value.MaxManifestBytes;

    /// <summary>
    /// Validates and stores <paramref name="body"/> under <paramref name="reference"/>. A digest reference must match the
    /// body; every blob and child manifest it names must already be in the repository; nothing is stored on failure.
    /// </summary>
    public async Task<Result<StoredManifest>> PutAsync(RepositoryName repository, Reference reference, string? contentType, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (body.Length > MaxManifestBytes)
        {
            return new RegistryError(OciErrorCode.ManifestTooLarge, $"manifest is {body.Length} bytes; the limit is {MaxManifestBytes} bytes");
        }

        var manifest = Manifest.TryParse(body, contentType, out var problem);
        if (manifest is null)
        {
            return new RegistryError(OciErrorCode.ManifestInvalid, problem);
        }

        var digest = Digest.Compute(reference.Digest?.Algorithm ?? DigestAlgorithm.Sha256, body.Span);
        if (reference.Digest is { } expected && expected != digest)
        {
            return new RegistryError(OciErrorCode.DigestInvalid, "manifest digest does not match the digest in the URL",
                new { expected = expected.ToString(), actual = digest.ToString() });
        }

        var references = new List<ManifestReference>();
        var seen = new HashSet<Digest>();
        if (manifest.Config is { } config && seen.Add(config.Digest))
        {
            references.Add(new ManifestReference(config.Digest, config.Size, IsManifest: false));
        }

        foreach (var child in manifest.References)
        {
            if (manifest.Kind == ManifestKind.Image && child.HasUrls && MediaTypes.IsForeignLayer(child.MediaType))
            {
                continue; // foreign layers are fetched from their URLs, not from us
            }

            if (seen.Add(child.Digest))
            {
                references.Add(new ManifestReference(child.Digest, child.Size, IsManifest: manifest.Kind == ManifestKind.Index));
            }
        }

        var record = new ManifestRecord(digest, manifest.MediaType, body.ToArray(), manifest.EffectiveArtifactType,
            manifest.Subject?.Digest, manifest.AnnotationsJson, _clock.GetUtcNow());
        var result = await _index.PutAsync(repository, record, references, reference.Tag, cancellationToken).ConfigureAwait(false);
        if (result.Status == ManifestPutStatus.Stored)
        {
            _cache.Invalidate(repository);
            var at = _clock.GetUtcNow();
            var actor = EventActorContext.Current;
            await _events.PublishAsync(new ManifestPushed(repository, at, actor, digest, manifest.MediaType, reference.Tag, body.Length)).ConfigureAwait(false);
            if (reference.Tag is { } tag && result.PreviousTagTarget != digest)
            {
                await _events.PublishAsync(new TagMoved(repository, at, actor, tag, result.PreviousTagTarget, digest)).ConfigureAwait(false);
            }
        }

        return result.Status switch
        {
            ManifestPutStatus.Stored => new StoredManifest(digest, manifest.Subject?.Digest),
            ManifestPutStatus.ReferenceSizeMismatch => new RegistryError(OciErrorCode.ManifestInvalid,
                $"descriptor of {result.Missing!.Digest} says {result.Missing.Size} bytes but the blob has {result.ActualSize}",
                new { digest = result.Missing.Digest.ToString(), declared = result.Missing.Size, actual = result.ActualSize }),
            ManifestPutStatus.TagImmutable => Refused(result.Refusal!),
            ManifestPutStatus.QuotaExceeded => QuotaRefused(result.Quota!),
            ManifestPutStatus.ProjectNotFound => new RegistryError(OciErrorCode.NameUnknown,
                $"project '{repository.Project}' does not exist (it was deleted during the push)", new { name = repository.Value }),
            _ => new RegistryError(OciErrorCode.ManifestBlobUnknown,
                $"{(result.Missing!.IsManifest ? "manifest" : "blob")} {result.Missing.Digest} is not in repository {repository}; push it first",
                new { digest = result.Missing.Digest.ToString() }),
        };
    }

    /// <summary>The manifest, or <see cref="OciErrorCode.ManifestUnknown"/>. A GET (not a HEAD) counts as a pull.</summary>
    public async Task<Result<ManifestRecord>> GetAsync(RepositoryName repository, Reference reference, bool countAsPull, CancellationToken cancellationToken)
    {
        if (!_cache.TryGet(repository, reference, out var record))
        {
            var generation = _cache.GetGeneration(repository);
            record = await _index.GetAsync(repository, reference, cancellationToken).ConfigureAwait(false);
            if (record is not null)
            {
                _cache.Set(repository, reference, record, generation);
            }
        }

        if (record is null)
        {
            return new RegistryError(OciErrorCode.ManifestUnknown, $"manifest {reference} is not in repository {repository}",
                new { repository = repository.Value, reference = reference.ToString() });
        }

        if (countAsPull)
        {
            await RecordPullAsync(repository, reference, record).ConfigureAwait(false);
        }

        return record;
    }

    /// <summary>
    /// Counts a pull of <paramref name="record"/> (read with <see cref="GetAsync"/> and <c>countAsPull: false</c>) and
    /// raises <see cref="ManifestPulled"/>: for a caller that decides whether to serve the manifest after reading it.
    /// </summary>
    public ValueTask RecordPullAsync(RepositoryName repository, Reference reference, ManifestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var at = _clock.GetUtcNow();
        _pulls.Record(new PullRecord(repository, record.Digest, reference.Tag, at));
        return _events.PublishAsync(new ManifestPulled(repository, at, EventActorContext.Current, record.Digest, record.MediaType, reference.Tag));
    }

    /// <summary>The <c>DENIED</c> error for a push that does not fit in its project's quota (what docker and skopeo print).</summary>
    public static RegistryError QuotaRefused(Quotas.QuotaExceeded quota) =>
        new(OciErrorCode.Denied, quota.Message, new { used = quota.UsedBytes, quota = quota.QuotaBytes, needed = quota.NeededBytes });

    /// <summary>The <c>DENIED</c> error for a change to an immutable tag, its message naming the tag and the rule (what docker and skopeo print).</summary>
    public static RegistryError Refused(Immutability.ImmutableTagRefusal refusal) =>
        new(OciErrorCode.Denied, refusal.Message, new { repository = refusal.Repository.Value, tag = refusal.Tag.Value, rule = refusal.Rule.Id });

    /// <summary>Deletes a manifest (by digest, with its tags: <see cref="ManifestDeleted"/>) or just a tag (<see cref="TagDeleted"/>); a change to an immutable tag is <c>DENIED</c> (see <see cref="IManifestIndex"/>).</summary>
    public async Task<Result<bool>> DeleteAsync(RepositoryName repository, Reference reference, CancellationToken cancellationToken)
    {
        var result = reference.Digest is { } digest
            ? await _index.DeleteManifestAsync(repository, digest, cancellationToken).ConfigureAwait(false)
            : await _index.DeleteTagAsync(repository, reference.Tag!.Value, cancellationToken).ConfigureAwait(false);
        _cache.Invalidate(repository);
        if (result.Status == ManifestDeleteStatus.Immutable)
        {
            return Refused(result.Refusal!);
        }

        if (result.Status != ManifestDeleteStatus.Deleted)
        {
            return new RegistryError(OciErrorCode.ManifestUnknown, $"manifest {reference} is not in repository {repository}");
        }

        RegistryEvent deleted = reference.Digest is { } d
            ? new ManifestDeleted(repository, _clock.GetUtcNow(), EventActorContext.Current, d)
            : new TagDeleted(repository, _clock.GetUtcNow(), EventActorContext.Current, reference.Tag!.Value);
        await _events.PublishAsync(deleted).ConfigureAwait(false);
        return true;
    }
}
