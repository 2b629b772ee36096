using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Berth.Application.Access;
using Berth.Core.Access;
using Berth.Core.Signing;
using Berth.Signing.Keys;
using Berth.Signing.Trust;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Application.Signing;

/// <summary>
/// A project's effective signature trust (its own entries and the server-wide ones, <see cref="ITrustStore.ListEffectiveAsync"/>)
/// parsed into a <see cref="SignatureTrust"/>, kept per node for <see cref="CacheLifetime"/> (<see cref="AccessSettings.CacheLifetime"/>,
/// 3 s by default), so a trust change through another node holds here within that time and at once on the node that
/// made it (which calls <see cref="Invalidate"/>). An entry that no longer parses (a key or certificate the library
/// refuses, an identity rule it does not understand) is skipped, so it vouches for nothing, and logged once per entry.
/// An unknown project trusts nothing.
/// </summary>
public sealed partial class ProjectTrustCache
{
    private const int MaxEntries = 10_000;

    private readonly ITrustStore _store;
    private readonly TimeProvider _clock;
    private readonly ILogger<ProjectTrustCache> _logger;
    private readonly ConcurrentDictionary<string, CachedTrust> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(long Id, string Fingerprint), byte> _reported = new();

    public ProjectTrustCache(ITrustStore store, TimeProvider clock, IOptions<AccessSettings> settings, ILogger<ProjectTrustCache> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _store = store;
        _clock = clock;
        _logger = logger;
        CacheLifetime = settings.Value.CacheLifetime;
    }

    /// <summary>How long a project's trust is reused on this node.</summary>
    public TimeSpan CacheLifetime { get; }

    /// <summary>The trust that verifies <paramref name="project"/>'s signatures and when it was read (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public async ValueTask<(SignatureTrust Trust, long ReadAt)> GetAsync(ProjectName project, CancellationToken cancellationToken)
    {
        var now = _clock.GetTimestamp();
        if (_cache.TryGetValue(project.Value, out var cached) && _clock.GetElapsedTime(cached.ReadAt, now) < CacheLifetime)
        {
            return (cached.Trust, cached.ReadAt);
        }

        var entries = await _store.ListEffectiveAsync(project, cancellationToken).ConfigureAwait(false);
        var trust = Parse(entries);
        if (_cache.Count >= MaxEntries)
        {
            _cache.Clear();
        }

        _cache[project.Value] = new CachedTrust(trust, now);
        return (trust, now);
    }

    /// <summary>Forgets <paramref name="project"/>'s trust on this node, or every project's when null (a server-wide entry changed).</summary>
    public void Invalidate(ProjectName? project)
    {
        if (project is { } p)
        {
            _cache.TryRemove(p.Value, out _);
        }
        else
        {
            _cache.Clear();
        }
    }

    private SignatureTrust Parse(IReadOnlyList<TrustEntry> entries)
    {
        var keys = new List<TrustedKey>();
        var roots = new List<TrustedRoot>();
        foreach (var entry in entries)
        {
            try
            {
                if (entry.Kind == TrustKind.Key)
                {
                    keys.Add(new TrustedKey(entry.Name, SigningPublicKey.FromPem(entry.Pem)));
                }
                else
                {
                    var identity = IdentityConstraint.Parse(entry.Identities);
                    roots.Add(new TrustedRoot(entry.Name, X509Certificate2.CreateFromPem(entry.Pem), identity));
                }
            }
            catch (Exception ex) when (ex is KeyFormatException or FormatException or CryptographicException or ArgumentException)
            {
                if (_reported.Count < MaxEntries && _reported.TryAdd((entry.Id, entry.Fingerprint), 0))
                {
                    LogUnusableEntry(_logger, entry.Name, entry.Project?.Value ?? "(server-wide)", ex.Message);
                }
            }
        }

        return new SignatureTrust(keys, roots);
    }

    [LoggerMessage(EventId = 2761, Level = LogLevel.Warning, Message = "Trust entry {Name} of {Scope} cannot be used and is skipped: {Reason}")]
    private static partial void LogUnusableEntry(ILogger logger, string name, string scope, string reason);

    private sealed record CachedTrust(SignatureTrust Trust, long ReadAt);
}
