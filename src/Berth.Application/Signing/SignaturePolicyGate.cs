using System.Collections.Concurrent;
using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Scanning;
using Berth.Oci;
using Berth.Signing;
using Berth.Signing.Verification;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Application.Signing;

/// <summary>
/// The signed-only pull policy (issue 15 item 3; <see cref="ScanPolicy.SignedOnly"/>), asked by
/// <see cref="Scanning.PullPolicyGate"/> on manifest GET and HEAD for every caller, administrators too, when the project
/// has it on. A signature, attestation or SBOM (decided by content, <see cref="SupplyChainArtifacts"/>: no image
/// layer; never by tag) is served; an index only when it is itself signed by the
/// project's trust (<see cref="ProjectTrustCache"/>); a platform manifest when it is, or when an index of the same
/// repository that lists it is (<see cref="IManifestIndex.ListParentManifestsAsync"/>). Anything else is <c>DENIED</c>
/// naming the image and why, audited as <see cref="ScanAuditActions.PullDenied"/>.
/// Evaluations are cached per (repository, digest) until <see cref="CacheLifetime"/> after the trust they used was read,
/// so a change through another node holds here within that time; on this node they are dropped at once by
/// <see cref="Invalidate"/> (trust or policy changed) and <see cref="InvalidateRepository"/> (a manifest or tag of the
/// repository pushed, moved or deleted: <see cref="SignatureCacheSubscriber"/>). A cached allowed evaluation costs one
/// dictionary lookup and no I/O.
/// </summary>
public sealed partial class SignaturePolicyGate
{
    /// <summary>The most parent indexes of a platform manifest whose signatures are read.</summary>
    public const int MaxParents = 16;

    private const int MaxEntries = 10_000;

    private readonly ProjectTrustCache _trust;
    private readonly SignatureFinder _finder;
    private readonly IManifestIndex _manifests;
    private readonly AuditRecorder _audit;
    private readonly TimeProvider _clock;
    private readonly ILogger<SignaturePolicyGate> _logger;
    private readonly ConcurrentDictionary<(string Repository, Digest Digest), CachedEvaluation> _cache = new();
    // Bumped by Invalidate (trust or policy: every repository) and per repository by InvalidateRepository, so an
    // evaluation that overlapped a change is not stored, while pushes to one repository leave the others' caching alone.
    private readonly ConcurrentDictionary<string, long> _repositoryGenerations = new(StringComparer.Ordinal);
    private long _generation;

    public SignaturePolicyGate(ProjectTrustCache trust, SignatureFinder finder, IManifestIndex manifests, AuditRecorder audit, TimeProvider clock,
        IOptions<AccessSettings> settings, ILogger<SignaturePolicyGate> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _trust = trust;
        _finder = finder;
        _manifests = manifests;
        _audit = audit;
        _clock = clock;
        _logger = logger;
        CacheLifetime = settings.Value.CacheLifetime;
    }

    /// <summary>How long an evaluation is reused on this node (<see cref="AccessSettings.CacheLifetime"/>, 3 s by default).</summary>
    public TimeSpan CacheLifetime { get; }

    /// <summary>
    /// Null when the signed-only policy serves <paramref name="manifest"/> (resolved from <paramref name="reference"/>);
    /// otherwise the <c>DENIED</c> error to answer, already logged and audited for <paramref name="caller"/>.
    /// </summary>
    public async ValueTask<RegistryError?> CheckAsync(Caller caller, RepositoryName repository, Reference reference, ManifestRecord manifest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var evaluation = await DecideAsync(repository, manifest, cancellationToken).ConfigureAwait(false);
        if (evaluation.Allowed)
        {
            return null;
        }

        var digest = manifest.Digest.ToString();
        var reason = Reason(evaluation.Verdict);
        var message = Message(repository, manifest.Digest, evaluation.Verdict);
        LogRefused(_logger, repository.Value, digest, reason);
        await _audit.RecordAsync(caller, ScanAuditActions.PullDenied, repository: repository, detail: new
        {
            reference = reference.ToString(),
            digest,
            reason = message,
            signature = reason,
        }).ConfigureAwait(false);
        return new RegistryError(OciErrorCode.Denied, message, new { repository = repository.Value, digest, signedOnly = true, reason, detail = evaluation.Verdict.Detail });
    }

    /// <summary>
    /// True when this node holds a fresh evaluation that serves <paramref name="digest"/> in <paramref name="repository"/>:
    /// the hot path of a signed-only project (one lookup, no I/O, no allocation). False means "ask <see cref="CheckAsync"/>".
    /// </summary>
    public bool IsCachedAllowed(RepositoryName repository, Digest digest) =>
        _cache.TryGetValue((repository.Value, digest), out var cached) && cached.Evaluation.Allowed
        && _clock.GetElapsedTime(cached.Oldest, _clock.GetTimestamp()) < CacheLifetime;

    /// <summary>The evaluation of <paramref name="manifest"/> in <paramref name="repository"/>, cached as described on the class.</summary>
    public async ValueTask<SignatureEvaluation> DecideAsync(RepositoryName repository, ManifestRecord manifest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var key = (repository.Value, manifest.Digest);
        var now = _clock.GetTimestamp();
        if (_cache.TryGetValue(key, out var cached) && _clock.GetElapsedTime(cached.Oldest, now) < CacheLifetime)
        {
            return cached.Evaluation;
        }

        var generation = Volatile.Read(ref _generation);
        var repositoryGeneration = _repositoryGenerations.GetValueOrDefault(repository.Value);
        var (evaluation, oldest) = await ComputeAsync(repository, manifest, cancellationToken).ConfigureAwait(false);
        if (_cache.Count >= MaxEntries)
        {
            _cache.Clear();
        }

        // Stored only when nothing was invalidated meanwhile: a signature pushed or a key removed while this ran must not be hidden by it.
        if (Volatile.Read(ref _generation) == generation && _repositoryGenerations.GetValueOrDefault(repository.Value) == repositoryGeneration)
        {
            _cache[key] = new CachedEvaluation(evaluation, oldest);
        }

        return evaluation;
    }

    /// <summary>
    /// The evaluation of <paramref name="manifest"/> in <paramref name="repository"/> against the project's trust now
    /// (the trust as <see cref="ProjectTrustCache"/> holds it, the signatures read afresh), whether or not the project
    /// has the signed-only policy on: what the signature state API shows.
    /// </summary>
    public async Task<SignatureEvaluation> EvaluateAsync(RepositoryName repository, ManifestRecord manifest, CancellationToken cancellationToken) =>
        (await ComputeAsync(repository, manifest, cancellationToken).ConfigureAwait(false)).Evaluation;

    /// <summary>Forgets this node's evaluations and trust of <paramref name="project"/>, or of every project when null (a server-wide trust change).</summary>
    public void Invalidate(ProjectName? project)
    {
        Interlocked.Increment(ref _generation);
        _trust.Invalidate(project);
        if (project is not { } p)
        {
            _cache.Clear();
            return;
        }

        foreach (var key in _cache.Keys)
        {
            if (ProjectOf(key.Repository).SequenceEqual(p.Value))
            {
                _cache.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Forgets this node's evaluations of manifests in <paramref name="repository"/> (its signatures or indexes changed).</summary>
    public void InvalidateRepository(RepositoryName repository)
    {
        if (_repositoryGenerations.Count >= MaxEntries)
        {
            // Forgetting the counters could let an overlapping evaluation match again: bump the global one instead.
            _repositoryGenerations.Clear();
            Interlocked.Increment(ref _generation);
        }

        _repositoryGenerations.AddOrUpdate(repository.Value, 1, static (_, g) => g + 1);
        foreach (var key in _cache.Keys)
        {
            if (key.Repository == repository.Value)
            {
                _cache.TryRemove(key, out _);
            }
        }
    }

    /// <summary>The refusal message (what docker and skopeo print).</summary>
    public static string Message(RepositoryName repository, Digest digest, SignatureVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        return $"{repository}@{digest}: no valid signature: {Reason(verdict)} (project {repository.Project} allows only signed images)";
    }

    /// <summary>Why a verdict does not vouch for an image, in words; null for a valid one.</summary>
    public static string? Reason(SignatureVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        return verdict.IsValid ? null : verdict.Failure switch
        {
            SignatureFailure.NoSignature => "no signature",
            SignatureFailure.Malformed => "malformed signature",
            SignatureFailure.UntrustedKey => "signature from an untrusted key",
            SignatureFailure.BadSignature => "bad signature",
            SignatureFailure.CertificateNotChained => "signing certificate not issued by a trusted root",
            SignatureFailure.CertificateExpired => "signing certificate expired",
            SignatureFailure.IdentityMismatch => "signer identity not trusted",
            SignatureFailure.WrongDigest => "signature is for another digest",
            _ => "invalid signature",
        };
    }

    /// <summary>True for a signature, attestation or SBOM manifest: served whatever the policy, so clients can verify.</summary>
    public static bool IsExempt(ManifestRecord manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (!MediaTypes.IsImageManifest(manifest.MediaType))
        {
            return false;
        }

        var parsed = Manifest.TryParse(manifest.Body, manifest.MediaType, out _);
        return parsed is { Kind: ManifestKind.Image } && SupplyChainArtifacts.IsSupplyChainArtifact(parsed);
    }

    private async Task<(SignatureEvaluation Evaluation, long Oldest)> ComputeAsync(RepositoryName repository, ManifestRecord manifest, CancellationToken cancellationToken)
    {
        var now = _clock.GetTimestamp();
        if (IsExempt(manifest))
        {
            return (new SignatureEvaluation(true, SignatureVerdict.NoSignature, null, null), now);
        }

        var (trust, readAt) = await _trust.GetAsync(ProjectName.Of(repository), cancellationToken).ConfigureAwait(false);
        var own = await _finder.InspectAsync(repository, manifest.Digest, trust, cancellationToken).ConfigureAwait(false);
        if (own.Verdict.IsValid)
        {
            return (new SignatureEvaluation(false, own.Verdict, manifest.Digest, own), readAt);
        }

        if (MediaTypes.IsIndex(manifest.MediaType))
        {
            return (new SignatureEvaluation(false, own.Verdict, null, own), readAt); // an index passes only by its own signature
        }

        var verdicts = new List<SignatureVerdict> { own.Verdict };
        foreach (var parent in await _manifests.ListParentManifestsAsync(repository, manifest.Digest, MaxParents, cancellationToken).ConfigureAwait(false))
        {
            var report = await _finder.InspectAsync(repository, parent, trust, cancellationToken).ConfigureAwait(false);
            if (report.Verdict.IsValid)
            {
                return (new SignatureEvaluation(false, report.Verdict, parent, own), readAt);
            }

            if (report.Signatures.Count > 0)
            {
                verdicts.Add(report.Verdict);
            }
        }

        return (new SignatureEvaluation(false, SignatureVerdict.Combine(verdicts), null, own), readAt);
    }

    private static ReadOnlySpan<char> ProjectOf(string repository)
    {
        var slash = repository.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? repository : repository.AsSpan(0, slash);
    }

    [LoggerMessage(EventId = 2763, Level = LogLevel.Information, Message = "Pull of {Repository}@{Digest} refused by the signed-only policy ({Reason})")]
    private static partial void LogRefused(ILogger logger, string repository, string digest, string? reason);

    private sealed record CachedEvaluation(SignatureEvaluation Evaluation, long Oldest);
}
