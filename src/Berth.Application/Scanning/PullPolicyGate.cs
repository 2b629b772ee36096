using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Application.Signing;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Scanning;
using Berth.Oci;
using Berth.Scanning.Findings;
using Berth.Scanning.Results;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Application.Scanning;

/// <summary>
/// The pull policies on manifest GET and HEAD, for every caller, administrators too: the signed-only policy
/// (issue 15, <see cref="ScanPolicy.SignedOnly"/>: asked first, decided by <see cref="SignaturePolicyGate"/>) and the
/// vulnerability pull policy (issue 14 item 7) described here. A project whose policy blocks nothing
/// (<see cref="BlockSeverity.None"/>, unscanned allowed, not signed-only) costs one dictionary
/// lookup per request (the policy is cached per node for <see cref="CacheLifetime"/>, as <see cref="ProjectDirectory"/>
/// caches project settings). Otherwise: an index, and a signature/attestation/SBOM manifest without tar layers, are
/// served (<see cref="PullExemptions"/>); a manifest without a usable scan (<c>Done</c> with a database version) is
/// refused only when the project refuses unscanned images; a scanned one is refused when findings at or above the
/// block severity remain after the effective allowlist (project and server-wide, not expired; an entry matches a
/// finding's id or any of its aliases, case-insensitively). With an empty allowlist the decision reads the stored
/// counts only; the findings JSON is read to subtract allowlisted ids and to name the worst ones in a refusal.
/// Decisions are kept per (project, digest) until <see cref="CacheLifetime"/> after the oldest thing they were made
/// from was read, so a changed policy, allowlist or scan result holds on every node within that time (and at once
/// on the node where the policy or allowlist was changed through the API, which calls <see cref="Invalidate"/>).
/// A refusal is <c>DENIED</c> naming the count and the worst ids, and is audited as <see cref="ScanAuditActions.PullDenied"/>.
/// </summary>
public sealed partial class PullPolicyGate
{
    private const int MaxEntries = 10_000;
    private const int MaxNamedIds = 5;

    private readonly IScanPolicyStore _policies;
    private readonly IScanResultStore _results;
    private readonly AuditRecorder _audit;
    private readonly SignaturePolicyGate _signatures;
    private readonly TimeProvider _clock;
    private readonly ILogger<PullPolicyGate> _logger;
    private readonly ConcurrentDictionary<string, PolicyEntry> _policyCache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PolicyEntry>.AlternateLookup<ReadOnlySpan<char>> _policyBySpan;
    private readonly ConcurrentDictionary<string, AllowEntry> _allowCache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Project, Digest Digest), VerdictEntry> _verdicts = new();

    public PullPolicyGate(IScanPolicyStore policies, IScanResultStore results, AuditRecorder audit, SignaturePolicyGate signatures, TimeProvider clock,
        IOptions<AccessSettings> settings, ILogger<PullPolicyGate> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _policies = policies;
        _results = results;
        _audit = audit;
        _signatures = signatures;
        _clock = clock;
        _logger = logger;
        CacheLifetime = settings.Value.CacheLifetime;
        _policyBySpan = _policyCache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>How long a policy, an allowlist or a decision is reused on this node (<see cref="AccessSettings.CacheLifetime"/>, 3 s by default).</summary>
    public TimeSpan CacheLifetime { get; }

    /// <summary>
    /// Null when <paramref name="manifest"/>, resolved from <paramref name="reference"/> in <paramref name="repository"/>,
    /// may be served; otherwise the <c>DENIED</c> error to answer, already audited for <paramref name="caller"/>.
    /// </summary>
    public ValueTask<RegistryError?> CheckAsync(Caller caller, RepositoryName repository, Reference reference, ManifestRecord manifest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var now = _clock.GetTimestamp();
        var name = repository.Value;
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        var project = slash < 0 ? name.AsSpan() : name.AsSpan(0, slash);

        // The hot path: a project that blocks nothing (neither vulnerabilities nor unsigned images) pays one lookup and no allocation.
        if (_policyBySpan.TryGetValue(project, out var cached) && Fresh(cached.ReadAt, now))
        {
            if (!IsActive(cached.Policy))
            {
                return ValueTask.FromResult<RegistryError?>(null);
            }

            // Signed-only alone, and this image's valid signature already verified here: one more lookup, no I/O.
            if (!IsVulnerabilityActive(cached.Policy) && _signatures.IsCachedAllowed(repository, manifest.Digest))
            {
                return ValueTask.FromResult<RegistryError?>(null);
            }
        }

        return CheckSlowAsync(caller, repository, reference, manifest, cancellationToken);
    }

    /// <summary>
    /// Forgets what this node cached for <paramref name="project"/> (its policy, allowlist and decisions), or for every
    /// project when null (a server-wide allowlist change), after this node changed it.
    /// </summary>
    public void Invalidate(ProjectName? project)
    {
        if (project is not { } p)
        {
            _allowCache.Clear();
            _verdicts.Clear();
            return;
        }

        _policyCache.TryRemove(p.Value, out _);
        _allowCache.TryRemove(p.Value, out _);
        foreach (var key in _verdicts.Keys)
        {
            if (key.Project == p.Value)
            {
                _verdicts.TryRemove(key, out _);
            }
        }
    }

    /// <summary>The pull policy's decision for <paramref name="manifest"/> in <paramref name="project"/>, cached as described on the class.</summary>
    public async ValueTask<PullVerdict> DecideAsync(string project, ManifestRecord manifest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var now = _clock.GetTimestamp();
        var policy = await GetPolicyAsync(project, now, cancellationToken);
        if (!IsVulnerabilityActive(policy.Policy))
        {
            return PullVerdict.Allowed;
        }

        var key = (project, manifest.Digest);
        if (_verdicts.TryGetValue(key, out var cached) && Fresh(cached.Oldest, now))
        {
            return cached.Verdict;
        }

        var (verdict, oldest) = await ComputeAsync(project, policy, manifest, now, cancellationToken);
        if (_verdicts.Count >= MaxEntries)
        {
            _verdicts.Clear();
        }

        _verdicts[key] = new VerdictEntry(verdict, oldest);
        return verdict;
    }

    /// <summary>The refusal message for a refused <paramref name="verdict"/> (what docker and skopeo print).</summary>
    public static string Message(RepositoryName repository, Digest digest, string project, PullVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        if (verdict.Kind == PullVerdictKind.Unscanned)
        {
            return $"{repository}@{digest} has not been scanned and project {project} refuses unscanned images";
        }

        var what = verdict.Count == 1 ? "1 vulnerability" : $"{verdict.Count.ToString(CultureInfo.InvariantCulture)} vulnerabilities";
        var ids = string.IsNullOrEmpty(verdict.WorstIds) ? string.Empty : $" ({verdict.WorstIds})";
        var verb = verdict.Count == 1 ? "is" : "are";
        return $"{repository}@{digest}: {what} at or above {ScanWords.Of(verdict.Threshold)}{ids} {verb} blocked by project {project}'s pull policy";
    }

    private async ValueTask<RegistryError?> CheckSlowAsync(Caller caller, RepositoryName repository, Reference reference, ManifestRecord manifest, CancellationToken cancellationToken)
    {
        var project = repository.Project;

        // The signed-only policy first (issue 15): an unsigned image is refused for that whatever its scan says.
        var policy = await GetPolicyAsync(project, _clock.GetTimestamp(), cancellationToken);
        if (policy.Policy is { SignedOnly: true } && await _signatures.CheckAsync(caller, repository, reference, manifest, cancellationToken) is { } unsigned)
        {
            return unsigned;
        }

        var verdict = await DecideAsync(project, manifest, cancellationToken);
        if (verdict.Kind == PullVerdictKind.Allowed)
        {
            return null;
        }

        var message = Message(repository, manifest.Digest, project, verdict);
        var digest = manifest.Digest.ToString();
        LogRefused(_logger, repository.Value, digest, verdict.Kind);
        await _audit.RecordAsync(caller, ScanAuditActions.PullDenied, repository: repository, detail: new
        {
            reference = reference.ToString(),
            digest,
            reason = message,
        });
        object detail = verdict.Kind == PullVerdictKind.Unscanned
            ? new { repository = repository.Value, digest, scan = verdict.ScanState }
            : new { repository = repository.Value, digest, blockSeverity = ScanWords.Of(verdict.Threshold), count = verdict.Count, vulnerabilities = verdict.WorstIds };
        return new RegistryError(OciErrorCode.Denied, message, detail);
    }

    private async ValueTask<(PullVerdict Verdict, long Oldest)> ComputeAsync(string project, PolicyEntry policyEntry, ManifestRecord manifest, long now, CancellationToken cancellationToken)
    {
        var policy = policyEntry.Policy!;
        var oldest = policyEntry.ReadAt;
        if (PullExemptions.IsExempt(manifest.MediaType, manifest.Body))
        {
            return (PullVerdict.Allowed, oldest);
        }

        var result = await _results.GetAsync(manifest.Digest, cancellationToken);
        if (result is not { Status: ScanStatus.Done, DatabaseVersion: not null })
        {
            return (policy.BlockUnscanned ? new PullVerdict(PullVerdictKind.Unscanned, ScanState: ScanState(result)) : PullVerdict.Allowed, oldest);
        }

        if (policy.BlockSeverity == BlockSeverity.None)
        {
            return (PullVerdict.Allowed, oldest);
        }

        var threshold = (Severity)(int)policy.BlockSeverity;
        var counted = AtOrAbove(result.Counts, threshold);
        if (counted == 0)
        {
            return (PullVerdict.Allowed, oldest); // nothing at or above: no allowlist needed
        }

        var allow = await GetAllowAsync(project, now, cancellationToken);
        oldest = Math.Min(oldest, allow.ReadAt);
        var findings = ReadFindings(result);
        if (allow.Ids.Count == 0)
        {
            var ids = findings is null ? result.WorstIds : Worst(findings.Where(f => f.Severity >= threshold));
            return (new PullVerdict(PullVerdictKind.Vulnerable, counted, ids, Threshold: policy.BlockSeverity), oldest);
        }

        if (findings is null)
        {
            // The allowlist cannot be applied without the findings: refuse on the counts (fail closed).
            return (new PullVerdict(PullVerdictKind.Vulnerable, counted, result.WorstIds, Threshold: policy.BlockSeverity), oldest);
        }

        var blocking = findings.Where(f => f.Severity >= threshold && !allow.Ids.Contains(f.VulnerabilityId) && !f.Aliases.Any(allow.Ids.Contains)).ToList();
        return (blocking.Count == 0 ? PullVerdict.Allowed : new PullVerdict(PullVerdictKind.Vulnerable, blocking.Count, Worst(blocking), Threshold: policy.BlockSeverity), oldest);
    }

    private IReadOnlyList<Finding>? ReadFindings(ScanResult result)
    {
        if (result.Findings is null)
        {
            return null;
        }

        try
        {
            return ScanDocuments.ReadFindings(result.Findings);
        }
        catch (FormatException ex)
        {
            LogUnreadableFindings(_logger, ex, result.Digest.ToString());
            return null;
        }
    }

    private async ValueTask<PolicyEntry> GetPolicyAsync(string project, long now, CancellationToken cancellationToken)
    {
        if (_policyCache.TryGetValue(project, out var entry) && Fresh(entry.ReadAt, now))
        {
            return entry;
        }

        var policy = ProjectName.TryParse(project, out var name) ? await _policies.GetPolicyAsync(name, cancellationToken) : null;
        entry = new PolicyEntry(policy, now);
        if (_policyCache.Count >= MaxEntries)
        {
            _policyCache.Clear();
        }

        _policyCache[project] = entry;
        return entry;
    }

    private async ValueTask<AllowEntry> GetAllowAsync(string project, long now, CancellationToken cancellationToken)
    {
        if (_allowCache.TryGetValue(project, out var entry) && Fresh(entry.ReadAt, now))
        {
            return entry;
        }

        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (ProjectName.TryParse(project, out var name))
        {
            foreach (var allowed in await _policies.ListEffectiveAllowAsync(name, _clock.GetUtcNow(), cancellationToken))
            {
                ids.Add(allowed.VulnerabilityId);
            }
        }

        entry = new AllowEntry(ids, now);
        if (_allowCache.Count >= MaxEntries)
        {
            _allowCache.Clear();
        }

        _allowCache[project] = entry;
        return entry;
    }

    private bool Fresh(long readAt, long now) => _clock.GetElapsedTime(readAt, now) < CacheLifetime;

    private static bool IsActive(ScanPolicy? policy) => policy is not null && (policy.SignedOnly || IsVulnerabilityActive(policy));

    private static bool IsVulnerabilityActive(ScanPolicy? policy) => policy is not null && (policy.BlockSeverity != BlockSeverity.None || policy.BlockUnscanned);

    private static int AtOrAbove(SeverityCounts counts, Severity threshold) =>
        (threshold <= Severity.Low ? counts.Low : 0) + (threshold <= Severity.Medium ? counts.Medium : 0) +
        (threshold <= Severity.High ? counts.High : 0) + counts.Critical;

    private static string ScanState(ScanResult? result) => result switch
    {
        null => "none",
        { Status: ScanStatus.Done } => "done without an advisory database",
        _ => ScanWords.Of(result.Status),
    };

    /// <summary>The distinct ids of <paramref name="findings"/>, worst first (severity, then CVSS score, then id), at most five with their severities.</summary>
    private static string? Worst(IEnumerable<Finding> findings)
    {
        var ordered = findings
            .OrderByDescending(f => f.Severity)
            .ThenByDescending(f => f.CvssScore ?? -1)
            .ThenBy(f => f.VulnerabilityId, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var text = new StringBuilder();
        foreach (var finding in ordered)
        {
            if (!seen.Add(finding.VulnerabilityId))
            {
                continue;
            }

            if (seen.Count > MaxNamedIds)
            {
                text.Append(", …");
                break;
            }

            if (text.Length > 0)
            {
                text.Append(", ");
            }

            text.Append(finding.VulnerabilityId).Append(' ').Append(finding.Severity.ToString().ToUpperInvariant());
        }

        return text.Length == 0 ? null : text.ToString();
    }

    [LoggerMessage(EventId = 2601, Level = LogLevel.Information, Message = "Pull of {Repository}@{Digest} refused by the pull policy ({Verdict})")]
    private static partial void LogRefused(ILogger logger, string repository, string digest, PullVerdictKind verdict);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Warning, Message = "The stored findings of {Digest} cannot be read; the pull policy refuses on its counts")]
    private static partial void LogUnreadableFindings(ILogger logger, Exception exception, string digest);

    private sealed record PolicyEntry(ScanPolicy? Policy, long ReadAt);

    private sealed record AllowEntry(HashSet<string> Ids, long ReadAt);

    private sealed record VerdictEntry(PullVerdict Verdict, long Oldest);
}
