using System.Collections.Concurrent;
using System.Net;
using Berth.Auth.Network;
using Berth.Core.Access;
using Microsoft.Extensions.Options;

namespace Berth.Application.Access;

/// <summary>
/// The IP allow lists in force: the server-wide one and each project's, read from <see cref="IIpAllowRuleStore"/>
/// and cached like <see cref="ProjectDirectory"/>. An empty list allows every address; a non-empty one only its
/// networks. A request must pass the server list and the list of every project it touches.
/// </summary>
public sealed class IpAllowRules
{
    private const string ServerKey = "";
    private readonly IIpAllowRuleStore _store;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _lifetime;
    private readonly ConcurrentDictionary<string, (Rules List, long ReadAt)> _cache = new(StringComparer.Ordinal);

    public IpAllowRules(IIpAllowRuleStore store, TimeProvider clock, IOptions<AccessSettings> settings)
    {
        _store = store;
        _clock = clock;
        _lifetime = settings.Value.CacheLifetime;
    }

    /// <summary>True when <paramref name="address"/> passes the server-wide list.</summary>
    public async ValueTask<bool> AllowsServerAsync(IPAddress? address, CancellationToken cancellationToken) =>
        (await GetAsync(null, cancellationToken)).Allows(address);

    /// <summary>True when <paramref name="address"/> passes the project's list (the server list is checked separately).</summary>
    public async ValueTask<bool> AllowsProjectAsync(string project, IPAddress? address, CancellationToken cancellationToken) =>
        (await GetAsync(project, cancellationToken)).Allows(address);

    /// <summary>Forgets the cached list of the project (null: the server-wide list) after this node changed it.</summary>
    public void Invalidate(string? project) => _cache.TryRemove(project ?? ServerKey, out _);

    private static readonly Rules AllowAll = new(null);

    /// <summary>No networks: every address; otherwise only those in the list (none, when every stored rule is unreadable).</summary>
    private sealed record Rules(IPNetworkList? Networks)
    {
        public bool Allows(IPAddress? address) => Networks is null || Networks.Contains(address);
    }

    private async ValueTask<Rules> GetAsync(string? project, CancellationToken cancellationToken)
    {
        var key = project ?? ServerKey;
        var now = _clock.GetTimestamp();
        if (_cache.TryGetValue(key, out var entry) && _clock.GetElapsedTime(entry.ReadAt, now) < _lifetime)
        {
            return entry.List;
        }

        IReadOnlyList<IpAllowRule> rules;
        if (project is null)
        {
            rules = await _store.ListAsync(null, cancellationToken);
        }
        else
        {
            rules = ProjectName.TryParse(project, out var name) ? await _store.ListAsync(name, cancellationToken) : [];
        }

        // Rules were validated when added; one that no longer parses is skipped rather than opening the list.
        var networks = rules.Select(r => r.Network).Where(n => IPNetworkList.TryParse([n], out _, out _)).ToList();

        var list = rules.Count == 0 ? AllowAll : new Rules(IPNetworkList.Parse(networks));
        if (_cache.Count > 10_000)
        {
            _cache.Clear();
        }

        _cache[key] = (list, now);
        return list;
    }
}
