using System.Collections.Concurrent;
using Berth.Core.Access;
using Microsoft.Extensions.Options;

namespace Berth.Application.Access;

/// <summary>
/// Project settings as the access checks read them on every request: a small cache over <see cref="IProjectStore"/>
/// (absent projects included), refreshed after <see cref="AccessSettings.CacheLifetime"/> and dropped at once when
/// this node changes a project. Writes go to the store; call <see cref="Invalidate"/> after each.
/// </summary>
public sealed class ProjectDirectory
{
    private const int MaxEntries = 10_000;
    private readonly IProjectStore _store;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _lifetime;
    private readonly ConcurrentDictionary<string, (Project? Project, long ReadAt)> _cache = new(StringComparer.Ordinal);

    public ProjectDirectory(IProjectStore store, TimeProvider clock, IOptions<AccessSettings> settings)
    {
        _store = store;
        _clock = clock;
        _lifetime = settings.Value.CacheLifetime;
    }

    /// <summary>The project, or null when none of that name exists.</summary>
    public async ValueTask<Project?> GetAsync(string name, CancellationToken cancellationToken)
    {
        var now = _clock.GetTimestamp();
        if (_cache.TryGetValue(name, out var entry) && _clock.GetElapsedTime(entry.ReadAt, now) < _lifetime)
        {
            return entry.Project;
        }

        var project = ProjectName.TryParse(name, out var parsed) ? await _store.GetAsync(parsed, cancellationToken) : null;
        if (_cache.Count >= MaxEntries)
        {
            _cache.Clear();
        }

        _cache[name] = (project, now);
        return project;
    }

    /// <summary>Forgets what is cached for the project, after this node created, changed or deleted it.</summary>
    public void Invalidate(string name) => _cache.TryRemove(name, out _);
}
