using System.Collections.Concurrent;
using Berth.Core.Jobs;
using Berth.Core.Metadata;
using Berth.Oci;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Core.Registry;

/// <summary>
/// Collects pull times in memory and writes them in batches, so a burst of thousands of manifest GETs costs a few
/// database writes instead of one each. Last pull per (repository, manifest, tag) wins. A job of <see cref="JobHost"/>;
/// as a hosted service it only writes what is pending when the server stops.
/// </summary>
public sealed partial class PullRecorder : IPeriodicJob, IHostedService
{
    private readonly ConcurrentDictionary<(string Repository, string Digest, string? Tag), PullRecord> _pending = new();
    private readonly IManifestIndex _index;
    private readonly ILogger _logger;

    public PullRecorder(IManifestIndex index, ILogger<PullRecorder>? logger = null)
    {
        _index = index;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
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

    /// <summary>
    /// Drops the pending pulls of one repository (not of those below it), after it was deleted: written later, they
    /// would land on the repository pushed again under the name.
    /// </summary>
    public void Forget(RepositoryName repository)
    {
        foreach (var key in _pending.Keys)
        {
            if (key.Repository == repository.Value)
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

    public string Name => "pull-recorder";

    /// <summary>Every <see cref="FlushInterval"/>.</summary>
    public JobSchedule Schedule { get; } = new(FlushInterval, FlushInterval);

    /// <summary>Pending pulls are this node's own: every node flushes its own.</summary>
    public bool EveryNode => true;

    public Task RunAsync(CancellationToken cancellationToken) => FlushAsync(cancellationToken);

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Writes what is pending when the server stops (the job host has stopped flushing by then or soon will). A failure
    /// (the metadata store is full or gone) loses these pull times, which is logged, and never fails the stop: an
    /// exception here made the host's stop throw, and the process die with SIGABRT on SIGTERM when the disk was full.
    /// </summary>
    async Task IHostedService.StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Pull times are statistics: losing the last few seconds of them must not fail the shutdown.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogLostAtStop(_logger, ex.GetType().Name + ": " + ex.Message);
        }
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Could not record the last pulls while stopping; their pull times are lost: {Reason}")]
    private static partial void LogLostAtStop(ILogger logger, string reason);
}
