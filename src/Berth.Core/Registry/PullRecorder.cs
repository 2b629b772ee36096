using System.Collections.Concurrent;
using Berth.Core.Metadata;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.Core.Registry;

/// <summary>
/// Collects pull times in memory and writes them in batches, so a burst of thousands of manifest GETs costs a few
/// database writes instead of one each. Last pull per (repository, manifest, tag) wins.
/// </summary>
public sealed partial class PullRecorder : BackgroundService
{
    private readonly ConcurrentDictionary<(string Repository, string Digest, string? Tag), PullRecord> _pending = new();
    private readonly IManifestIndex _index;
    private readonly ILogger<PullRecorder> _logger;

    public PullRecorder(IManifestIndex index, ILogger<PullRecorder> logger)
    {
        _index = index;
        _logger = logger;
    }

    /// <summary>How often pending pulls are written.</summary>
    public static TimeSpan FlushInterval { get; } = TimeSpan.FromSeconds(5);

    public void Record(PullRecord pull) =>
        _pending[(pull.Repository.Value, pull.Manifest.ToString(), pull.Tag?.Value)] = pull;

    /// <summary>
    /// Drops the pending pulls of the project's repositories (<paramref name="project"/> and <c>project/…</c>), after
    /// the project was deleted: written later, they would land on a repository of a new project of the same name.
    /// </summary>
    public void Forget(string project)
    {
        foreach (var key in _pending.Keys)
        {
            if (key.Repository == project || (key.Repository.StartsWith(project, StringComparison.Ordinal) && key.Repository.Length > project.Length && key.Repository[project.Length] == '/'))
            {
                _pending.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Writes everything recorded so far.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        var batch = new List<PullRecord>();
        foreach (var key in _pending.Keys)
        {
            if (_pending.TryRemove(key, out var pull))
            {
                batch.Add(pull);
            }
        }

        await _index.RecordPullsAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await FlushAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFlushFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Writing pull times failed; they will be retried with the next batch")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}
